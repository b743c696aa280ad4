package scheduled

import (
	"fmt"
	"strings"
	"time"
	// The operator image may have no zoneinfo; spec.timeZone must resolve anyway.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// maxSlotsWalked bounds one walk over missed cron slots (a week of
// one-minute slots); past it the walk skips half the rest ahead, so a
// schedule stopped for years still costs a few milliseconds.
const maxSlotsWalked = 10000

// Schedule is a parsed spec.schedule in its spec.timeZone.
type Schedule struct {
	cron     cron.Schedule
	location *time.Location
}

// Parse reads spec.schedule and spec.timeZone. Its error names the field and
// the fix. The cron library is robfig/cron/v3 (the one Kubeflow's operator
// and many CronJob-like controllers use): five-field expressions, the
// @hourly-style descriptors and "@every <duration>", so schedules written for
// Kubeflow mean the same here.
func Parse(spec *v1alpha1.ScheduledSparkApplicationSpec) (*Schedule, error) {
	expr := strings.TrimSpace(spec.Schedule)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("spec.schedule: %q carries a time zone; put the zone in spec.timeZone (e.g. timeZone: Europe/Paris) and keep the schedule to the cron fields", spec.Schedule)
	}
	parsed, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("spec.schedule: %q is not a cron schedule (%v); write five fields (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or a descriptor (@hourly, @daily, @every 10m)", spec.Schedule, err)
	}
	if every, ok := strings.CutPrefix(expr, "@every "); ok {
		// The library rounds a shorter or fractional delay to whole
		// seconds; say so instead of running at another rate than written.
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("spec.schedule: %q: @every takes a whole number of seconds, at least 1s (e.g. @every 10s, @every 1h30m)", spec.Schedule)
		}
	}
	loc := time.UTC
	if tz := ptr.Deref(spec.TimeZone, ""); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
			return nil, fmt.Errorf("spec.timeZone: %q is not an IANA time zone name; use one such as UTC, Europe/Paris or America/New_York", tz)
		}
	}
	return &Schedule{cron: parsed, location: loc}, nil
}

// Next is the first slot strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.cron.Next(t.In(s.location)).UTC()
}

// LatestDue is the latest slot in (after, now], and whether there is one.
// However many slots were missed, it returns one: a schedule starts at most
// one run for all the slots it missed.
func (s *Schedule) LatestDue(after, now time.Time) (time.Time, bool) {
	if every, ok := s.cron.(cron.ConstantDelaySchedule); ok {
		// @every slots lie on the grid after + n×delay (whole seconds).
		first := s.Next(after)
		if first.After(now) {
			return time.Time{}, false
		}
		n := now.Sub(first) / every.Delay
		return first.Add(n * every.Delay), true
	}
	var latest time.Time
	for {
		walked := 0
		for t := s.Next(after); !t.After(now); t = s.Next(t) {
			latest = t
			if walked++; walked >= maxSlotsWalked {
				break
			}
		}
		if walked < maxSlotsWalked {
			return latest, !latest.IsZero()
		}
		// Too many missed slots to walk (cron slots are at least a minute
		// apart, so this is years): skip ahead; Next from any time lands
		// on the schedule's own slots.
		after = latest.Add(now.Sub(latest) / 2)
	}
}

// RunName is the name of the run for the slot at scheduled: deterministic,
// so the run of one slot is created once however often it is attempted.
func RunName(scheduleName string, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", scheduleName, scheduled.Unix())
}

// NewRun is the SparkApplication a schedule starts for the slot at
// scheduled: the template's spec, the schedule's labels plus
// LabelScheduledBy, the slot in AnnotationScheduledTime, owned (controller)
// by the schedule. `sparkplane schedule trigger` uses it with the time of the
// trigger.
func NewRun(sched *v1alpha1.ScheduledSparkApplication, scheduled time.Time) *v1alpha1.SparkApplication {
	labels := map[string]string{}
	for k, v := range sched.Labels {
		labels[k] = v
	}
	labels[v1alpha1.LabelScheduledBy] = sched.Name
	return &v1alpha1.SparkApplication{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        RunName(sched.Name, scheduled),
			Namespace:   sched.Namespace,
			Labels:      labels,
			Annotations: map[string]string{v1alpha1.AnnotationScheduledTime: scheduled.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "ScheduledSparkApplication",
				Name: sched.Name, UID: sched.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: *sched.Spec.Template.DeepCopy(),
	}
}

// scheduledTime is the slot a run was started for (its annotation, else its
// creation time).
func scheduledTime(app *v1alpha1.SparkApplication) time.Time {
	if t, err := time.Parse(time.RFC3339, app.Annotations[v1alpha1.AnnotationScheduledTime]); err == nil {
		return t
	}
	return app.CreationTimestamp.Time
}

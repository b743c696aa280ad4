package scheduled

import (
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseRefusesWithTheField(t *testing.T) {
	cases := map[string]struct {
		schedule, tz string
		wantText     string
	}{
		"five fields":        {schedule: "0 3 * * *"},
		"descriptor":         {schedule: "@hourly"},
		"every":              {schedule: "@every 10s"},
		"zone":               {schedule: "0 3 * * *", tz: "Europe/Paris"},
		"six fields":         {schedule: "0 0 3 * * *", wantText: "spec.schedule"},
		"garbage":            {schedule: "every day", wantText: "spec.schedule"},
		"every too short":    {schedule: "@every 100ms", wantText: "at least 1s"},
		"every fractional":   {schedule: "@every 1500ms", wantText: "whole number of seconds"},
		"zone in schedule":   {schedule: "CRON_TZ=Europe/Paris 0 3 * * *", wantText: "spec.timeZone"},
		"unknown zone":       {schedule: "@daily", tz: "Mars/Olympus", wantText: "spec.timeZone"},
		"local is not fixed": {schedule: "@daily", tz: "Local", wantText: "spec.timeZone"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := &v1alpha1.ScheduledSparkApplicationSpec{Schedule: tc.schedule}
			if tc.tz != "" {
				spec.TimeZone = ptr.To(tc.tz)
			}
			_, err := Parse(spec)
			switch {
			case tc.wantText == "" && err != nil:
				t.Fatalf("refused a valid schedule: %v", err)
			case tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
				t.Fatalf("error = %v, want one naming %q", err, tc.wantText)
			}
		})
	}
}

func TestTimeZone(t *testing.T) {
	s, err := Parse(&v1alpha1.ScheduledSparkApplicationSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 in New York in January is 08:00 UTC; in July (DST) 07:00 UTC.
	if got := s.Next(mustTime(t, "2026-01-10T00:00:00Z")); !got.Equal(mustTime(t, "2026-01-10T08:00:00Z")) {
		t.Errorf("January: next = %s, want 08:00Z", got)
	}
	if got := s.Next(mustTime(t, "2026-07-10T00:00:00Z")); !got.Equal(mustTime(t, "2026-07-10T07:00:00Z")) {
		t.Errorf("July: next = %s, want 07:00Z", got)
	}
}

// TestLatestDue: however many slots passed, one is due: the latest.
func TestLatestDue(t *testing.T) {
	start := mustTime(t, "2026-01-01T00:00:00Z")
	cases := map[string]struct {
		schedule string
		now      time.Time
		want     string // "" = none due
	}{
		"none yet":              {"@hourly", start.Add(59 * time.Minute), ""},
		"exactly on the slot":   {"@hourly", start.Add(time.Hour), "2026-01-01T01:00:00Z"},
		"three missed":          {"@hourly", start.Add(3*time.Hour + 10*time.Minute), "2026-01-01T03:00:00Z"},
		"every grid":            {"@every 10s", start.Add(95 * time.Second), "2026-01-01T00:01:30Z"},
		"every a year later":    {"@every 7s", start.Add(365 * 24 * time.Hour), "2026-12-31T23:59:54Z"}, // 4,505,142 × 7s
		"cron three years down": {"* * * * *", start.Add(3 * 365 * 24 * time.Hour), "2028-12-31T00:00:00Z"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(&v1alpha1.ScheduledSparkApplicationSpec{Schedule: tc.schedule})
			if err != nil {
				t.Fatal(err)
			}
			got, due := s.LatestDue(start, tc.now)
			if tc.want == "" {
				if due {
					t.Fatalf("due at %s, want none", got)
				}
				return
			}
			if !due || !got.Equal(mustTime(t, tc.want)) {
				t.Fatalf("latest due = %s (%v), want %s", got, due, tc.want)
			}
		})
	}
}

func TestRunNameIsDeterministic(t *testing.T) {
	slot := mustTime(t, "2026-01-01T03:00:00Z")
	sched := &v1alpha1.ScheduledSparkApplication{}
	sched.Name, sched.Namespace, sched.UID = "nightly", "spark", "uid-1"
	sched.Labels = map[string]string{"team": "data"}
	a, b := NewRun(sched, slot), NewRun(sched, slot)
	if a.Name != "nightly-1767236400" || a.Name != b.Name {
		t.Fatalf("run names %q and %q, want nightly-1767236400 twice", a.Name, b.Name)
	}
	if a.Labels["team"] != "data" || a.Labels[v1alpha1.LabelScheduledBy] != "nightly" || a.Annotations[v1alpha1.AnnotationScheduledTime] != "2026-01-01T03:00:00Z" {
		t.Errorf("labels %v annotations %v", a.Labels, a.Annotations)
	}
	if ref := a.OwnerReferences[0]; ref.UID != "uid-1" || !*ref.Controller || ref.Kind != "ScheduledSparkApplication" {
		t.Errorf("owner = %+v", ref)
	}
}

package scheduled

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Event reasons this controller records on ScheduledSparkApplications.
const (
	EventRunStarted      = "RunStarted"
	EventRunSkipped      = "RunSkipped"
	EventRunReplaced     = "RunReplaced"
	EventRunPruned       = "RunPruned"
	EventInvalidSchedule = "InvalidSchedule"
)

// eventRecorder holds the typed constructors; a nil recorder records nothing
// (tests that call Reconcile directly).
type eventRecorder struct{ events.EventRecorder }

func (r eventRecorder) emit(sched *v1alpha1.ScheduledSparkApplication, eventType, reason, action, note string) {
	if r.EventRecorder == nil {
		return
	}
	if len(note) > 1024 {
		note = note[:1021] + "..."
	}
	r.Eventf(sched, nil, eventType, reason, action, "%s", note)
}

func (r eventRecorder) started(sched *v1alpha1.ScheduledSparkApplication, run string, slot time.Time) {
	r.emit(sched, corev1.EventTypeNormal, EventRunStarted, "Run", fmt.Sprintf("Started SparkApplication %s for %s", run, slot.UTC().Format(time.RFC3339)))
}

func (r eventRecorder) skipped(sched *v1alpha1.ScheduledSparkApplication, why string) {
	r.emit(sched, corev1.EventTypeWarning, EventRunSkipped, "Run", why)
}

func (r eventRecorder) replaced(sched *v1alpha1.ScheduledSparkApplication, old, replacement string) {
	r.emit(sched, corev1.EventTypeNormal, EventRunReplaced, "Replace", fmt.Sprintf("Deleted unfinished run %s to start %s (concurrencyPolicy Replace)", old, replacement))
}

func (r eventRecorder) pruned(sched *v1alpha1.ScheduledSparkApplication, run string, limit int) {
	r.emit(sched, corev1.EventTypeNormal, EventRunPruned, "Prune", fmt.Sprintf("Deleted finished run %s: the history keeps %d", run, limit))
}

func (r eventRecorder) invalidSchedule(sched *v1alpha1.ScheduledSparkApplication, message string) {
	r.emit(sched, corev1.EventTypeWarning, EventInvalidSchedule, "Validate", "No run starts: "+message)
}

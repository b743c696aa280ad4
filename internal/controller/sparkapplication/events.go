package sparkapplication

import (
	"fmt"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Event reasons this controller records on SparkApplications. Each event is
// recorded once per transition (after the status that reflects it was
// written), so a re-run reconcile does not repeat it.
const (
	EventInvalidSpec          = "InvalidSpec"
	EventSubmissionFailed     = "SubmissionFailed"
	EventDriverRunning        = "DriverRunning"
	EventSucceeded            = "Succeeded"
	EventFailed               = "Failed"
	EventRetrying             = "Retrying"
	EventDriverPendingTimeout = "DriverPendingTimeout"
	EventTTLExpired           = "TTLExpired"
	// EventDriverNodeInterrupted: the attempt ended because its driver's
	// node got an interruption notice (the interruption controller records
	// its own event of the same reason when it finds the driver).
	EventDriverNodeInterrupted = "DriverNodeInterrupted"
	// EventExecutorsPending: executors have waited longer than the pending
	// threshold; the note says what blocks them (once per cause).
	EventExecutorsPending = "ExecutorsPending"
	// EventExecutorsStarted: the executors that waited run now.
	EventExecutorsStarted = "ExecutorsStarted"
	// EventDriverPending: the driver has waited longer than the pending
	// threshold; the note says what blocks it (once per cause).
	EventDriverPending = "DriverPending"
)

// eventRecorder holds the typed constructors; a nil recorder records nothing
// (for tests that call Reconcile directly).
type eventRecorder struct{ events.EventRecorder }

func (r eventRecorder) emit(app *v1alpha1.SparkApplication, eventType, reason, action, note string, args ...any) {
	if r.EventRecorder == nil {
		return
	}
	r.Eventf(app, nil, eventType, reason, action, "%s", truncateNote(fmt.Sprintf(note, args...)))
}

// maxEventNote is the longest note events.k8s.io/v1 accepts; a longer one
// is refused and the event lost.
const maxEventNote = 1024

// truncateNote shortens note to maxEventNote bytes, on a rune boundary.
func truncateNote(note string) string {
	if len(note) <= maxEventNote {
		return note
	}
	cut := maxEventNote - len("...")
	for cut > 0 && !utf8.RuneStart(note[cut]) {
		cut--
	}
	return note[:cut] + "..."
}

func (r eventRecorder) invalidSpec(app *v1alpha1.SparkApplication, message string) {
	r.emit(app, corev1.EventTypeWarning, EventInvalidSpec, "Validate", "Not submitted: %s", message)
}

func (r eventRecorder) submissionFailed(app *v1alpha1.SparkApplication, message string) {
	r.emit(app, corev1.EventTypeWarning, EventSubmissionFailed, "Submit", "The API server refused the driver's objects: %s; fix the spec and resubmit", message)
}

func (r eventRecorder) driverRunning(app *v1alpha1.SparkApplication, driver string) {
	r.emit(app, corev1.EventTypeNormal, EventDriverRunning, "Observe", "Driver pod %s is running", driver)
}

func (r eventRecorder) succeeded(app *v1alpha1.SparkApplication, attempt int32) {
	r.emit(app, corev1.EventTypeNormal, EventSucceeded, "Observe", "Attempt %d succeeded", attempt)
}

func (r eventRecorder) failed(app *v1alpha1.SparkApplication, reason, message string) {
	r.emit(app, corev1.EventTypeWarning, EventFailed, "Observe", "Failed (%s): %s; see `sparkplane logs %s` for the driver's output", reason, message, app.Name)
}

func (r eventRecorder) retrying(app *v1alpha1.SparkApplication, attempt int32, reason string, after time.Duration) {
	r.emit(app, corev1.EventTypeNormal, EventRetrying, "Retry", "Attempt %d ended (%s); attempt %d starts in %s per spec.restartPolicy", attempt, reason, attempt+1, after)
}

func (r eventRecorder) pendingTimeout(app *v1alpha1.SparkApplication, driver string, timeout time.Duration) {
	r.emit(app, corev1.EventTypeWarning, EventDriverPendingTimeout, "Observe",
		"Driver pod %s stayed Pending longer than %s and was deleted; check its scheduling events (kubectl describe pod) for missing capacity, quota or images", driver, timeout)
}

func (r eventRecorder) ttlExpired(app *v1alpha1.SparkApplication, ttl time.Duration) {
	r.emit(app, corev1.EventTypeNormal, EventTTLExpired, "Delete", "Deleting the application %s after it ended (spec.timeToLiveSeconds)", ttl)
}

func (r eventRecorder) driverNodeInterrupted(app *v1alpha1.SparkApplication, attempt int32, driver, node string) {
	r.emit(app, corev1.EventTypeWarning, EventDriverNodeInterrupted, "Observe",
		"Attempt %d ended: driver pod %s on interrupted node %s was deleted; keep drivers on on-demand nodes (SparkProfile spec.driver.capacityType)", attempt, driver, node)
}

// Event reasons of spec.suspend.
const (
	EventSuspended = "Suspended"
	EventResumed   = "Resumed"
)

// suspended: spec.suspend holds the application; driver is the pod deleted
// ("" when nothing was running).
func (r eventRecorder) suspended(app *v1alpha1.SparkApplication, driver string) {
	if driver == "" {
		r.emit(app, corev1.EventTypeNormal, EventSuspended, "Suspend", "Suspended by spec.suspend; nothing was created. Set spec.suspend to false to run it")
		return
	}
	r.emit(app, corev1.EventTypeNormal, EventSuspended, "Suspend", "Suspended by spec.suspend: deleted driver pod %s and its executors. Set spec.suspend to false to start a new attempt", driver)
}

func (r eventRecorder) resumed(app *v1alpha1.SparkApplication, attempt int32) {
	r.emit(app, corev1.EventTypeNormal, EventResumed, "Resume", "spec.suspend is false: starting attempt %d", attempt)
}

func (r eventRecorder) executorsPending(app *v1alpha1.SparkApplication, reason, message string) {
	r.emit(app, corev1.EventTypeWarning, EventExecutorsPending, "Observe", "Executors wait (%s): %s", reason, message)
}

func (r eventRecorder) executorsStarted(app *v1alpha1.SparkApplication, running int) {
	r.emit(app, corev1.EventTypeNormal, EventExecutorsStarted, "Observe", "The executors that waited run now (%d running)", running)
}

func (r eventRecorder) driverPending(app *v1alpha1.SparkApplication, driver, message string) {
	r.emit(app, corev1.EventTypeWarning, EventDriverPending, "Observe", "Driver pod %s waits: %s", driver, message)
}

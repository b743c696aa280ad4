package sparkapplication

import (
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

func TestDriverOutcome(t *testing.T) {
	terminated := func(code int32, reason string) []corev1.ContainerStatus {
		return []corev1.ContainerStatus{
			{Name: "sidecar", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			{Name: spark.DriverContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}},
		}
	}
	cases := map[string]struct {
		status        corev1.PodStatus
		done, success bool
		reason        string
	}{
		"pending":                     {status: corev1.PodStatus{Phase: corev1.PodPending}},
		"running":                     {status: corev1.PodStatus{Phase: corev1.PodRunning}},
		"succeeded":                   {status: corev1.PodStatus{Phase: corev1.PodSucceeded}, done: true, success: true, reason: "Completed"},
		"failed with container":       {status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: terminated(137, "OOMKilled")}, done: true, reason: "OOMKilled"},
		"evicted":                     {status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}, done: true, reason: "Evicted"},
		"driver done, sidecar runs":   {status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: terminated(0, "Completed")}, done: true, success: true, reason: "Completed"},
		"driver failed, sidecar runs": {status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: terminated(1, "")}, done: true, reason: "Error"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			done, success, reason, _ := driverOutcome(&corev1.Pod{Status: tc.status})
			if done != tc.done || success != tc.success || reason != tc.reason {
				t.Errorf("got done=%v success=%v reason=%q; want %v %v %q", done, success, reason, tc.done, tc.success, tc.reason)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	c := NewController(nil, nil, Options{})
	app := func(rp v1alpha1.RestartPolicy, attempts int32) *v1alpha1.SparkApplication {
		return &v1alpha1.SparkApplication{Spec: v1alpha1.SparkApplicationSpec{RestartPolicy: rp}, Status: v1alpha1.SparkApplicationStatus{Attempts: attempts}}
	}
	onFailure2 := v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](2), OnFailureRetryInterval: ptr.To[int64](10)}
	cases := map[string]struct {
		app     *v1alpha1.SparkApplication
		success bool
		retry   bool
	}{
		"never":                        {app: app(v1alpha1.RestartPolicy{}, 1)},
		"on failure, first failure":    {app: app(onFailure2, 1), retry: true},
		"on failure, second failure":   {app: app(onFailure2, 2), retry: true},
		"on failure, retries used up":  {app: app(onFailure2, 3)},
		"on failure, success":          {app: app(onFailure2, 1), success: true},
		"always, success reruns":       {app: app(v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyAlways}, 7), success: true, retry: true},
		"always, failures unlimited":   {app: app(v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyAlways}, 7), retry: true},
		"always, with a failure limit": {app: app(v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyAlways, OnFailureRetries: ptr.To[int32](1)}, 2)},
	}
	for name, tc := range cases {
		if got := c.shouldRetry(tc.app, tc.success); got != tc.retry {
			t.Errorf("%s: shouldRetry = %v, want %v", name, got, tc.retry)
		}
	}
	// Backoff doubles per failed attempt, capped at 10× the interval.
	for attempt, want := range map[int32]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: 80 * time.Second, 5: 100 * time.Second, 9: 100 * time.Second} {
		if got := c.retryDelay(app(onFailure2, attempt), attempt, true); got != want {
			t.Errorf("retryDelay(attempt %d) = %s, want %s", attempt, got, want)
		}
	}
	if got := c.retryDelay(app(v1alpha1.RestartPolicy{}, 3), 3, false); got != DefaultRetryInterval {
		t.Errorf("rerun after success waits %s, want the plain interval %s", got, DefaultRetryInterval)
	}
}

func TestStateOf(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason}
	}
	T, F := metav1.ConditionTrue, metav1.ConditionFalse
	cases := map[string]struct {
		attempts int32
		recorded v1alpha1.ApplicationState
		conds    []metav1.Condition
		want     v1alpha1.ApplicationState
	}{
		"new":                        {want: ""},
		"submission failing":         {conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, F, v1alpha1.ReasonSubmissionFailed)}, want: ""},
		"rejected":                   {conds: []metav1.Condition{cond(v1alpha1.ConditionAccepted, F, v1alpha1.ReasonInvalidSpec), cond(v1alpha1.ConditionCompleted, T, v1alpha1.ReasonInvalidSpec)}, want: v1alpha1.StateFailed},
		"submitted":                  {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, T, v1alpha1.ReasonDriverCreated)}, want: v1alpha1.StatePending},
		"submitted, driver blocked":  {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, T, v1alpha1.ReasonDriverCreated), cond(v1alpha1.ConditionRunning, F, v1alpha1.ReasonDriverPending)}, want: v1alpha1.StatePending},
		"running":                    {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, T, v1alpha1.ReasonDriverCreated), cond(v1alpha1.ConditionRunning, T, v1alpha1.ReasonDriverRunning)}, want: v1alpha1.StateRunning},
		"waiting to retry":           {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, F, v1alpha1.ReasonWaitingForRetry), cond(v1alpha1.ConditionRunning, F, v1alpha1.ReasonDriverFailed), cond(v1alpha1.ConditionCompleted, F, v1alpha1.ReasonInProgress)}, want: v1alpha1.StateRetrying},
		"retry's submission failing": {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionSubmitted, F, v1alpha1.ReasonSubmissionFailed)}, want: v1alpha1.StateRetrying},
		"succeeded":                  {attempts: 2, conds: []metav1.Condition{cond(v1alpha1.ConditionCompleted, T, v1alpha1.ReasonSucceeded)}, want: v1alpha1.StateSucceeded},
		"failed":                     {attempts: 1, conds: []metav1.Condition{cond(v1alpha1.ConditionCompleted, T, v1alpha1.ReasonDriverNodeInterrupted)}, want: v1alpha1.StateFailed},
		"older status kept":          {attempts: 1, recorded: v1alpha1.StateRunning, want: v1alpha1.StateRunning},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := &v1alpha1.SparkApplicationStatus{Attempts: tc.attempts, State: tc.recorded, Conditions: tc.conds}
			if got := stateOf(st); got != tc.want {
				t.Errorf("stateOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOwnStatusArrived: the update that brings an application waiting for
// its cache the attempt this process submitted passes; other updates do not.
func TestOwnStatusArrived(t *testing.T) {
	var awaitingApps sync.Map
	p := ownStatusArrived{awaiting: &awaitingApps}
	app := func(uid types.UID, attempts int32) *v1alpha1.SparkApplication {
		return &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: uid}, Status: v1alpha1.SparkApplicationStatus{Attempts: attempts}}
	}
	update := func(attempts int32, uid types.UID) bool {
		return p.Update(event.UpdateEvent{ObjectOld: app(uid, attempts-1), ObjectNew: app(uid, attempts)})
	}
	if update(1, "u1") {
		t.Error("passed an update of an application no reconcile waits for")
	}
	awaitingApps.Store(types.NamespacedName{Namespace: "ns", Name: "a"}, awaited{uid: "u1", attempt: 2})
	for _, tc := range []struct {
		attempts int32
		uid      types.UID
		want     bool
	}{{1, "u1", false}, {2, "u1", true}, {3, "u1", true}, {2, "u2", false}} {
		if got := update(tc.attempts, tc.uid); got != tc.want {
			t.Errorf("attempts %d uid %s: passed %v, want %v", tc.attempts, tc.uid, got, tc.want)
		}
	}
}

// TestPodChangedCreate: the creation event of a driver pod this process
// created, showing the pod as created, wakes nobody (once), whether it
// comes before or after the create's reply; one showing it changed since,
// or of any other pod, does, and an event passed over while the create was
// in flight that turns out to show another version makes the reconcile look
// again.
func TestPodChangedCreate(t *testing.T) {
	var created driverCreates
	p := podChanged{created: &created}
	pod := func(name, rv string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	}
	create := func(name, rv string) bool {
		return p.Create(event.TypedCreateEvent[*corev1.Pod]{Object: pod(name, rv)})
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }

	created.creating(key("after"))
	if created.created(key("after"), "10") {
		t.Error("a create whose event has not come reported it missed")
	}
	if create("after", "10") {
		t.Error("the creation event after the create's reply passed")
	}
	if !create("after", "10") {
		t.Error("a second creation event of it (an informer's relist) did not pass")
	}

	created.creating(key("before"))
	if create("before", "20") {
		t.Error("the creation event before the create's reply passed")
	}
	if created.created(key("before"), "20") {
		t.Error("the event passed over showed the pod as created, yet the reply reported it missed")
	}

	created.creating(key("relisted"))
	if create("relisted", "31") {
		t.Error("a creation event while the create is in flight passed")
	}
	if !created.created(key("relisted"), "30") {
		t.Error("the event passed over showed another version than the create's; the reply did not report it")
	}

	created.creating(key("changed"))
	created.created(key("changed"), "40")
	if !create("changed", "41") {
		t.Error("a creation event showing the driver changed since its create did not pass")
	}
	if !create("other", "5") {
		t.Error("the creation event of a pod this process did not create did not pass")
	}
	created.creating(key("refused"))
	created.failed(key("refused"))
	if !create("refused", "50") {
		t.Error("the creation event of a pod whose create failed did not pass")
	}
	created.creating(key("deleted"))
	created.created(key("deleted"), "60")
	p.Delete(event.TypedDeleteEvent[*corev1.Pod]{Object: pod("deleted", "61")})
	if !create("deleted", "60") {
		t.Error("a deleted pod is still remembered")
	}
}

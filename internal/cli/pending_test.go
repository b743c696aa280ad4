package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// TestPendingExecutorsShown: list and describe say why executors wait,
// from the ExecutorsPending condition and status.executorsPending, and say
// nothing once the condition is False.
func TestPendingExecutorsShown(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "team-a", CreationTimestamp: metav1.NewTime(now.Add(-67 * time.Second))}}
	app.Status.State = v1alpha1.StateRunning
	app.Status.Executors = v1alpha1.ExecutorCounts{Pending: 24}
	app.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionExecutorsPending, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonStorageClassNotFound,
		Message: "24 executor(s) waiting longer than 1m0s: ...", LastTransitionTime: metav1.NewTime(now)}}
	app.Status.ExecutorsPending = &v1alpha1.PendingPods{
		Reason: v1alpha1.ReasonStorageClassNotFound, Cause: `StorageClass "sparkplane-shuffle" not found`,
		Message: `running PreFilter plugin "VolumeBinding": storageclass.storage.k8s.io "sparkplane-shuffle" not found`,
		Count:   24, Pods: []string{"pi-exec-1", "pi-exec-2"}, Since: metav1.NewTime(now.Add(-61 * time.Second)),
	}
	if got, want := executorSummary(app), `0/24 (pending: StorageClass "sparkplane-shuffle" not found)`; got != want {
		t.Errorf("list's EXECUTORS column %q, want %q", got, want)
	}
	var out bytes.Buffer
	if err := writeDescription(&out, app, nil, false, nil, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Why:           StorageClass "sparkplane-shuffle" not found`,
		"Waiting Pods:  pi-exec-1, pi-exec-2 and 22 more",
		"ExecutorsPending  True    StorageClassNotFound",
		`storageclass.storage.k8s.io "sparkplane-shuffle" not found`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, out.String())
		}
	}
	app.Status.Conditions[0].Status = metav1.ConditionFalse
	if got := executorSummary(app); got != "0/24" {
		t.Errorf("with the condition False, list shows %q", got)
	}
}

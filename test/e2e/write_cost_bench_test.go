//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// writeCandidate is one way of writing what a submission records, whose API
// server cost phase (e) of BenchmarkSubmission measures.
type writeCandidate struct {
	name  string
	write func(ctx context.Context, app *v1alpha1.SparkApplication) error
}

// writeCosts is phase (e) of BenchmarkSubmission (issue 20): the API server's
// and etcd's CPU for one write of each candidate way of recording a
// submission, on applications the benchmark created (no operator running),
// with sparkplane's real status as (b) left it (status). Every candidate is
// measured twice, the rounds interleaved, so a change of the machine's load
// shows as a difference between the rounds rather than between candidates.
func writeCosts(b *testing.B, c *framework.Cluster, cl client.Client, cpu *cpuMeter, status v1alpha1.SparkApplicationStatus, apps int) {
	b.Helper()
	ctx := context.Background()
	raw := rawStatus()
	withoutResolution := *status.DeepCopy()
	withoutResolution.Resolution = nil
	note := "Created driver pod app-0000-1-driver (attempt 1). Resolved with profile default at generation 1 (cluster default); zone us-east-1a: the most free executor capacity (96 executors against 64). `sparkplane explain app-0000` shows every setting and its source."
	mergePatch := func(st v1alpha1.SparkApplicationStatus, lock bool) func(context.Context, *v1alpha1.SparkApplication) error {
		return func(ctx context.Context, app *v1alpha1.SparkApplication) error {
			base := app.DeepCopy()
			app.Status = *st.DeepCopy()
			patch := client.MergeFrom(base)
			if lock {
				patch = client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
			}
			return cl.Status().Patch(ctx, app, patch)
		}
	}
	candidates := []writeCandidate{
		{"status merge patch, the raw path's status (reference)", mergePatch(raw, false)},
		{"status update (PUT), the raw path's status", func(ctx context.Context, app *v1alpha1.SparkApplication) error {
			app.Status = *raw.DeepCopy()
			return cl.Status().Update(ctx, app)
		}},
		{"status merge patch, sparkplane's status (as the operator wrote it)", mergePatch(status, true)},
		{"status merge patch, sparkplane's status without status.resolution", mergePatch(withoutResolution, true)},
		{"status update (PUT), sparkplane's status (as the operator writes it now)", func(ctx context.Context, app *v1alpha1.SparkApplication) error {
			app.Status = *status.DeepCopy()
			return cl.Status().Update(ctx, app)
		}},
		{"status server-side apply, sparkplane's status", func(ctx context.Context, app *v1alpha1.SparkApplication) error {
			body, err := json.Marshal(map[string]any{
				"apiVersion": v1alpha1.GroupVersion.String(), "kind": "SparkApplication",
				"metadata": map[string]any{"name": app.Name, "namespace": app.Namespace},
				"status":   status,
			})
			if err != nil {
				return err
			}
			return cl.Status().Patch(ctx, app, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner("sparkplane-bench"), client.ForceOwnership)
		}},
		{"the Submitted event (events.k8s.io/v1 create)", func(ctx context.Context, app *v1alpha1.SparkApplication) error {
			ev := &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: fmt.Sprintf("%s.%x", app.Name, time.Now().UnixNano())},
				EventTime:  metav1.NowMicro(), ReportingController: "sparkplane-sparkapplication", ReportingInstance: "sparkplane-sparkapplication-bench",
				Action: "Submit", Reason: "Submitted", Type: corev1.EventTypeNormal, Note: note,
				Regarding: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication", Namespace: app.Namespace, Name: app.Name, UID: app.UID, ResourceVersion: app.ResourceVersion},
			}
			_, err := c.Clientset.EventsV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{})
			return err
		}},
	}
	type cost struct{ apiserver, etcd []float64 }
	costs := make([]cost, len(candidates))
	const rounds = 2
	for range rounds {
		for k, cand := range candidates {
			ns := c.Namespace(b)
			list := make([]*v1alpha1.SparkApplication, apps)
			runWorkers(b, apps, concurrency, func(i int) error {
				list[i] = benchApplication(ns, fmt.Sprintf("w-%04d", i), unscheduled)
				return cl.Create(ctx, list[i])
			})
			cpu.settle()
			before := cpu.read()
			runWorkers(b, apps, concurrency, func(i int) error { return cand.write(ctx, list[i]) })
			after := cpu.read()
			per := func(name string) float64 {
				return float64((after[name].cpu - before[name].cpu).Microseconds()) / 1000 / float64(apps)
			}
			costs[k].apiserver = append(costs[k].apiserver, per("kube-apiserver"))
			costs[k].etcd = append(costs[k].etcd, per("etcd"))
			deleteNamespace(b, c, ns)
		}
	}
	size := func(st v1alpha1.SparkApplicationStatus) int {
		data, _ := json.Marshal(st)
		return len(data)
	}
	fmt.Printf("  (e) API server and etcd CPU ms per write, %d writes each, two interleaved rounds (machine load %s);\n"+
		"      status JSON: sparkplane's %d bytes (resolution %d), the raw path's %d:\n",
		apps, loadAverage(), size(status), size(status)-size(withoutResolution), size(raw))
	for k, cand := range candidates {
		fmt.Printf("      %-70s kube-apiserver %s, etcd %s\n", cand.name, joinMs(costs[k].apiserver), joinMs(costs[k].etcd))
	}
}

func joinMs(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " / ")
}

// rawStatus is the status the raw path (a) writes (rawPath.finish).
func rawStatus() v1alpha1.SparkApplicationStatus {
	return v1alpha1.SparkApplicationStatus{
		State: v1alpha1.StatePending, Attempts: 1, SparkApplicationID: "spark-0123456789abcdef0123456789abcdef",
		DriverInfo: v1alpha1.DriverInfo{PodName: "w-0000-1-driver", WebUIServiceName: "w-0000-1-ui-svc"},
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ConditionSubmitted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDriverCreated,
			Message: "driver pod w-0000-1-driver", LastTransitionTime: metav1.Now(),
		}},
	}
}

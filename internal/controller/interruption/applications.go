package interruption

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplicationGVK is the SparkApplication the controller reports to. It is
// read and patched as unstructured data, touching only status.interruptions
// and (for an interrupted driver) the DriverNodeInterrupted condition, so this
// package does not depend on the rest of the type.
var ApplicationGVK = schema.GroupVersionKind{Group: "sparkplane.io", Version: "v1alpha1", Kind: "SparkApplication"}

// ConditionDriverNodeInterrupted is the condition type (and reason) set True
// on a SparkApplication whose driver runs on a node that got an interruption
// notice. The application controller treats it like a failed driver for the
// restartPolicy.
const ConditionDriverNodeInterrupted = "DriverNodeInterrupted"

// appTally is what one reconcile did to one application's pods on one node.
type appTally struct {
	decommissioned int
	minGrace       int64 // smallest grace given, -1 when none
	driver         *corev1.Pod
	// alreadyTerminating: some of the application's executors on the node
	// were terminating before this reconcile, so the notice is not new to it.
	alreadyTerminating bool
}

// applications writes interruption results to SparkApplication status. Only
// this controller writes status.interruptions: a JSON merge patch on the
// status subresource carrying the resourceVersion it read, so concurrent
// writers conflict and retry instead of losing counts.
type applications struct {
	client    client.Client
	apiReader client.Reader
	events    eventRecorder

	locks keyedMutex
	// counted holds the (application, node, notice) triples already added to
	// status.interruptions.notices by this process, each dropped after an
	// hour.
	countedMu sync.Mutex
	counted   map[string]time.Time
}

func newApplications(c client.Client, r client.Reader, e eventRecorder) *applications {
	return &applications{client: c, apiReader: r, events: e, counted: map[string]time.Time{}}
}

// conflictBackoff retries a status patch that lost a race; several of this
// controller's workers (one per node) may update the same application.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 0.5}

// record adds one node's decommissions (and driver report) to the
// application's status and emits the application's events. A missing
// application (or a cluster without the CRD) is not an error: the pods are
// decommissioned regardless.
func (a *applications) record(ctx context.Context, key types.NamespacedName, nodeName string, notice Notice, t *appTally) error {
	unlock := a.locks.lock(key.String())
	defer unlock()

	countKey := fmt.Sprintf("%s|%s|%d", key, nodeName, notice.Time.UnixNano())
	newNotice := t.decommissioned > 0 && !t.alreadyTerminating && !a.isCounted(countKey)
	var app *unstructured.Unstructured
	err := retry.OnError(conflictBackoff, apierrors.IsConflict, func() error {
		app = &unstructured.Unstructured{}
		app.SetGroupVersionKind(ApplicationGVK)
		if err := a.apiReader.Get(ctx, key, app); err != nil {
			return err
		}
		patch, changed, err := interruptionsPatch(app, t.decommissioned, newNotice, notice, t.driver, nodeName)
		if err != nil || !changed {
			return err
		}
		return a.client.Status().Patch(ctx, app, client.RawPatch(types.MergePatchType, patch))
	})
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		ctrl.LoggerFrom(ctx).V(1).Info("SparkApplication not found; interruption not recorded on it", "application", key)
		app = nil
	case err != nil:
		return err
	}
	if newNotice {
		a.markCounted(countKey)
	}
	var appObj runtime.Object
	if app != nil {
		appObj = app
	}
	if t.decommissioned > 0 && appObj != nil {
		a.events.applicationExecutorsDecommissioning(appObj, nodeName, notice, t.decommissioned, t.minGrace)
	}
	if t.driver != nil {
		a.events.driverNodeInterrupted(t.driver, appObj, nodeName, notice)
	}
	return nil
}

// interruptionsPatch is the merge patch that adds decommissioned executors
// (and a notice) to app's status.interruptions and, for an interrupted
// driver, sets the DriverNodeInterrupted condition. changed is false when
// there is nothing to write. The patch carries app's resourceVersion.
func interruptionsPatch(app *unstructured.Unstructured, decommissioned int, newNotice bool, notice Notice, driver *corev1.Pod, nodeName string) (patch []byte, changed bool, err error) {
	status := map[string]any{}
	if decommissioned > 0 {
		notices, _, _ := unstructured.NestedInt64(app.Object, "status", "interruptions", "notices")
		done, _, _ := unstructured.NestedInt64(app.Object, "status", "interruptions", "executorsDecommissioned")
		lastNotice := notice.Time
		if s, ok, _ := unstructured.NestedString(app.Object, "status", "interruptions", "lastNoticeTime"); ok {
			if prev, err := time.Parse(time.RFC3339, s); err == nil && prev.After(lastNotice) {
				lastNotice = prev
			}
		}
		if newNotice {
			notices++
		}
		status["interruptions"] = map[string]any{
			"notices":                 notices,
			"executorsDecommissioned": done + int64(decommissioned),
			"lastNoticeTime":          metav1.NewTime(lastNotice).UTC().Format(time.RFC3339),
		}
	}
	if driver != nil {
		raw, _, _ := unstructured.NestedSlice(app.Object, "status", "conditions")
		var conditions []metav1.Condition
		if len(raw) > 0 {
			data, err := json.Marshal(raw)
			if err != nil {
				return nil, false, err
			}
			if err := json.Unmarshal(data, &conditions); err != nil {
				return nil, false, fmt.Errorf("reading status.conditions: %w", err)
			}
		}
		if meta.SetStatusCondition(&conditions, metav1.Condition{
			Type:               ConditionDriverNodeInterrupted,
			Status:             metav1.ConditionTrue,
			Reason:             ConditionDriverNodeInterrupted,
			Message:            fmt.Sprintf("Driver pod %s is on node %s, which got a %s notice at %s and is going away.", driver.Name, nodeName, notice.Signal, notice.Time.UTC().Format(time.RFC3339)),
			ObservedGeneration: app.GetGeneration(),
		}) {
			status["conditions"] = conditions
		}
	}
	if len(status) == 0 {
		return nil, false, nil
	}
	patch, err = json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": app.GetResourceVersion()},
		"status":   status,
	})
	return patch, err == nil, err
}

func (a *applications) isCounted(key string) bool {
	a.countedMu.Lock()
	defer a.countedMu.Unlock()
	_, ok := a.counted[key]
	return ok
}

func (a *applications) markCounted(key string) {
	a.countedMu.Lock()
	defer a.countedMu.Unlock()
	now := time.Now()
	if len(a.counted) > 1024 {
		for k, at := range a.counted {
			if now.Sub(at) > time.Hour {
				delete(a.counted, k)
			}
		}
	}
	a.counted[key] = now
}

// keyedMutex serialises work per key and forgets a key when nobody holds it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

package interruption

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/sparkplane/sparkplane/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

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
//
// Results are coalesced per application and written once the burst of
// executor deletes is over (afterBurst): when many nodes go at once, each
// application gets one write (and one event) after the deletes instead of
// one per node during them. A result not yet written when the operator stops is lost; the
// decommissions themselves are not.
type applications struct {
	client     client.Client
	apiReader  client.Reader
	events     eventRecorder
	burst      *afterBurst
	flushDelay time.Duration
	log        logr.Logger

	mu      sync.Mutex
	pending map[types.NamespacedName]*pendingRecord
	// counted holds the (application, node, notice) triples already counted
	// in status.interruptions.notices by this process, each dropped after an
	// hour.
	counted map[string]time.Time
}

// pendingRecord is what is waiting to be written to one application.
type pendingRecord struct {
	decommissioned int
	notices        int
	lastNotice     time.Time
	signal         string
	nodes          []string
	minGrace       int64
	driver         *corev1.Pod
	driverNode     string
	driverNotice   Notice
	attempts       int
}

func newApplications(c client.Client, r client.Reader, e eventRecorder, burst *afterBurst, flushDelay time.Duration, log logr.Logger) *applications {
	return &applications{client: c, apiReader: r, events: e, burst: burst, flushDelay: flushDelay, log: log,
		pending: map[types.NamespacedName]*pendingRecord{}, counted: map[string]time.Time{}}
}

// conflictBackoff retries a status patch that lost a race with another
// writer of the application's status.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 0.5}

// maxFlushAttempts bounds the retries of a write that keeps failing.
const maxFlushAttempts = 8

// add queues one node's decommissions (and driver report) for the
// application named key.
func (a *applications) add(key types.NamespacedName, nodeName string, notice Notice, t *appTally) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending[key]
	if p == nil {
		p = &pendingRecord{minGrace: -1}
		a.pending[key] = p
		a.burst.later(func() { a.flush(key) })
	}
	if t.decommissioned > 0 {
		countKey := fmt.Sprintf("%s|%s|%d", key, nodeName, notice.Time.UnixNano())
		if _, counted := a.counted[countKey]; !counted && !t.alreadyTerminating {
			p.notices++
			a.markCountedLocked(countKey)
		}
		p.decommissioned += t.decommissioned
		if notice.Time.After(p.lastNotice) {
			p.lastNotice = notice.Time
		}
		if p.minGrace < 0 || (t.minGrace >= 0 && t.minGrace < p.minGrace) {
			p.minGrace = t.minGrace
		}
		p.signal = notice.Signal
		p.nodes = append(p.nodes, nodeName)
	}
	if t.driver != nil {
		p.driver, p.driverNode, p.driverNotice = t.driver, nodeName, notice
	}
}

// flush writes what is pending for one application and emits its events;
// a failed write is retried later with what has been added meanwhile.
func (a *applications) flush(key types.NamespacedName) {
	a.mu.Lock()
	p := a.pending[key]
	delete(a.pending, key)
	a.mu.Unlock()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := a.write(ctx, key, p)
	if err != nil {
		p.attempts++
		if p.attempts >= maxFlushAttempts {
			a.log.Error(err, "Giving up recording the interruption on the SparkApplication", "application", key, "executorsDecommissioned", p.decommissioned)
			return
		}
		a.log.V(1).Info("Recording the interruption on the SparkApplication failed; retrying", "application", key, "err", err.Error())
		a.mu.Lock()
		if q := a.pending[key]; q != nil {
			p.merge(q)
		} else {
			time.AfterFunc(a.flushDelay<<min(p.attempts, 5), func() { a.flush(key) })
		}
		a.pending[key] = p
		a.mu.Unlock()
		return
	}
	var appObj runtime.Object
	if app != nil {
		appObj = app
	}
	if p.decommissioned > 0 && appObj != nil {
		a.events.applicationExecutorsDecommissioning(appObj, p.nodes, p.signal, p.lastNotice, p.decommissioned, p.minGrace)
	}
	if p.driver != nil {
		a.events.driverNodeInterrupted(p.driver, appObj, p.driverNode, p.driverNotice)
	}
}

// merge adds q (queued while p was being written) into p.
func (p *pendingRecord) merge(q *pendingRecord) {
	p.decommissioned += q.decommissioned
	p.notices += q.notices
	if q.lastNotice.After(p.lastNotice) {
		p.lastNotice = q.lastNotice
	}
	if p.minGrace < 0 || (q.minGrace >= 0 && q.minGrace < p.minGrace) {
		p.minGrace = q.minGrace
	}
	if q.signal != "" {
		p.signal = q.signal
	}
	p.nodes = append(p.nodes, q.nodes...)
	if q.driver != nil {
		p.driver, p.driverNode, p.driverNotice = q.driver, q.driverNode, q.driverNotice
	}
}

// write patches the application's status; it returns the application as
// read (nil when it does not exist, or the cluster lacks the CRD: the pods
// are decommissioned regardless).
func (a *applications) write(ctx context.Context, key types.NamespacedName, p *pendingRecord) (*v1alpha1.SparkApplication, error) {
	var app *v1alpha1.SparkApplication
	err := retry.OnError(conflictBackoff, apierrors.IsConflict, func() error {
		app = &v1alpha1.SparkApplication{}
		if err := a.apiReader.Get(ctx, key, app); err != nil {
			return err
		}
		base := app.DeepCopy()
		if !recordInterruption(&app.Status, app.Generation, p) {
			return nil
		}
		// The patch carries the resourceVersion read, so a concurrent
		// writer conflicts and the counts are added again to what it wrote.
		return a.client.Status().Patch(ctx, app, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		a.log.V(1).Info("SparkApplication not found; interruption not recorded on it", "application", key)
		return nil, nil
	}
	return app, err
}

// recordInterruption adds decommissioned executors (and a notice) to
// status.interruptions and, for an interrupted driver, names it in
// status.interruptions.driver and sets the DriverNodeInterrupted condition.
// It reports whether anything changed.
func recordInterruption(st *v1alpha1.SparkApplicationStatus, generation int64, p *pendingRecord) bool {
	changed := false
	if p.decommissioned > 0 || p.driver != nil {
		if st.Interruptions == nil {
			st.Interruptions = &v1alpha1.InterruptionStatus{}
		}
	}
	if p.decommissioned > 0 {
		in := st.Interruptions
		in.Notices += int32(p.notices)
		in.ExecutorsDecommissioned += int32(p.decommissioned)
		// Seconds, as the API server keeps them.
		last := metav1.NewTime(p.lastNotice.Truncate(time.Second))
		if in.LastNoticeTime == nil || last.After(in.LastNoticeTime.Time) {
			in.LastNoticeTime = &last
		}
		changed = true
	}
	if driver := p.driver; driver != nil {
		report := &v1alpha1.DriverInterruption{Pod: driver.Name, Node: p.driverNode, Signal: p.driverNotice.Signal,
			NoticeTime: metav1.NewTime(p.driverNotice.Time.Truncate(time.Second))}
		if prev := st.Interruptions.Driver; prev == nil || prev.Pod != report.Pod || prev.Node != report.Node || prev.Signal != report.Signal || !prev.NoticeTime.Equal(&report.NoticeTime) {
			st.Interruptions.Driver = report
			changed = true
		}
		if meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type:               v1alpha1.ConditionDriverNodeInterrupted,
			Status:             metav1.ConditionTrue,
			Reason:             v1alpha1.ReasonDriverNodeInterrupted,
			Message:            fmt.Sprintf("Driver pod %s is on node %s, which got a %s notice at %s and is going away.", driver.Name, p.driverNode, p.driverNotice.Signal, p.driverNotice.Time.UTC().Format(time.RFC3339)),
			ObservedGeneration: generation,
		}) {
			changed = true
		}
	}
	return changed
}

// markCountedLocked remembers a counted notice; a.mu is held.
func (a *applications) markCountedLocked(key string) {
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

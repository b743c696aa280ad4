package operator

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

// countingSink accepts every Event and keeps none.
type countingSink struct{ created, patched atomic.Int64 }

func (s *countingSink) Create(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	s.created.Add(1)
	return e, nil
}

func (s *countingSink) Update(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	return e, nil
}

func (s *countingSink) Patch(_ context.Context, e *eventsv1.Event, _ []byte) (*eventsv1.Event, error) {
	s.patched.Add(1)
	return e, nil
}

// heapAfterGC is the live heap.
func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// retainedPerApplication records the 4 Events an application gets
// (Submitted, DriverRunning, Succeeded, TTLExpired) for each of apps
// distinct applications through rec, waits until sink has them all, and
// returns the heap still held per application.
func retainedPerApplication(t *testing.T, rec events.EventRecorder, sink *countingSink, apps int) float64 {
	t.Helper()
	before := heapAfterGC()
	for i := range apps {
		app := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "soak", Name: fmt.Sprintf("soak-%05d", i), UID: types.UID(fmt.Sprintf("uid-%05d", i)), ResourceVersion: "1"}}
		for _, reason := range []string{"Submitted", "DriverRunning", "Succeeded", "TTLExpired"} {
			rec.Eventf(app, nil, corev1.EventTypeNormal, reason, "Observe", "Application %s: %s (attempt %d)", app.Name, reason, 1)
		}
		// At most a few hundred waiting: neither recorder drops.
		for sink.created.Load() < int64(4*i-200) {
			time.Sleep(time.Millisecond)
		}
	}
	testenv.Eventually(t, time.Minute, "every event written", func() string {
		if n := sink.created.Load(); n < int64(4*apps) {
			return fmt.Sprintf("%d of %d", n, 4*apps)
		}
		return ""
	})
	return float64(heapAfterGC()-before) / float64(apps)
}

// TestEventWriterForgetsApplications: the operator's Events of applications
// that have come and gone do not stay in its memory. 5,000 applications'
// Events leave less than 500 bytes each on the heap (the series memory is
// bounded by eventSeriesEntries); client-go's events.EventBroadcaster, which
// controller-runtime's manager records through, keeps every Event it sent
// for 6 to 12 minutes (over 1 KiB each), printed as the reference.
func TestEventWriterForgetsApplications(t *testing.T) {
	const apps = 5000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sink := &countingSink{}
	w := newEventWriter(Scheme(), sink, logr.Discard())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	ours := retainedPerApplication(t, w.recorder("sparkplane-test"), sink, apps)

	refSink := &countingSink{}
	broadcaster := events.NewBroadcaster(refSink)
	refCtx, refCancel := context.WithCancel(context.Background())
	if err := broadcaster.StartRecordingToSinkWithContext(refCtx); err != nil {
		t.Fatal(err)
	}
	reference := retainedPerApplication(t, broadcaster.NewRecorder(Scheme(), "sparkplane-test"), refSink, apps)
	refCancel()
	broadcaster.Shutdown()

	t.Logf("heap retained per application after its 4 Events: %.0f bytes (client-go's events.EventBroadcaster: %.0f bytes)", ours, reference)
	if ours > 500 {
		t.Errorf("the event writer keeps %.0f bytes per application after its Events were written; want < 500 (bounded series memory)", ours)
	}
	if n := w.series.Len(); n > eventSeriesEntries {
		t.Errorf("%d series remembered, want at most %d", n, eventSeriesEntries)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestOperatorEvents: the recorders the operator hands its controllers
// write events.k8s.io/v1 Events to the API server as controller-runtime's
// did (reporting controller and instance, action, reason, note, the
// regarding object), and repeats of one Event become its series.
func TestOperatorEvents(t *testing.T) {
	op, err := New(env.Config, Options{SkipControllerNameValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	// The event writer alone runs (the manager would start it with the
	// controllers).
	writer := op.Manager.(*eventsManager).events
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = writer.Start(ctx) }()
	ns := env.Namespace(t)
	cms := make([]*corev1.ConfigMap, 2)
	for i := range cms {
		cms[i] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("regarding-%d", i)}}
		if err := env.Client.Create(ctx, cms[i]); err != nil {
			t.Fatal(err)
		}
	}
	rec := op.GetEventRecorder("sparkplane-test")
	if _, ok := rec.(eventRecorder); !ok {
		t.Fatalf("the operator's controllers record through %T, not the event writer", rec)
	}
	for range 3 {
		rec.Eventf(cms[0], nil, corev1.EventTypeWarning, "Tested", "Test", "Three times on %s", cms[0].Name)
	}
	rec.Eventf(cms[1], cms[0], corev1.EventTypeNormal, "Tested", "Test", "Once on %s", cms[1].Name)

	list := &eventsv1.EventList{}
	testenv.Eventually(t, testenv.Timeout, "two Events, the first a series of 3", func() string {
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		if len(list.Items) != 2 {
			return fmt.Sprintf("%d Events", len(list.Items))
		}
		for _, e := range list.Items {
			if e.Regarding.Name == cms[0].Name && (e.Series == nil || e.Series.Count != 3) {
				return fmt.Sprintf("series %+v", e.Series)
			}
		}
		return ""
	})
	for _, e := range list.Items {
		want := cms[0]
		wantNote, wantType := "Three times on regarding-0", corev1.EventTypeWarning
		if e.Regarding.Name == cms[1].Name {
			want, wantNote, wantType = cms[1], "Once on regarding-1", corev1.EventTypeNormal
			if e.Related == nil || e.Related.Name != cms[0].Name {
				t.Errorf("related %+v, want %s", e.Related, cms[0].Name)
			}
		}
		if e.Regarding.UID != want.UID || e.Regarding.Kind != "ConfigMap" || e.Note != wantNote || e.Type != wantType ||
			e.Reason != "Tested" || e.Action != "Test" || e.ReportingController != "sparkplane-test" ||
			e.ReportingInstance != "sparkplane-test-"+writer.hostname || e.EventTime.IsZero() {
			t.Errorf("event %+v", e)
		}
	}
}

// flakySink fails the first Create of the Events regarding some objects
// (an API server not reached, or answering 503), always refuses others
// (403), and records when each Event was created.
type flakySink struct {
	countingSink
	mu        sync.Mutex
	failOnce  map[string]error     // regarding name → the error of its first try
	refused   map[string]int       // regarding name → tries, each refused
	createdAt map[string]time.Time // regarding name → first creation
}

func (s *flakySink) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := e.Regarding.Name
	if err := s.failOnce[name]; err != nil {
		delete(s.failOnce, name)
		return nil, err
	}
	if _, ok := s.refused[name]; ok {
		s.refused[name]++
		return nil, apierrors.NewForbidden(eventsv1.Resource("events"), e.Name, errors.New("not allowed"))
	}
	if _, ok := s.createdAt[name]; !ok {
		s.createdAt[name] = time.Now()
	}
	return e, nil
}

// TestEventWriterRetries: an Event the API server could not be reached for,
// or answered 503, is written on a later try, and the Events recorded after
// it are written meanwhile, not after the retry delay; one the API server
// refuses (403) is not tried again.
func TestEventWriterRetries(t *testing.T) {
	sink := &flakySink{
		failOnce: map[string]error{
			"reset":       errors.New("read: connection reset by peer"),
			"unavailable": apierrors.NewServiceUnavailable("injected"),
		},
		refused:   map[string]int{"forbidden": 0},
		createdAt: map[string]time.Time{},
	}
	w := newEventWriter(Scheme(), sink, logr.Discard())
	w.retry = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Start(ctx) }()

	object := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name)}}
	}
	rec := w.recorder("sparkplane-test")
	var behind []string
	for i := range 6 {
		behind = append(behind, fmt.Sprintf("behind-%d", i))
	}
	start := time.Now()
	for _, name := range append([]string{"reset", "unavailable", "forbidden"}, behind...) {
		rec.Eventf(object(name), nil, corev1.EventTypeNormal, "Tested", "Test", "on %s", name)
	}
	testenv.Eventually(t, 10*time.Second, "every Event written", func() string {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if len(sink.createdAt) < 2+len(behind) {
			return fmt.Sprintf("%d of %d", len(sink.createdAt), 2+len(behind))
		}
		return ""
	})
	time.Sleep(3 * time.Second) // a retry of the refused one would come by now
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, name := range []string{"reset", "unavailable"} {
		if took := sink.createdAt[name].Sub(start); took < time.Second {
			t.Errorf("the Event on %s was written %s after it was recorded, before its retry delay", name, took)
		}
	}
	for _, name := range behind {
		if took := sink.createdAt[name].Sub(start); took > time.Second {
			t.Errorf("the Event on %s, recorded after a failed one, was written %s after it was recorded: it waited for the retry", name, took)
		}
	}
	if n := sink.refused["forbidden"]; n != 1 {
		t.Errorf("the refused Event was tried %d times, want 1", n)
	}
}

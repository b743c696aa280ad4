package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record/util"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The operator's Events (events.k8s.io/v1) are written by eventWriter, not
// by the recorder controller-runtime's manager hands out. That one
// (client-go's events.EventBroadcaster) keeps a copy of every Event it sent
// in a map that it empties only of Events older than 6 minutes, every 6
// minutes: at a steady rate of applications it holds the last 6 to 12
// minutes of Events (about 1.5 KiB each, 4 per application), long after the
// applications are gone: the soak of `make reliability` saw the operator's
// heap grow by that for 12 minutes (heap profiles:
// events.(*eventBroadcasterImpl).recordToSink, Event.DeepCopy and the
// note's fmt.Sprintf). eventWriter writes the same Events and aggregates
// the repeats of one into a series the same way, but remembers only what a
// series needs (a hash, a name, a count) of at most eventSeriesEntries
// recent Events.
const (
	// eventSeriesEntries bounds the Events remembered for series (client-go's
	// older core/v1 recorder keeps 4096 too).
	eventSeriesEntries = 4096
	// eventSeriesWindow is how long after its last occurrence a repeat
	// still counts into an Event's series (client-go's finishTime).
	eventSeriesWindow = 6 * time.Minute
	// eventsPending bounds the Events being written or waiting to be tried
	// again; more are dropped and counted.
	eventsPending = 2000
	// eventWrites bounds the writes in flight. Each Event is written as
	// soon as a write is free, as client-go's recorder does (a goroutine per
	// Event): a queue per writer held an Event up behind others, so an
	// operator SIGKILLed a second after recording it had not written it.
	eventWrites = 64
	// eventWriteTries and eventRetryDelay: an Event the API server could not
	// be reached for, or could not serve then, is tried again (client-go's
	// 12 tries, 10 s apart).
	eventWriteTries = 12
	eventRetryDelay = 10 * time.Second
)

var eventsDroppedTotal = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "sparkplane", Subsystem: "events", Name: "dropped_total",
	Help: "Events not written because 2,000 were already being written or waiting to be tried again (the API server slow or unreachable).",
})

func init() { metrics.Registry.MustRegister(eventsDroppedTotal) }

// eventWriter writes the Events of every recorder it hands out.
type eventWriter struct {
	scheme   *runtime.Scheme
	sink     events.EventSink
	log      logr.Logger
	hostname string
	now      func() time.Time
	retry    time.Duration

	// ctx ends the writes when the manager stops (Start).
	ctx    context.Context
	cancel context.CancelFunc
	writes chan struct{} // a token per write in flight
	// pending counts the Events recorded and not yet written or given up.
	pending atomic.Int64

	// seriesMu guards series and the counts in it.
	seriesMu sync.Mutex
	series   *lru.Cache // eventKey → *eventSeries
}

// eventSeries is what is remembered of a recent Event.
type eventSeries struct {
	namespace, name string
	count           int32
	last            time.Time
	// written is closed once the first occurrence was written or given
	// up: its repeats patch it after that.
	written chan struct{}
	// patching orders the series patches, so the count only grows.
	patching sync.Mutex
}

func newEventWriter(scheme *runtime.Scheme, sink events.EventSink, log logr.Logger) *eventWriter {
	hostname, _ := os.Hostname()
	ctx, cancel := context.WithCancel(context.Background())
	return &eventWriter{scheme: scheme, sink: sink, log: log, hostname: hostname, now: time.Now, retry: eventRetryDelay,
		ctx: ctx, cancel: cancel, writes: make(chan struct{}, eventWrites), series: lru.New(eventSeriesEntries)}
}

// Start ends the writes when ctx ends (a manager.Runnable, on every
// replica); Events are written from the first recorded, started or not.
func (w *eventWriter) Start(ctx context.Context) error {
	<-ctx.Done()
	w.cancel()
	return nil
}

func (*eventWriter) NeedLeaderElection() bool { return false }

// recorder is the events.EventRecorder of the controller named controller.
func (w *eventWriter) recorder(controller string) events.EventRecorder {
	return eventRecorder{w: w, controller: controller, instance: controller + "-" + w.hostname}
}

type eventRecorder struct {
	w                    *eventWriter
	controller, instance string
}

// Eventf builds the Event as client-go's recorder does and writes it.
func (r eventRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	w := r.w
	message := fmt.Sprintf(note, args...)
	ref, err := reference.GetReference(w.scheme, regarding)
	if err != nil {
		w.log.Error(err, "Could not construct a reference; event not recorded", "reason", reason, "message", message)
		return
	}
	var relatedRef *corev1.ObjectReference
	if related != nil {
		if relatedRef, err = reference.GetReference(w.scheme, related); err != nil {
			w.log.V(1).Info("Could not construct a reference to the related object", "err", err.Error())
		}
	}
	if !util.ValidateEventType(eventtype) {
		w.log.Error(nil, "Unsupported event type; event not recorded", "type", eventtype, "reason", reason)
		return
	}
	now := w.now()
	namespace := ref.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	e := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: util.GenerateEventName(ref.Name, now.UnixNano()), Namespace: namespace},
		EventTime:           metav1.MicroTime{Time: now},
		ReportingController: r.controller,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             relatedRef,
		Note:                message,
		Type:                eventtype,
	}
	w.log.V(1).Info(message, "type", eventtype, "object", ref, "action", action, "reason", reason)
	w.record(e)
}

// record counts e into the series of the same Event recorded within
// eventSeriesWindow, or starts one, and writes it.
func (w *eventWriter) record(e *eventsv1.Event) {
	if w.pending.Add(1) > eventsPending {
		w.pending.Add(-1)
		eventsDroppedTotal.Inc()
		return
	}
	key := eventKey(e)
	now := w.now()
	w.seriesMu.Lock()
	first := false
	var s *eventSeries
	if v, ok := w.series.Get(key); ok && now.Sub(v.(*eventSeries).last) <= eventSeriesWindow {
		s = v.(*eventSeries)
		s.count++
		s.last = now
	} else {
		s = &eventSeries{namespace: e.Namespace, name: e.Name, count: 1, last: now, written: make(chan struct{})}
		w.series.Add(key, s)
		first = true
	}
	w.seriesMu.Unlock()
	go w.write(e, key, s, first, 1)
}

// eventKey identifies the repeats of an Event (client-go's isomorphic key:
// type, action, reason, reporter, regarding and related object).
func eventKey(e *eventsv1.Event) uint64 {
	h := fnv.New64a()
	ref := func(r *corev1.ObjectReference) {
		if r == nil {
			fmt.Fprint(h, "\x00-")
			return
		}
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", r.Kind, r.Namespace, r.Name, r.UID, r.APIVersion, r.ResourceVersion, r.FieldPath)
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", e.Type, e.Action, e.Reason, e.ReportingController, e.ReportingInstance)
	ref(&e.Regarding)
	ref(e.Related)
	return h.Sum64()
}

// write writes e (try tries), the first of its series or a repeat, when a
// write is free. An Event the API server could not be reached for, or
// could not serve then, is tried again after a delay.
func (w *eventWriter) write(e *eventsv1.Event, key uint64, s *eventSeries, first bool, try int) {
	if !first {
		select {
		case <-s.written:
		case <-w.ctx.Done():
			w.pending.Add(-1)
			return
		}
	}
	select {
	case w.writes <- struct{}{}:
	case <-w.ctx.Done():
		w.pending.Add(-1)
		return
	}
	err := w.send(e, s, first)
	<-w.writes
	if err != nil && w.ctx.Err() == nil && transient(err) && try < eventWriteTries {
		time.AfterFunc(wait.Jitter(w.retry, 0.25), func() { w.write(e, key, s, first, try+1) })
		return
	}
	if err != nil && w.ctx.Err() == nil {
		// Refused (malformed, forbidden, namespace gone: trying again would
		// be refused again), or out of tries.
		w.log.Error(err, "Event not recorded", "reason", e.Reason, "object", e.Regarding, "tries", try)
		if first {
			w.series.Remove(key)
		}
	}
	if first {
		close(s.written)
	}
	w.pending.Add(-1)
}

// transient tells the errors worth trying again: the API server not
// reached, or answering that it could not serve the request then (429 and
// 5xx; client-go's recorder gives up on those, and a 500 under load lost
// the Event it was about).
func transient(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	code := status.Status().Code
	return code == http.StatusTooManyRequests || code >= http.StatusInternalServerError
}

// send creates e, the first of its series, or patches the series' count
// into the first.
func (w *eventWriter) send(e *eventsv1.Event, s *eventSeries, first bool) error {
	if !first {
		s.patching.Lock()
		defer s.patching.Unlock()
		w.seriesMu.Lock()
		series := eventsv1.EventSeries{Count: s.count, LastObservedTime: metav1.MicroTime{Time: s.last}}
		w.seriesMu.Unlock()
		patch, err := seriesPatch(series)
		if err != nil {
			return err
		}
		target := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
		if _, err = w.sink.Patch(w.ctx, target, patch); !apierrors.IsNotFound(err) {
			return err
		}
		// The first of the series is gone (deleted, or never written):
		// this one is written afresh.
	}
	_, err := w.sink.Create(w.ctx, e)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// seriesPatch sets an Event's series (a strategic merge patch, as
// events.EventSinkImpl sends).
func seriesPatch(s eventsv1.EventSeries) ([]byte, error) {
	return json.Marshal(struct {
		Series eventsv1.EventSeries `json:"series"`
	}{s})
}

// eventsManager is the manager the controllers register with: the
// operator's manager whose event recorders are eventWriter's.
type eventsManager struct {
	manager.Manager
	events *eventWriter
}

func (m *eventsManager) GetEventRecorder(name string) events.EventRecorder {
	return m.events.recorder(name)
}

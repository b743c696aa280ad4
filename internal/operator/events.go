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
	// eventQueueSize bounds the Events waiting to be written, and those
	// waiting to be tried again; more are dropped and counted.
	eventQueueSize = 2000
	// eventWriters write Events concurrently (under the fault scenario's
	// 2 s delays on one request in ten, 4 fell behind its applications'
	// Events); the repeats of one Event go to the same writer, in order, so
	// a series is counted on the Event its first occurrence created.
	eventWriters = 16
	// eventWriteTries and eventRetryDelay: an Event the API server could not
	// be reached for, or could not serve then, is tried again (client-go's
	// 12 tries, 10 s apart); at most eventQueueSize wait for that.
	eventWriteTries = 12
	eventRetryDelay = 10 * time.Second
)

var eventsDroppedTotal = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "sparkplane", Subsystem: "events", Name: "dropped_total",
	Help: "Events not written because 2,000 were already waiting to be written, or to be tried again (the API server slow or unreachable).",
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
	queues   []chan queuedEvent

	// retrying counts the Events waiting to be tried again.
	retrying atomic.Int64

	// seriesMu makes a series' lookup and update one step.
	seriesMu sync.Mutex
	series   *lru.Cache // eventKey → *eventSeries
}

type queuedEvent struct {
	event *eventsv1.Event
	key   uint64
	// tries is how many writes failed; repeat is the series the Event was
	// counted into at the first (count 0: a new Event).
	tries  int
	repeat eventSeries
}

// eventSeries is what is remembered of a recent Event.
type eventSeries struct {
	namespace, name string
	count           int32
	last            time.Time
}

func newEventWriter(scheme *runtime.Scheme, sink events.EventSink, log logr.Logger) *eventWriter {
	hostname, _ := os.Hostname()
	w := &eventWriter{scheme: scheme, sink: sink, log: log, hostname: hostname, now: time.Now, retry: eventRetryDelay,
		series: lru.New(eventSeriesEntries)}
	for range eventWriters {
		w.queues = append(w.queues, make(chan queuedEvent, eventQueueSize/eventWriters))
	}
	return w
}

// Start writes Events until ctx ends (a manager.Runnable, on every replica).
func (w *eventWriter) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, queue := range w.queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case q := <-queue:
					w.write(ctx, q)
				}
			}
		}()
	}
	wg.Wait()
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

// Eventf builds the Event as client-go's recorder does and queues it.
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
	w.enqueue(queuedEvent{event: e, key: eventKey(e)})
}

// enqueue queues q for its writer, or drops it when that writer has
// eventQueueSize/eventWriters waiting.
func (w *eventWriter) enqueue(q queuedEvent) {
	select {
	case w.queues[q.key%uint64(len(w.queues))] <- q:
	default:
		eventsDroppedTotal.Inc()
	}
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

// write creates the Event, or counts it into the series of the same Event
// written within eventSeriesWindow. An Event the API server could not be
// reached for is tried again later, without holding up the Events queued
// behind it.
func (w *eventWriter) write(ctx context.Context, q queuedEvent) {
	e := q.event
	if q.tries == 0 {
		now := w.now()
		w.seriesMu.Lock()
		if v, ok := w.series.Get(q.key); ok && now.Sub(v.(*eventSeries).last) <= eventSeriesWindow {
			s := v.(*eventSeries)
			s.count++
			s.last = now
			q.repeat = *s
		} else {
			w.series.Add(q.key, &eventSeries{namespace: e.Namespace, name: e.Name, count: 1, last: now})
		}
		w.seriesMu.Unlock()
	}
	err := w.send(ctx, e, q.repeat)
	if err == nil || ctx.Err() != nil {
		return
	}
	q.tries++
	retry := transient(err) && q.tries < eventWriteTries
	if retry && w.retrying.Add(1) > eventQueueSize {
		w.retrying.Add(-1)
		eventsDroppedTotal.Inc()
		retry = false
	}
	if !retry {
		// Refused (malformed, forbidden, namespace gone: trying again would
		// be refused again), out of tries, or too many waiting.
		w.log.Error(err, "Event not recorded", "reason", e.Reason, "object", e.Regarding, "tries", q.tries)
		if q.repeat.count == 0 {
			w.series.Remove(q.key)
		}
		return
	}
	time.AfterFunc(wait.Jitter(w.retry, 0.25), func() {
		w.retrying.Add(-1)
		w.enqueue(q)
	})
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

// send creates e, or patches the series of the Event repeat names.
func (w *eventWriter) send(ctx context.Context, e *eventsv1.Event, repeat eventSeries) error {
	if repeat.count > 1 {
		series := eventsv1.EventSeries{Count: repeat.count, LastObservedTime: metav1.MicroTime{Time: repeat.last}}
		patch, err := seriesPatch(series)
		if err != nil {
			return err
		}
		target := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: repeat.namespace, Name: repeat.name}}
		if _, err = w.sink.Patch(ctx, target, patch); !apierrors.IsNotFound(err) {
			return err
		}
		// The first of the series is gone (deleted, or never written):
		// this one is written afresh.
	}
	_, err := w.sink.Create(ctx, e)
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

package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sparkplane/sparkplane/internal/spark"
)

// logDrainTimeout bounds how long submit --follow waits, once the application
// has ended, for the rest of the driver's log to arrive.
const logDrainTimeout = 10 * time.Second

// logFollower streams driver logs for submit --follow: each driver pod once,
// in the order the attempts start them.
type logFollower struct {
	ctx       context.Context
	cancel    context.CancelFunc
	clientset kubernetes.Interface
	out, errs io.Writer

	mu      sync.Mutex
	started map[string]bool
	running sync.WaitGroup
}

func newLogFollower(ctx context.Context, clientset kubernetes.Interface, out, errs io.Writer) *logFollower {
	ctx, cancel := context.WithCancel(ctx)
	return &logFollower{ctx: ctx, cancel: cancel, clientset: clientset, out: out, errs: errs, started: map[string]bool{}}
}

// start follows the pod's driver log unless it already does.
func (f *logFollower) start(namespace, pod string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started[pod] {
		return
	}
	f.started[pod] = true
	f.running.Add(1)
	go func() {
		defer f.running.Done()
		opts := &corev1.PodLogOptions{Container: spark.DriverContainerName, Follow: true}
		if err := streamLogs(f.ctx, f.clientset, namespace, pod, opts, f.out); err != nil {
			fmt.Fprintf(f.errs, "the log of driver pod %s is not available: %v\n", pod, err)
		}
	}()
}

// drain waits a while for the streams to end by themselves (the driver
// container has exited), then stops them.
func (f *logFollower) drain() {
	done := make(chan struct{})
	go func() { f.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(logDrainTimeout):
	}
	f.stop()
}

func (f *logFollower) stop() {
	f.cancel()
	f.running.Wait()
}

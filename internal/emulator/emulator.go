package emulator

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Options configure an Emulator.
type Options struct {
	// Namespace limits the emulator to one namespace; empty means all.
	Namespace string
	// EventLogDir receives every application's event log. When empty, an
	// application's log goes to spark.eventLog.dir if spark.eventLog.enabled
	// is true and the directory is a local path (file:/... or /...).
	EventLogDir string
	// TimeScale is model seconds per real second; it overrides
	// spark.sparkplane.emulator.timeScale when positive.
	TimeScale float64
	// Tick is how often each application's loop runs (real time); 50ms when
	// zero.
	Tick time.Duration
}

// AppSummary is one application's outcome.
type AppSummary struct {
	Namespace, DriverPod, Application, AppID string
	// State is Running, Succeeded or Failed; Stopped when the driver pod was
	// deleted before the application ended.
	State                   string
	Message                 string
	EventLog                string
	ExecutorsCreated        int
	ExecutorsDecommissioned int
	ExecutorsLost           int
	MigratedBytes           int64
	// FallbackBytes went to fallback storage (no peer left to take them).
	FallbackBytes     int64
	RecomputedBytes   int64
	RecomputeTaskTime time.Duration
	// Removals: one per executor that left holding shuffle output still to
	// be read, with its pod's name and what became of each byte.
	Removals           []ExecutorRemoval
	StartedAt, EndedAt time.Time
	// Workload is the workload preset; ModelDuration the application's run
	// time in model time (what its event log shows). Both set when it ends.
	Workload      string
	ModelDuration time.Duration
}

// ExecutorRemoval is an engine Removal with the executor's pod name.
type ExecutorRemoval struct {
	Pod string
	Removal
}

// Summary totals every application the emulator ran.
type Summary struct {
	AppsStarted, AppsSucceeded, AppsFailed int
	ExecutorsCreated                       int
	ExecutorsDecommissioned                int
	ExecutorsLost                          int
	MigratedBytes                          int64
	RecomputedBytes                        int64
	RecomputeTaskTime                      time.Duration
	Apps                                   []AppSummary
}

// Emulator watches driver and executor pods and plays the driver of each
// application whose driver pod runs.
type Emulator struct {
	// client plays the kubelet's part (reading the ConfigMaps mounted into a
	// driver, ending a driver pod's containers) and watches pods.
	client kubernetes.Interface
	// cfg, when set, is what each driver's own client is built from,
	// impersonating the driver pod's ServiceAccount (driverClient).
	cfg  *rest.Config
	opts Options

	mu   sync.Mutex
	apps map[string]*app // by namespace/driver pod name/uid
	wg   sync.WaitGroup
	ctx  context.Context
}

// New returns an Emulator that talks to the API server at cfg.
func New(cfg *rest.Config, opts Options) (*Emulator, error) {
	if cfg == nil {
		return nil, fmt.Errorf("emulator: no rest config")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// client-go's default of 5 QPS would throttle a fleet of drivers.
		cfg.QPS, cfg.Burst = 100, 200
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := NewWithClient(client, opts)
	e.cfg = cfg
	return e, nil
}

// NewWithClient returns an Emulator over an existing clientset, which also
// serves as every driver's client (no impersonation: for unit tests with a
// fake clientset).
func NewWithClient(client kubernetes.Interface, opts Options) *Emulator {
	if opts.Tick <= 0 {
		opts.Tick = 50 * time.Millisecond
	}
	return &Emulator{client: client, opts: opts, apps: map[string]*app{}}
}

// Run watches pods until ctx ends, then stops every application loop and
// returns. Applications still running are left as they are (their driver pods
// stay Running), as when a driver process is killed.
func (e *Emulator) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	factory := informers.NewSharedInformerFactoryWithOptions(e.client, 0,
		informers.WithNamespace(e.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = LabelSparkRole + " in (" + RoleDriver + "," + RoleExecutor + ")"
		}))
	podInformer := factory.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.onPod(obj, false) },
		UpdateFunc: func(_, obj any) { e.onPod(obj, false) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			e.onPod(obj, true)
		},
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.HasSynced) {
		return fmt.Errorf("emulator: pod informer did not sync")
	}
	logger.Info("Spark driver emulator running", "namespace", e.opts.Namespace, "eventLogDir", e.opts.EventLogDir)
	<-ctx.Done()
	cancel()
	factory.Shutdown()
	e.wg.Wait()
	return nil
}

func (e *Emulator) onPod(obj any, deleted bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	switch pod.Labels[LabelSparkRole] {
	case RoleDriver:
		e.onDriverPod(pod, deleted)
	case RoleExecutor:
		e.mu.Lock()
		var target *app
		for _, a := range e.apps {
			if a.namespace == pod.Namespace && a.appID() == pod.Labels[LabelAppSelector] && a.ownsExecutor(pod) {
				target = a
			}
		}
		e.mu.Unlock()
		if target != nil {
			target.notify(podEvent{pod: pod, deleted: deleted})
		}
	}
}

func (e *Emulator) onDriverPod(pod *corev1.Pod, deleted bool) {
	// Keyed by UID too: a new driver pod under an old name is a new
	// application, and the old one's summary stays.
	key := pod.Namespace + "/" + pod.Name + "/" + string(pod.UID)
	e.mu.Lock()
	defer e.mu.Unlock()
	existing := e.apps[key]
	if deleted || pod.DeletionTimestamp != nil {
		if existing != nil {
			existing.stop()
		}
		return
	}
	if existing != nil || pod.Status.Phase != corev1.PodRunning || e.ctx == nil {
		return
	}
	a := newApp(e, pod)
	e.apps[key] = a
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		a.run(e.ctx)
	}()
}

// driverClient is the client an emulated driver makes its API calls with:
// as the driver pod's ServiceAccount (system:serviceaccount:<ns>:<name>, in
// the ServiceAccount groups), as a real driver's in-cluster client would, so
// a missing permission fails the emulated driver where it fails a real one.
func (e *Emulator) driverClient(pod *corev1.Pod) (kubernetes.Interface, error) {
	if e.cfg == nil {
		return e.client, nil
	}
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	cfg := rest.CopyConfig(e.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + pod.Namespace + ":" + account,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + pod.Namespace, "system:authenticated"},
	}
	return kubernetes.NewForConfig(cfg)
}

// Summary returns the totals so far; safe to call while Run runs.
func (e *Emulator) Summary() Summary {
	e.mu.Lock()
	apps := make([]*app, 0, len(e.apps))
	for _, a := range e.apps {
		apps = append(apps, a)
	}
	e.mu.Unlock()
	var s Summary
	for _, a := range apps {
		as := a.summary()
		s.AppsStarted++
		switch as.State {
		case string(corev1.PodSucceeded):
			s.AppsSucceeded++
		case string(corev1.PodFailed):
			s.AppsFailed++
		}
		s.ExecutorsCreated += as.ExecutorsCreated
		s.ExecutorsDecommissioned += as.ExecutorsDecommissioned
		s.ExecutorsLost += as.ExecutorsLost
		s.MigratedBytes += as.MigratedBytes
		s.RecomputedBytes += as.RecomputedBytes
		s.RecomputeTaskTime += as.RecomputeTaskTime
		s.Apps = append(s.Apps, as)
	}
	sort.Slice(s.Apps, func(i, j int) bool {
		if s.Apps[i].Namespace != s.Apps[j].Namespace {
			return s.Apps[i].Namespace < s.Apps[j].Namespace
		}
		return s.Apps[i].DriverPod < s.Apps[j].DriverPod
	})
	return s
}

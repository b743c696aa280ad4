// Package operator builds sparkplane's operator: one controller-runtime
// manager with every controller of internal/controller's list registered,
// health and readiness probes, and the client settings the operator runs
// with. `sparkplane operator`, `sparkplane demo` and tests build it here, so
// the three run the same thing (Karpenter's pkg/operator).
package operator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller"
	"github.com/sparkplane/sparkplane/internal/controller/hub"
	"github.com/sparkplane/sparkplane/internal/version"
)

// UserAgent is the operator's user agent towards the API server.
const UserAgent = "sparkplane-operator"

// Options configure the operator. The zero value runs every controller with
// its defaults, no metrics, probe or pprof listener, and no leader election.
type Options struct {
	// Scheme of the manager's clients; Scheme() when nil.
	Scheme *runtime.Scheme
	// MetricsAddr, ProbeAddr and PprofAddr are where the Prometheus metrics,
	// the /healthz and /readyz probes and Go's /debug/pprof listen; "" or
	// "0" turns each off.
	MetricsAddr, ProbeAddr, PprofAddr string
	// LeaderElection elects one working replica among several, through the
	// Lease LeaderElectionID in LeaderElectionNamespace.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod time the election
	// (controller-runtime's 15 s, 10 s and 2 s when 0): a standby takes over
	// at most LeaseDuration plus RetryPeriod after the leader last renewed.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// QPS and Burst limit the client; the config's own values when 0.
	QPS   float32
	Burst int
	// WatchNamespaces restricts the cache to these namespaces; every
	// namespace when empty.
	WatchNamespaces []string
	// Controllers configure the controllers.
	Controllers controller.Options
	// Without names controllers of the list to leave out (the demo's
	// --ablate).
	Without []string
	// Hub, when set, runs the hub's controllers (hub.Controllers) instead of
	// the list: `sparkplane operator --hub`.
	Hub *hub.Options
	// SkipControllerNameValidation lets several operators run in one process
	// (tests).
	SkipControllerNameValidation bool
}

// VersionLabel is v as a label value: characters outside [A-Za-z0-9_.-]
// become "-", it starts and ends with a letter or digit, and it is at most
// 63 characters long.
func VersionLabel(v string) string {
	v = version.ImageTag(v)
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.TrimFunc(v, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
}

// Operator is a manager with every controller registered.
type Operator struct {
	manager.Manager
	// Controllers are the names of the registered controllers, in order.
	Controllers []string
	synced      *atomic.Bool
	// apiServer asks the API server whether it is ready.
	apiServer func(context.Context) error
}

func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// Scheme holds core Kubernetes types and sparkplane's v1alpha1.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

func off(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}

// New builds the manager against cfg (not modified) and registers every
// controller and the probes. Start runs it.
func New(cfg *rest.Config, opts Options) (*Operator, error) {
	cfg = rest.CopyConfig(cfg)
	if opts.QPS > 0 {
		cfg.QPS = opts.QPS
	}
	if opts.Burst > 0 {
		cfg.Burst = opts.Burst
	}
	cfg.UserAgent = UserAgent
	// The readiness check asks the API server past the gate: a throttled
	// operator still reaches it.
	readyCheck := apiServerCheck(cfg)
	gate := newRetryAfterGate()
	cfg.Wrap(gate.wrap)
	if opts.Scheme == nil {
		opts.Scheme = Scheme()
	}
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                        opts.Scheme,
		Metrics:                       metricsserver.Options{BindAddress: off(opts.MetricsAddr)},
		HealthProbeBindAddress:        off(opts.ProbeAddr),
		PprofBindAddress:              off(opts.PprofAddr),
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 nonZero(opts.LeaseDuration),
		RenewDeadline:                 nonZero(opts.RenewDeadline),
		RetryPeriod:                   nonZero(opts.RetryPeriod),
		// The Lease names the elected replica's version, which a hub reads
		// (MemberCluster status.capacity.operatorVersion).
		LeaderElectionLabels: map[string]string{v1alpha1.LabelOperatorVersion: VersionLabel(version.Get().Version)},
		// Managed fields are a third of a typical object and no controller
		// reads them: dropping them from every informer keeps the operator
		// small at tens of thousands of pods.
		// --watch-namespaces restricts every namespaced informer (and so
		// the applications, pods and the rest the controllers see) to
		// those namespaces; cluster-scoped ones (nodes, profiles, storage
		// and priority classes) stay cluster-wide.
		Cache: cache.Options{
			DefaultTransform:  cache.TransformStripManagedFields(),
			DefaultNamespaces: watchedNamespaces(opts.WatchNamespaces),
		},
		GracefulShutdownTimeout: ptr.To(10 * time.Second),
		Controller:              config.Controller{SkipNameValidation: ptr.To(opts.SkipControllerNameValidation)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	// The controllers' event recorders are eventWriter's (events.go says
	// why); the manager's own stays for leader election.
	eventClient, err := eventsv1client.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("creating the events client: %w", err)
	}
	writer := newEventWriter(opts.Scheme, &events.EventSinkImpl{Interface: eventClient}, mgr.GetLogger().WithName("events"))
	if err := mgr.Add(writer); err != nil {
		return nil, err
	}
	mgr = &eventsManager{Manager: mgr, events: writer}
	op := &Operator{Manager: mgr, synced: &atomic.Bool{}, apiServer: readyCheck}
	controllers, err := controllersFor(mgr, opts)
	if err != nil {
		return nil, err
	}
	for _, c := range controllers {
		if slices.Contains(opts.Without, c.Name()) {
			continue
		}
		if err := c.Register(mgr); err != nil {
			return nil, fmt.Errorf("registering controller %s: %w", c.Name(), err)
		}
		op.Controllers = append(op.Controllers, c.Name())
	}
	if err := op.addProbes(); err != nil {
		return nil, err
	}
	return op, nil
}

// watchedNamespaces is the cache's namespace restriction: none (every
// namespace) when names is empty.
func watchedNamespaces(names []string) map[string]cache.Config {
	if len(names) == 0 {
		return nil
	}
	out := map[string]cache.Config{}
	for _, ns := range names {
		out[ns] = cache.Config{}
	}
	return out
}

// controllersFor is internal/controller's list, or the hub's.
func controllersFor(mgr manager.Manager, opts Options) ([]controller.Controller, error) {
	if opts.Hub == nil {
		return controller.New(mgr, opts.Controllers)
	}
	registrars, err := hub.Controllers(mgr, *opts.Hub)
	if err != nil {
		return nil, err
	}
	controllers := make([]controller.Controller, len(registrars))
	for i, r := range registrars {
		controllers[i] = r
	}
	return controllers, nil
}

// addProbes serves /healthz (the process answers) and /readyz (the
// informer caches have synced and the API server answers that it is
// ready). A standby replica of a leader election is ready too once its
// caches have synced: it is what takes over, and a Deployment whose standby
// never turns ready could not roll.
func (o *Operator) addProbes() error {
	if err := o.Add(cacheSync{o}); err != nil {
		return err
	}
	if err := o.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := o.AddReadyzCheck("informers", func(*http.Request) error { return o.Ready() }); err != nil {
		return err
	}
	return o.AddReadyzCheck("api-server", func(req *http.Request) error { return o.apiServer(req.Context()) })
}

// cacheSync records when the informer caches have synced; it runs on every
// replica, leader or not (the caches do too).
type cacheSync struct{ o *Operator }

func (c cacheSync) Start(ctx context.Context) error {
	if c.o.GetCache().WaitForCacheSync(ctx) {
		c.o.synced.Store(true)
	}
	return nil
}

func (cacheSync) NeedLeaderElection() bool { return false }

// apiServerTimeout bounds the readiness probe's question to the API server.
const apiServerTimeout = 2 * time.Second

// apiServerCheck returns a check that GETs the API server's /readyz once,
// without retrying, within apiServerTimeout: the operator is not ready
// while it cannot reach an API server that can serve (e.g. during an API
// server or etcd restart), and ready again as soon as it can.
func apiServerCheck(cfg *rest.Config) func(context.Context) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = apiServerTimeout
	// The check's own rate limit: a probe must not wait behind the
	// controllers' queries, nor use up their budget.
	cfg.QPS, cfg.Burst, cfg.RateLimiter = 5, 10, nil
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return func(context.Context) error { return fmt.Errorf("no client for the API server's /readyz: %w", err) }
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, apiServerTimeout)
		defer cancel()
		if _, err := dc.RESTClient().Get().AbsPath("/readyz").MaxRetries(0).Do(ctx).Raw(); err != nil {
			return fmt.Errorf("the API server at %s is not ready or not reachable: %w", cfg.Host, err)
		}
		return nil
	}
}

// Ready returns nil once the informer caches have synced.
func (o *Operator) Ready() error {
	if !o.synced.Load() {
		return errors.New("informer caches not synced yet")
	}
	return nil
}

// Start runs the operator until ctx ends.
func (o *Operator) Start(ctx context.Context) error {
	if err := o.Manager.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

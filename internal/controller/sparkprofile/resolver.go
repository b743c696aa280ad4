package sparkprofile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// ResolverName names the resolver among the operator's controllers.
const ResolverName = "sparkprofile-resolver"

// ResolverOptions configure the Resolver.
type ResolverOptions struct {
	// NodesOnDemand says nodes are created on demand (Karpenter): zones are
	// chosen by spreading applications (least-loaded zone, stable hash),
	// and no pod cache is kept. Otherwise the zone where the executors fit
	// best in the free capacity now is chosen, from a trimmed cache of
	// nodes and pods.
	NodesOnDemand bool
	// Zones the cluster can create nodes in, besides the zones of its nodes.
	Zones []string
	// Images says how the platforms of the applications' images are read
	// (zero: they are not).
	Images ImageOptions
}

// Resolver is the sparkapplication controller's profile hook (its Resolve
// method is the controller's Resolver; this package does not import it). It reads SparkProfiles,
// namespaces and PriorityClasses from the manager's cache, nodes and their
// free capacity from the operator's shared cluster state (which, unless
// NodesOnDemand, holds every pod), keeps the count of unfinished
// applications per zone up to date from application events, and calls
// profile.Resolve once per submission attempt. No step scans all pods or
// all applications: a submission costs the same at 10 applications as at
// 10,000.
type Resolver struct {
	opts ResolverOptions
	// Set by Register.
	reader client.Reader
	state  *clusterstate.State
	load   *zoneLoad
	events eventRecorder
}

// NewResolver returns a resolver; Register wires its caches into a manager.
func NewResolver(opts ResolverOptions) *Resolver { return &Resolver{opts: opts} }

// Name returns the resolver's name.
func (r *Resolver) Name() string { return ResolverName }

// Register wires the resolver to mgr's shared cluster state (with every pod
// unless NodesOnDemand) and to the application events that keep the zone
// load. It starts no controller. Register it before the controllers that
// share the state (controller.New does).
func (r *Resolver) Register(mgr manager.Manager) error {
	state, err := clusterstate.For(mgr, clusterstate.Options{AllPods: !r.opts.NodesOnDemand})
	if err != nil {
		return err
	}
	// What every resolution lists or reads besides the profiles (Input:
	// the application's namespace, the PriorityClasses) is watched from
	// the start, not from the first read: the first submissions after a
	// start waited 0.1 s for those informers to sync.
	if err := clusterstate.WatchFromStart(mgr, &corev1.Namespace{}, &schedulingv1.PriorityClass{}); err != nil {
		return err
	}
	informer, err := mgr.GetCache().GetInformer(context.Background(), &v1alpha1.SparkApplication{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the SparkApplication informer: %w", err)
	}
	load := newZoneLoad()
	load.synced, err = informer.AddEventHandler(clusterstate.TallyHandlers(load.account))
	if err != nil {
		return fmt.Errorf("watching SparkApplications for the zone load: %w", err)
	}
	if r.opts.Images.ReadPullSecrets && r.opts.Images.Secrets == nil {
		r.opts.Images.Secrets = mgr.GetAPIReader()
	}
	r.reader, r.state, r.load = mgr.GetClient(), state, load
	r.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	return nil
}

// Resolve returns the effective application with status.profile,
// status.zone and status.resolution set and a note saying which profile and zone and why (logged with
// the submission), or the profile package's error naming what is wrong
// (ProfileNotFound, or InvalidSpec with the conflicts field by field; its
// RejectionReason method says which).
func (r *Resolver) Resolve(ctx context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
	if r.reader == nil {
		return nil, "", errors.New("the profile resolver is not registered with the manager")
	}
	in, err := r.input(ctx, app)
	if err != nil {
		return nil, "", err
	}
	res, err := profile.Resolve(in)
	if err != nil {
		// The profile package's errors carry the condition reason the
		// application ends with (RejectionReason).
		return nil, "", err
	}
	effective := res.Application
	effective.Status.Zone = res.Zone
	effective.Status.Profile = res.Profile
	effective.Status.Resolution = res.Resolution()
	r.events.skipped(app, res)
	r.events.imagePlatformsUnknown(app, res)
	return effective, ResolvedNote(res), nil
}

// input gathers what resolution looks at from the caches.
func (r *Resolver) input(ctx context.Context, app *v1alpha1.SparkApplication) (profile.ResolveInput, error) {
	return Input(ctx, r.reader, resolverView{r}, r.opts, app)
}

// zoneLoad counts unfinished applications per recorded zone (status.zone),
// kept up to date by the application informer's events.
type zoneLoad struct {
	// synced is the handler's registration: until it has seen the
	// initial list, the counts are incomplete (nil in unit tests).
	synced toolscache.ResourceEventHandlerRegistration

	mu    sync.Mutex
	zones map[types.UID]string // unfinished applications with a zone
	count map[string]int
}

func newZoneLoad() *zoneLoad {
	return &zoneLoad{zones: map[types.UID]string{}, count: map[string]int{}}
}

// account brings the count of the application obj describes up to date
// (clusterstate.TallyHandlers calls it).
func (l *zoneLoad) account(obj any, gone bool) {
	app, ok := obj.(*v1alpha1.SparkApplication)
	if !ok {
		return
	}
	zone := ""
	if !gone && !app.Status.State.IsTerminal() {
		zone = app.Status.Zone
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if before, had := l.zones[app.UID]; had {
		if before == zone {
			return
		}
		l.count[before]--
		if l.count[before] == 0 {
			delete(l.count, before)
		}
		delete(l.zones, app.UID)
	}
	if zone != "" {
		l.zones[app.UID] = zone
		l.count[zone]++
	}
}

// perZone returns a copy of the counts, or an error while they do not yet
// cover the initial list of applications (the reconcile is retried).
func (l *zoneLoad) perZone() (map[string]int, error) {
	if l.synced != nil && !l.synced.HasSynced() {
		return nil, errors.New("the per-zone application counts are still loading; retrying")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.count))
	for z, n := range l.count {
		out[z] = n
	}
	return out, nil
}

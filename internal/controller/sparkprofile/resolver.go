package sparkprofile

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// ResolverName names the resolver among the operator's controllers.
const ResolverName = "sparkprofile-resolver"

// ApplicationZoneIndex indexes SparkApplications by status.zone, for the
// per-zone load the zone choice spreads by.
const ApplicationZoneIndex = "sparkplane.io/status-zone"

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
}

// Resolver is the sparkapplication controller's profile hook (its Resolve
// method is a sparkapplication.Resolver). It reads SparkProfiles,
// namespaces and SparkApplications from the manager's cache and nodes (and,
// unless NodesOnDemand, pods) from a trimmed cache of its own, and calls
// profile.Resolve once per submission attempt.
type Resolver struct {
	opts ResolverOptions
	// Set by Register.
	reader   client.Reader
	capacity cache.Cache
	events   eventRecorder
}

// NewResolver returns a resolver; Register wires its caches into a manager.
func NewResolver(opts ResolverOptions) *Resolver { return &Resolver{opts: opts} }

// Name returns the resolver's name.
func (r *Resolver) Name() string { return ResolverName }

// Register creates the resolver's capacity cache and index and adds them to
// mgr. It starts no controller.
func (r *Resolver) Register(mgr manager.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.SparkApplication{}, ApplicationZoneIndex, func(o client.Object) []string {
		if z := o.(*v1alpha1.SparkApplication).Status.Zone; z != "" {
			return []string{z}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing SparkApplications by zone: %w", err)
	}
	byObject := map[client.Object]cache.ByObject{
		&corev1.Node{}:                {Transform: trimNode, UnsafeDisableDeepCopy: ptrTrue()},
		&schedulingv1.PriorityClass{}: {UnsafeDisableDeepCopy: ptrTrue()},
	}
	if !r.opts.NodesOnDemand {
		byObject[&corev1.Pod{}] = cache.ByObject{Transform: trimPod, UnsafeDisableDeepCopy: ptrTrue()}
	}
	capacity, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(), Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), ByObject: byObject,
	})
	if err != nil {
		return fmt.Errorf("creating the profile resolver's node cache: %w", err)
	}
	if err := mgr.Add(capacity); err != nil {
		return err
	}
	r.reader, r.capacity = mgr.GetClient(), capacity
	r.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	return nil
}

// Resolve returns the effective application with status.profile and
// status.zone set and a note saying which profile and zone and why (for the
// Submitted event), or a *sparkapplication.Rejection naming what is wrong
// (ProfileNotFound, or InvalidSpec with the conflicts field by field).
func (r *Resolver) Resolve(ctx context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
	if r.reader == nil {
		return nil, "", errors.New("the profile resolver is not registered with the manager")
	}
	in, err := r.input(ctx, app)
	if err != nil {
		return nil, "", err
	}
	res, err := profile.Resolve(in)
	var notFound *profile.NotFoundError
	var ambiguous *profile.AmbiguousDefaultError
	var conflict *profile.ConflictError
	switch {
	case errors.As(err, &notFound), errors.As(err, &ambiguous):
		return nil, "", &sparkapplication.Rejection{Reason: v1alpha1.ReasonProfileNotFound, Message: err.Error()}
	case errors.As(err, &conflict):
		return nil, "", &sparkapplication.Rejection{Reason: v1alpha1.ReasonInvalidSpec, Message: err.Error()}
	case err != nil:
		return nil, "", err
	}
	effective := res.Application
	effective.Status.Zone = res.Zone
	effective.Status.Profile = res.Profile
	r.events.skipped(app, res)
	return effective, ResolvedNote(res), nil
}

// input gathers what resolution looks at from the caches.
func (r *Resolver) input(ctx context.Context, app *v1alpha1.SparkApplication) (profile.ResolveInput, error) {
	in := profile.ResolveInput{Application: app}
	profiles := &v1alpha1.SparkProfileList{}
	if err := r.reader.List(ctx, profiles); err != nil {
		return in, fmt.Errorf("listing SparkProfiles: %w", err)
	}
	in.Profiles = profiles.Items
	ns := &corev1.Namespace{}
	if err := r.reader.Get(ctx, client.ObjectKey{Name: app.Namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return in, fmt.Errorf("reading namespace %s: %w", app.Namespace, err)
	}
	in.NamespaceAnnotations = ns.Annotations
	classes := &schedulingv1.PriorityClassList{}
	if err := r.capacity.List(ctx, classes, client.UnsafeDisableDeepCopy); err != nil {
		return in, fmt.Errorf("listing PriorityClasses: %w", err)
	}
	existing := make(map[string]bool, len(classes.Items))
	for i := range classes.Items {
		existing[classes.Items[i].Name] = true
	}
	in.PriorityClassExists = func(name string) bool { return existing[name] }

	if app.Status.Zone != "" {
		// A retry keeps the zone of the first attempt.
		in.Zones = profile.ZoneInput{Chosen: app.Status.Zone}
		return in, nil
	}
	nodes := &corev1.NodeList{}
	if err := r.capacity.List(ctx, nodes, client.UnsafeDisableDeepCopy); err != nil {
		return in, fmt.Errorf("listing nodes: %w", err)
	}
	var pods []corev1.Pod
	if !r.opts.NodesOnDemand {
		list := &corev1.PodList{}
		if err := r.capacity.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return in, fmt.Errorf("listing pods: %w", err)
		}
		pods = list.Items
	}
	in.Zones = profile.ZoneInputFor("", nodes.Items, pods, nil, r.opts.NodesOnDemand)
	in.Zones.Zones = append(in.Zones.Zones, r.opts.Zones...)
	for _, z := range zonesOf(in.Zones) {
		apps := &v1alpha1.SparkApplicationList{}
		if err := r.reader.List(ctx, apps, client.MatchingFields{ApplicationZoneIndex: z}, client.UnsafeDisableDeepCopy); err != nil {
			return in, fmt.Errorf("listing applications in zone %s: %w", z, err)
		}
		for i := range apps.Items {
			if !apps.Items[i].Status.State.IsTerminal() {
				in.Zones.ApplicationsPerZone[z]++
			}
		}
	}
	return in, nil
}

// zonesOf lists the zones a ZoneInput knows.
func zonesOf(in profile.ZoneInput) []string {
	seen := map[string]bool{}
	var out []string
	add := func(z string) {
		if z != "" && !seen[z] {
			seen[z] = true
			out = append(out, z)
		}
	}
	for _, z := range in.Zones {
		add(z)
	}
	for _, n := range in.Nodes {
		add(n.Labels[profile.LabelZone])
	}
	return out
}

// trimNode keeps what zone choice reads of a node.
func trimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{
		TypeMeta:   node.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, ResourceVersion: node.ResourceVersion, Labels: node.Labels},
		Spec:       corev1.NodeSpec{Taints: node.Spec.Taints, Unschedulable: node.Spec.Unschedulable},
		Status:     corev1.NodeStatus{Allocatable: node.Status.Allocatable},
	}, nil
}

// trimPod keeps what free capacity needs: node, phase and requests.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, ResourceVersion: pod.ResourceVersion},
		Spec:       corev1.PodSpec{NodeName: pod.Spec.NodeName},
		Status:     corev1.PodStatus{Phase: pod.Status.Phase},
	}
	for _, c := range pod.Spec.Containers {
		trimmed.Spec.Containers = append(trimmed.Spec.Containers, corev1.Container{Resources: corev1.ResourceRequirements{Requests: c.Resources.Requests}})
	}
	return trimmed, nil
}

func ptrTrue() *bool { b := true; return &b }

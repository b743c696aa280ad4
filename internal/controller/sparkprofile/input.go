package sparkprofile

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/karpenter/pkg/apis"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// ClusterView is where resolution reads the cluster's nodes and how many
// applications each zone holds. The resolver reads its running totals
// (the shared cluster state and the zone load); `sparkplane explain` reads
// the API server (APIView).
type ClusterView interface {
	// Nodes are the cluster's nodes.
	Nodes(ctx context.Context) ([]corev1.Node, error)
	// NodeCapacities are the schedulable nodes with what is free on them now.
	NodeCapacities(ctx context.Context) ([]profile.NodeCapacity, error)
	// ApplicationsPerZone counts unfinished applications per recorded zone
	// (status.zone).
	ApplicationsPerZone(ctx context.Context) (map[string]int, error)
}

// Input gathers everything the resolution of app looks at: the
// SparkProfiles, its namespace's annotations, which PriorityClasses exist
// (through reader), and the zones (through view, as opts say). The resolver
// and `sparkplane explain` both call it, so explain shows the zone and
// priority classes the operator chooses.
func Input(ctx context.Context, reader client.Reader, view ClusterView, opts ResolverOptions, app *v1alpha1.SparkApplication) (profile.ResolveInput, error) {
	in := profile.ResolveInput{Application: app}
	profiles := &v1alpha1.SparkProfileList{}
	if err := reader.List(ctx, profiles); err != nil {
		return in, fmt.Errorf("listing SparkProfiles: %w", err)
	}
	in.Profiles = profiles.Items
	ns := &corev1.Namespace{}
	if err := reader.Get(ctx, client.ObjectKey{Name: app.Namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return in, fmt.Errorf("reading namespace %s: %w", app.Namespace, err)
	}
	in.NamespaceAnnotations = ns.Annotations
	classes := &schedulingv1.PriorityClassList{}
	if err := reader.List(ctx, classes, client.UnsafeDisableDeepCopy); err != nil {
		return in, fmt.Errorf("listing PriorityClasses: %w", err)
	}
	existing := make(map[string]bool, len(classes.Items))
	for i := range classes.Items {
		existing[classes.Items[i].Name] = true
	}
	in.PriorityClassExists = func(name string) bool { return existing[name] }
	in.Images = imagesInput(ctx, opts.Images, app)

	if app.Status.Zone != "" {
		// A retry keeps the zone of the first attempt.
		in.Zones = profile.ZoneInput{Chosen: app.Status.Zone}
		return in, nil
	}
	perZone, err := view.ApplicationsPerZone(ctx)
	if err != nil {
		return in, err
	}
	in.Zones = profile.ZoneInput{NodesOnDemand: opts.NodesOnDemand, ApplicationsPerZone: perZone}
	if opts.NodesOnDemand {
		nodes, err := view.Nodes(ctx)
		if err != nil {
			return in, err
		}
		in.Zones.Zones = profile.ZonesOf(nodes)
	} else {
		nodes, err := view.NodeCapacities(ctx)
		if err != nil {
			return in, err
		}
		in.Zones.Nodes = nodes
	}
	in.Zones.Zones = append(in.Zones.Zones, opts.Zones...)
	return in, nil
}

// APIView is a ClusterView that lists nodes, pods and applications from
// reader on every call: for one resolution (explain, tests), not for the
// operator's hot path.
type APIView struct {
	Reader client.Reader
}

// Nodes lists the nodes.
func (v APIView) Nodes(ctx context.Context) ([]corev1.Node, error) {
	nodes := &corev1.NodeList{}
	if err := v.Reader.List(ctx, nodes); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	return nodes.Items, nil
}

// NodeCapacities lists the nodes and every pod.
func (v APIView) NodeCapacities(ctx context.Context) ([]profile.NodeCapacity, error) {
	nodes, err := v.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	pods := &corev1.PodList{}
	if err := v.Reader.List(ctx, pods); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	return profile.NodeCapacities(nodes, pods.Items), nil
}

// ApplicationsPerZone lists every application and counts the unfinished
// ones per status.zone, as the resolver's running count does.
func (v APIView) ApplicationsPerZone(ctx context.Context) (map[string]int, error) {
	apps := &v1alpha1.SparkApplicationList{}
	if err := v.Reader.List(ctx, apps); err != nil {
		return nil, fmt.Errorf("listing SparkApplications: %w", err)
	}
	load := newZoneLoad()
	for i := range apps.Items {
		load.account(&apps.Items[i], false)
	}
	return load.perZone()
}

// GuessOptions are the resolver options an operator on this cluster most
// likely runs with, for explain's prediction before submission: nodes on
// demand when Karpenter NodePools exist (the operator's --nodes-on-demand),
// and no extra zones (its --zones). After submission explain shows what the
// operator recorded instead (status.resolution).
func GuessOptions(ctx context.Context, reader client.Reader) ResolverOptions {
	pools := &unstructured.UnstructuredList{}
	pools.SetGroupVersionKind(schema.GroupVersionKind{Group: apis.Group, Version: "v1", Kind: "NodePoolList"})
	if err := reader.List(ctx, pools, client.Limit(1)); err != nil {
		// No Karpenter (or no right to list its NodePools): nodes are
		// not created on demand, as far as explain can tell.
		return ResolverOptions{}
	}
	return ResolverOptions{NodesOnDemand: len(pools.Items) > 0}
}

// resolverView is the resolver's ClusterView: the shared cluster state and
// the zone load kept from application events.
type resolverView struct {
	*Resolver
}

func (v resolverView) Nodes(ctx context.Context) ([]corev1.Node, error) {
	return v.state.Nodes(ctx)
}

func (v resolverView) NodeCapacities(ctx context.Context) ([]profile.NodeCapacity, error) {
	return v.state.NodeCapacities(ctx)
}

func (v resolverView) ApplicationsPerZone(context.Context) (map[string]int, error) {
	return v.load.perZone()
}

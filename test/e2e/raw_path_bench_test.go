//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// rawPath is the benchmark's reference (a): it creates by hand, for each
// application, the objects the operator creates for it. The operator builds
// them from the application as its profile resolves (the cluster-default
// SparkProfile's settings, the zone, the image's platforms, the driver's
// ServiceAccount), which makes its driver pod and ConfigMaps larger than
// those of the application as written; the raw path builds from the same
// resolution, made once in the benchmark with the resolver's own code (as
// `sparkplane explain` makes it) and applied to each application, so that
// (a) and (b) write the same objects. checkSameObjects verifies it against
// what the operator created in (b).
type rawPath struct {
	cl client.Client
	// effective is a resolved application; its spec and status (zone,
	// profile, resolution) are applied to each application built.
	effective *v1alpha1.SparkApplication
}

// newRawPath resolves one application of the benchmark's kind in namespace
// ns, as the operator would.
func newRawPath(tb testing.TB, ctx context.Context, cl client.Client, ns string) *rawPath {
	tb.Helper()
	app := benchApplication(ns, "raw-resolution", unscheduled)
	opts := sparkprofile.GuessOptions(ctx, cl)
	opts.Images = sparkprofile.ImageOptions{Lookup: imageplatforms.New(imageplatforms.Options{})}
	in, err := sparkprofile.Input(ctx, cl, sparkprofile.APIView{Reader: cl}, opts, app)
	if err != nil {
		tb.Fatalf("reading what the raw path's applications resolve against: %v", err)
	}
	res, err := profile.Resolve(in)
	if err != nil {
		tb.Fatalf("resolving the raw path's application: %v", err)
	}
	effective := res.Application
	effective.Status.Zone = res.Zone
	effective.Status.Profile = res.Profile
	effective.Status.Resolution = res.Resolution()
	// The operator's own driver identity, which it gives a driver that
	// names no account (prepare creates it, as the operator does once per
	// namespace).
	effective.Spec.Driver.ServiceAccount = ptr.To(submit.DriverServiceAccount)
	return &rawPath{cl: cl, effective: effective}
}

// prepare creates in ns what the operator creates once per namespace before
// its first driver there: the driver's ServiceAccount, Role and RoleBinding.
func (r *rawPath) prepare(tb testing.TB, ctx context.Context, ns string) {
	tb.Helper()
	sa, role, binding := submit.DriverIdentity(ns)
	for _, obj := range []client.Object{role, binding, sa} {
		if err := r.cl.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			tb.Fatalf("creating the driver identity in %s: %v", ns, err)
		}
	}
}

// build is what the operator builds for app's first attempt.
func (r *rawPath) build(app *v1alpha1.SparkApplication) (*submit.Objects, error) {
	effective := r.effective.DeepCopy()
	effective.ObjectMeta = *app.ObjectMeta.DeepCopy()
	return submit.Build(effective, submit.Options{Attempt: 1})
}

// create does by hand what the operator does for one application.
func (r *rawPath) create(ctx context.Context, app *v1alpha1.SparkApplication) error {
	if err := r.cl.Create(ctx, app); err != nil {
		return err
	}
	return r.finish(ctx, app)
}

// createTimed does create and returns when the application's create
// returned (the start of its created -> driver pod latency).
func (r *rawPath) createTimed(ctx context.Context, app *v1alpha1.SparkApplication) (time.Time, error) {
	if err := r.cl.Create(ctx, app); err != nil {
		return time.Time{}, err
	}
	created := time.Now()
	return created, r.finish(ctx, app)
}

// finish does the rest of create once the application exists: the driver
// pod, its ConfigMaps and Service, and one status write.
func (r *rawPath) finish(ctx context.Context, app *v1alpha1.SparkApplication) error {
	objs, err := r.build(app)
	if err != nil {
		return err
	}
	if err := r.cl.Create(ctx, objs.DriverPod); err != nil {
		return err
	}
	objs.OwnByDriver(objs.DriverPod)
	for _, obj := range objs.Dependents() {
		if err := r.cl.Create(ctx, obj.(client.Object)); err != nil {
			return err
		}
	}
	app.Status.State = v1alpha1.StatePending
	app.Status.Attempts = 1
	app.Status.SparkApplicationID = objs.Names.AppID
	app.Status.DriverInfo = v1alpha1.DriverInfo{PodName: objs.Names.DriverPod, WebUIServiceName: objs.Names.DriverService}
	app.Status.Conditions = []metav1.Condition{{
		Type: v1alpha1.ConditionSubmitted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDriverCreated,
		Message: "driver pod " + objs.Names.DriverPod, LastTransitionTime: metav1.Now(),
	}}
	// Written as the operator writes a status whose conditions change: an
	// update based on the resourceVersion read (here the create's).
	return r.cl.Status().Update(ctx, app)
}

// checkSameObjects compares the raw path's objects for the application
// name in ns with those the operator created for it, and says so: the
// driver pod's spec, labels and annotations (the raw one as the API server
// would store it: a dry-run create, so admission and defaults apply to
// both), and each ConfigMap's data. A difference fails the benchmark: the
// ratio would then compare different objects.
func (r *rawPath) checkSameObjects(tb testing.TB, ctx context.Context, ns, name string) string {
	tb.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := r.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		tb.Fatalf("reading application %s/%s: %v", ns, name, err)
	}
	objs, err := r.build(app)
	if err != nil {
		tb.Fatalf("building the raw path's objects for %s: %v", name, err)
	}
	var diffs []string
	operatorPod := &corev1.Pod{}
	if err := r.cl.Get(ctx, client.ObjectKeyFromObject(objs.DriverPod), operatorPod); err != nil {
		tb.Fatalf("reading the operator's driver pod %s: %v", objs.DriverPod.Name, err)
	}
	// The operator's pod holds the name, and a dry run of a name in use is
	// refused: the raw one is compared under a free name.
	rawPod := objs.DriverPod.DeepCopy()
	rawPod.Name += "-dry-run"
	if err := r.cl.Create(ctx, rawPod, client.DryRunAll); err != nil {
		tb.Fatalf("dry-run create of the raw path's driver pod: %v", err)
	}
	diffs = append(diffs, differentFields("driver pod spec", podSpecForComparison(operatorPod), podSpecForComparison(rawPod))...)
	diffs = append(diffs, differentFields("driver pod labels", operatorPod.Labels, rawPod.Labels)...)
	diffs = append(diffs, differentFields("driver pod annotations", operatorPod.Annotations, rawPod.Annotations)...)
	var bytes int
	for _, obj := range objs.Dependents() {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		stored := &corev1.ConfigMap{}
		if err := r.cl.Get(ctx, client.ObjectKeyFromObject(cm), stored); err != nil {
			tb.Fatalf("reading the operator's ConfigMap %s: %v", cm.Name, err)
		}
		for _, v := range cm.Data {
			bytes += len(v)
		}
		diffs = append(diffs, differentFields("ConfigMap "+cm.Name+" data", stored.Data, cm.Data)...)
	}
	if len(diffs) > 0 {
		tb.Fatalf("the raw path's objects for %s differ from the operator's, so (a) and (b) would not write the same objects:\n  %s", name, strings.Join(diffs, "\n  "))
	}
	return fmt.Sprintf("the raw path's objects for %s are the operator's: driver pod spec, labels and annotations, and the data of its ConfigMaps (%d bytes)", name, bytes)
}

// podSpecForComparison is a pod's spec without what differs between two
// creates of the same pod: the service account token's volume, whose name
// the API server draws at random, and the node.
func podSpecForComparison(pod *corev1.Pod) map[string]any {
	spec := pod.Spec.DeepCopy()
	spec.NodeName = ""
	keep := func(name string) bool { return !strings.HasPrefix(name, "kube-api-access-") }
	var volumes []corev1.Volume
	for _, v := range spec.Volumes {
		if keep(v.Name) {
			volumes = append(volumes, v)
		}
	}
	spec.Volumes = volumes
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			var mounts []corev1.VolumeMount
			for _, m := range list[i].VolumeMounts {
				if keep(m.Name) {
					mounts = append(mounts, m)
				}
			}
			list[i].VolumeMounts = mounts
		}
	}
	data, _ := json.Marshal(spec)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

// differentFields names the top-level keys whose values differ.
func differentFields[V any](what string, want, got map[string]V) []string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		a, _ := json.Marshal(want[k])
		b, _ := json.Marshal(got[k])
		if string(a) != string(b) {
			diffs = append(diffs, fmt.Sprintf("%s %s: operator %s, raw path %s", what, k, a, b))
		}
	}
	sort.Strings(diffs)
	return diffs
}

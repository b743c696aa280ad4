package sparkprofile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var testZones = []string{"zone-a", "zone-b"}

// startOperator runs the operator's controllers as `sparkplane operator`
// does, with nodes on demand in testZones (envtest has no nodes). Every
// resolution the operator makes is also made the way `sparkplane explain`
// makes it (sparkprofile.Input over the API server), and the two must agree
// on the zone and the priority classes.
func startOperator(t *testing.T) {
	t.Helper()
	startOperatorWith(t, sparkprofile.ResolverOptions{NodesOnDemand: true, Zones: testZones}, nil)
}

// startOperatorWith is startOperator with opts; took, when set, is told how
// long each resolution took.
func startOperatorWith(t *testing.T, opts sparkprofile.ResolverOptions, took func(app string, d time.Duration)) {
	t.Helper()
	env.ShuffleStorageClass(t, profile.DefaultShuffleStorageClass)
	resolver := sparkprofile.NewResolver(opts)
	env.StartManager(t, func(mgr manager.Manager) error {
		if err := resolver.Register(mgr); err != nil {
			return err
		}
		resolve := func(ctx context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
			explained := app.DeepCopy()
			start := time.Now()
			effective, note, err := resolver.Resolve(ctx, app)
			if took != nil {
				took(app.Name, time.Since(start))
			}
			explainAgrees(t, ctx, opts, explained, effective, err)
			return effective, note, err
		}
		return controller.Register(mgr, controller.Options{Profiles: opts, SparkApplication: sparkapplication.Options{Resolve: resolve}})
	})
}

// explainAgrees resolves app the way `sparkplane explain` does and fails the
// test unless it agrees with what the operator's resolver decided
// (effective, or the error opErr).
func explainAgrees(t *testing.T, ctx context.Context, opts sparkprofile.ResolverOptions, app, effective *v1alpha1.SparkApplication, opErr error) {
	t.Helper()
	in, err := sparkprofile.Input(ctx, env.Client, sparkprofile.APIView{Reader: env.Client}, opts, app)
	if err != nil {
		t.Errorf("explain's input for %s: %v", app.Name, err)
		return
	}
	res, err := profile.Resolve(in)
	if (err == nil) != (opErr == nil) {
		t.Errorf("%s: explain resolves with error %v, the operator with %v", app.Name, err, opErr)
		return
	}
	if err != nil {
		return
	}
	got := res.Resolution()
	want := effective.Status.Resolution
	if got.Zone != want.Zone || got.DriverPriorityClass != want.DriverPriorityClass || got.ExecutorPriorityClass != want.ExecutorPriorityClass {
		t.Errorf("%s: explain says zone %q, priority classes %q/%q; the operator chose %q, %q/%q",
			app.Name, got.Zone, got.DriverPriorityClass, got.ExecutorPriorityClass, want.Zone, want.DriverPriorityClass, want.ExecutorPriorityClass)
	}
	if diff := cmp.Diff(want.Images, got.Images, cmpopts.IgnoreFields(v1alpha1.ImagePlatforms{}, "Message")); diff != "" || !slices.Equal(want.ExcludedTiers, got.ExcludedTiers) {
		t.Errorf("%s: explain finds images %+v excluding tiers %v; the operator %+v excluding %v", app.Name, got.Images, got.ExcludedTiers, want.Images, want.ExcludedTiers)
	}
}

// installProfile creates a copy of a built-in profile under name, and the
// PriorityClasses the built-in profiles name.
func installProfile(t *testing.T, builtin, name string) *v1alpha1.SparkProfile {
	t.Helper()
	ctx := context.Background()
	for class, value := range map[string]int32{v1alpha1.PriorityClassDriver: 1000, v1alpha1.PriorityClassExecutor: 100} {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Value: value}
		if err := env.Client.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, p := range profile.BuiltinProfiles() {
		if p.Name != builtin {
			continue
		}
		p.Name = name
		delete(p.Labels, v1alpha1.ClusterDefaultProfileLabel)
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, p) })
		return p
	}
	t.Fatalf("no built-in profile %s", builtin)
	return nil
}

func getApp(t *testing.T, ns, name string) *v1alpha1.SparkApplication {
	t.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestDefaultProfileSubmission: an application on (a copy of) the default
// profile gets a driver pod that requires on-demand capacity and one zone,
// an executor template that prefers the four tiers in strictly decreasing
// weight and requires the same zone, spark.properties with decommissioning
// and PVC reuse on, and status.profile/status.zone recorded. Editing the
// profile afterwards changes none of it.
func TestDefaultProfileSubmission(t *testing.T) {
	startOperator(t)
	ctx := context.Background()
	prof := installProfile(t, profile.CostOptimized, "itest-cost")
	ns := env.Namespace(t)
	app := newApplication(ns, "placed")
	app.Spec.Profile = prof.Name
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "submission", func() (bool, string) {
		got := getApp(t, ns, "placed")
		return got.Status.State == v1alpha1.StatePending, fmt.Sprintf("state %q conditions %v", got.Status.State, got.Status.Conditions)
	})
	got := getApp(t, ns, "placed")
	if got.Status.Profile == nil || *got.Status.Profile != (v1alpha1.ProfileReference{Name: "itest-cost", Generation: 1}) {
		t.Errorf("status.profile = %+v, want itest-cost at generation 1", got.Status.Profile)
	}
	zone := got.Status.Zone
	if zone != "zone-a" && zone != "zone-b" {
		t.Fatalf("status.zone = %q, want one of %v", zone, testZones)
	}
	if r := got.Status.Resolution; r == nil || r.Zone != zone || r.DriverPriorityClass != v1alpha1.PriorityClassDriver ||
		r.ExecutorPriorityClass != v1alpha1.PriorityClassExecutor || len(r.ZoneScores) != len(testZones) {
		t.Errorf("status.resolution = %+v, want zone %s, the built-in priority classes and a score per zone", r, zone)
	}
	// The status is the record of the resolution, as explain reads it (a
	// submission writes no event).
	if note := profile.ResolutionNote(got.Status.Profile, got.Status.Resolution, got.Name); !strings.Contains(note, sparkprofile.ResolvedPrefix+"profile itest-cost at generation 1") || !strings.Contains(note, "zone "+zone+": ") {
		t.Errorf("resolution note from the status = %q, want profile itest-cost and zone %s with its reason", note, zone)
	}

	names := submit.NamesFor(got, 1)
	driver := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.DriverPod}, driver); err != nil {
		t.Fatal(err)
	}
	required := driver.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(required) != 1 || profile.FormatTerm(required[0]) != "karpenter.sh/capacity-type In [on-demand], topology.kubernetes.io/zone In ["+zone+"]" {
		t.Errorf("driver required affinity = %v", required)
	}
	if driver.Annotations[karpv1.DoNotDisruptAnnotationKey] != "true" || driver.Spec.PriorityClassName != v1alpha1.PriorityClassDriver {
		t.Errorf("driver annotations %v priority %q", driver.Annotations, driver.Spec.PriorityClassName)
	}

	templateCM := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.PodTemplateConfigMap}, templateCM); err != nil {
		t.Fatal(err)
	}
	template := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(templateCM.Data[submit.PodTemplateKey]), template); err != nil {
		t.Fatal(err)
	}
	na := template.Spec.Affinity.NodeAffinity
	if terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) != 1 || profile.FormatTerm(terms[0]) != "topology.kubernetes.io/zone In ["+zone+"]" {
		t.Errorf("executor required affinity = %v", terms)
	}
	wantTiers := []string{
		"kubernetes.io/arch In [arm64], karpenter.sh/capacity-type In [spot]",
		"kubernetes.io/arch In [amd64], karpenter.sh/capacity-type In [spot]",
		"kubernetes.io/arch In [arm64], karpenter.sh/capacity-type In [on-demand]",
		"kubernetes.io/arch In [amd64], karpenter.sh/capacity-type In [on-demand]",
	}
	preferred := na.PreferredDuringSchedulingIgnoredDuringExecution
	if len(preferred) != len(wantTiers) {
		t.Fatalf("executor preferred terms = %v", preferred)
	}
	for i, term := range preferred {
		if profile.FormatTerm(term.Preference) != wantTiers[i] {
			t.Errorf("tier %d = %s, want %s", i, profile.FormatTerm(term.Preference), wantTiers[i])
		}
		if i > 0 && term.Weight >= preferred[i-1].Weight {
			t.Errorf("tier %d weight %d not below tier %d's %d", i, term.Weight, i-1, preferred[i-1].Weight)
		}
	}
	if template.Spec.TerminationGracePeriodSeconds == nil || *template.Spec.TerminationGracePeriodSeconds > 120 {
		t.Errorf("executor grace = %v, want within the 120 s notice", template.Spec.TerminationGracePeriodSeconds)
	}

	confCM := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.ConfConfigMap}, confCM); err != nil {
		t.Fatal(err)
	}
	properties := confCM.Data[submit.SparkConfFile]
	for _, line := range []string{
		"spark.decommission.enabled=true",
		"spark.storage.decommission.shuffleBlocks.enabled=true",
		"spark.kubernetes.driver.ownPersistentVolumeClaim=true",
		"spark.kubernetes.driver.reusePersistentVolumeClaim=true",
		"spark.shuffle.sort.io.plugin.class=org.apache.spark.shuffle.KubernetesLocalDiskShuffleDataIO",
		"spark.dynamicAllocation.shuffleTracking.enabled=true",
	} {
		if !strings.Contains(properties, line) {
			t.Errorf("spark.properties lacks %s:\n%s", line, properties)
		}
	}

	// The profile controller counts the application.
	testenv.Eventually(t, testenv.Timeout, "the profile counts one application", func() (bool, string) {
		p := &v1alpha1.SparkProfile{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(prof), p); err != nil {
			return false, err.Error()
		}
		return p.Status.Applications == 1, toString(p.Status)
	})

	// Editing the profile changes nothing already submitted.
	patch := client.MergeFrom(prof.DeepCopy())
	prof.Spec.Executor.Tiers = prof.Spec.Executor.Tiers[2:]
	prof.Spec.Driver.CapacityType = karpv1.CapacityTypeSpot
	if err := env.Client.Patch(ctx, prof, patch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "profile generation 2 observed", func() (bool, string) {
		p := &v1alpha1.SparkProfile{}
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(prof), p)
		return p.Status.ObservedGeneration == 2, toString(p.Status)
	})
	after := getApp(t, ns, "placed")
	if after.Status.Profile == nil || after.Status.Profile.Generation != 1 || after.Status.Zone != zone {
		t.Errorf("after the edit status.profile=%+v zone=%q, want generation 1 and %q", after.Status.Profile, after.Status.Zone, zone)
	}
	again := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(driver), again); err != nil {
		t.Fatal(err)
	}
	if again.UID != driver.UID || profile.FormatTerm(again.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]) != profile.FormatTerm(required[0]) {
		t.Error("the driver pod changed after the profile was edited")
	}
}

func acceptedCondition(app *v1alpha1.SparkApplication) *metav1.Condition {
	return meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionAccepted)
}

// TestMissingProfileFails: an application naming a profile that does not
// exist ends Failed with a message listing the profiles that exist.
func TestMissingProfileFails(t *testing.T) {
	startOperator(t)
	ctx := context.Background()
	installProfile(t, profile.OnDemand, "itest-existing")
	ns := env.Namespace(t)
	app := newApplication(ns, "lost")
	app.Spec.Profile = "gpu-large"
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "Failed with ProfileNotFound", func() (bool, string) {
		got := getApp(t, ns, "lost")
		c := acceptedCondition(got)
		return got.Status.State == v1alpha1.StateFailed && c != nil && c.Reason == v1alpha1.ReasonProfileNotFound,
			fmt.Sprintf("state %q conditions %v", got.Status.State, got.Status.Conditions)
	})
	msg := acceptedCondition(getApp(t, ns, "lost")).Message
	for _, want := range []string{`SparkProfile "gpu-large" named by spec.profile does not exist`, "itest-existing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns)); err != nil || len(pods.Items) != 0 {
		t.Errorf("pods created for a rejected application: %d (%v)", len(pods.Items), err)
	}
}

// TestConflictFails: an application that requires amd64 on a profile that
// forbids it, and puts its driver on spot, ends Failed naming both fields.
func TestConflictFails(t *testing.T) {
	startOperator(t)
	ctx := context.Background()
	prof := installProfile(t, profile.CostOptimized, "itest-arm-only")
	patch := client.MergeFrom(prof.DeepCopy())
	prof.Spec.Executor.Architectures = []string{"arm64"}
	if err := env.Client.Patch(ctx, prof, patch); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	app := newApplication(ns, "amd64-only")
	app.Spec.Profile = prof.Name
	app.Spec.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
	app.Spec.Driver.NodeSelector = map[string]string{karpv1.CapacityTypeLabelKey: karpv1.CapacityTypeSpot}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "Failed with the conflicts", func() (bool, string) {
		got := getApp(t, ns, "amd64-only")
		c := acceptedCondition(got)
		return got.Status.State == v1alpha1.StateFailed && c != nil && c.Reason == v1alpha1.ReasonInvalidSpec,
			fmt.Sprintf("state %q conditions %v", got.Status.State, got.Status.Conditions)
	})
	msg := acceptedCondition(getApp(t, ns, "amd64-only")).Message
	for _, want := range []string{
		"spec.nodeSelector[kubernetes.io/arch]=amd64 conflicts with profile itest-arm-only executor.architectures=[arm64]",
		"spec.driver.nodeSelector[karpenter.sh/capacity-type]=spot conflicts with profile itest-arm-only driver.capacityType=on-demand",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q\nlacks %q", msg, want)
		}
	}
}

// TestDefaultProfileSelection: without spec.profile an application gets its
// namespace's sparkplane.io/default-profile, else the profile labelled
// sparkplane.io/cluster-default=true.
func TestDefaultProfileSelection(t *testing.T) {
	startOperator(t)
	ctx := context.Background()
	installProfile(t, profile.OnDemand, "itest-ns-default")
	clusterDefault := installProfile(t, profile.NVMeShuffle, "itest-cluster-default")
	patch := client.MergeFrom(clusterDefault.DeepCopy())
	clusterDefault.Labels[v1alpha1.ClusterDefaultProfileLabel] = "true"
	if err := env.Client.Patch(ctx, clusterDefault, patch); err != nil {
		t.Fatal(err)
	}

	annotated := env.Namespace(t)
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: annotated}, ns); err != nil {
		t.Fatal(err)
	}
	nsPatch := client.MergeFrom(ns.DeepCopy())
	ns.Annotations = map[string]string{v1alpha1.NamespaceDefaultProfileAnnotation: "itest-ns-default"}
	if err := env.Client.Patch(ctx, ns, nsPatch); err != nil {
		t.Fatal(err)
	}
	plain := env.Namespace(t)

	for _, tc := range []struct{ ns, want string }{{annotated, "itest-ns-default"}, {plain, "itest-cluster-default"}} {
		if err := env.Client.Create(ctx, newApplication(tc.ns, "unnamed")); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, testenv.Timeout, "resolved with "+tc.want, func() (bool, string) {
			got := getApp(t, tc.ns, "unnamed")
			return got.Status.Profile != nil && got.Status.Profile.Name == tc.want,
				fmt.Sprintf("state %q profile %+v conditions %v", got.Status.State, got.Status.Profile, got.Status.Conditions)
		})
	}
	// The nvme-shuffle copy put its node selector on the executors.
	got := getApp(t, plain, "unnamed")
	templateCM := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: plain, Name: submit.NamesFor(got, 1).PodTemplateConfigMap}, templateCM); err != nil {
		t.Fatal(err)
	}
	executor := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(templateCM.Data[submit.PodTemplateKey]), executor); err != nil {
		t.Fatal(err)
	}
	if executor.Spec.NodeSelector["sparkplane.io/local-nvme"] != "raid0" {
		t.Errorf("executor template lacks the NVMe node selector:\n%s", templateCM.Data[submit.PodTemplateKey])
	}
}

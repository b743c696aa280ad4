package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// explainProfile creates a copy of the built-in cost-optimized profile under
// another name (cluster-scoped objects are shared by the package's tests).
func explainProfile(t *testing.T, name string) *v1alpha1.SparkProfile {
	t.Helper()
	p := profile.BuiltinProfiles()[0]
	p.Name = name
	delete(p.Labels, v1alpha1.ClusterDefaultProfileLabel)
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
	return p
}

func explainApp(t *testing.T, ns, name, profileName string) *v1alpha1.SparkApplication {
	t.Helper()
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark:3.5.3")
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
	app.Spec.Profile = profileName
	app.Spec.SparkConf = map[string]string{"spark.sql.shuffle.partitions": "64"}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	return app
}

// builtinPriorityClasses creates the PriorityClasses the built-in profiles
// name: the operator drops a profile's priority class the cluster lacks, and
// explain, gathering the same input, says so too.
func builtinPriorityClasses(t *testing.T) {
	t.Helper()
	for class, value := range map[string]int32{v1alpha1.PriorityClassDriver: 1000, v1alpha1.PriorityClassExecutor: 100} {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Value: value}
		if err := env.Client.Create(context.Background(), pc); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func TestExplainBeforeSubmission(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	builtinPriorityClasses(t)
	explainProfile(t, "explain-before")
	explainApp(t, ns, "pi", "explain-before")

	r := sparkplane(t, kc, "", "explain", "pi")
	if r.err != nil {
		t.Fatalf("explain: %v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{
		"Profile:        explain-before at generation 1 (by spec.profile)",
		"Zone:           (none)",
		"no zone is known",
		"spec.sparkConf[spark.decommission.enabled]",
		"profile explain-before at generation 1 (decommission.enabled)",
		"spec.sparkConf[spark.sql.shuffle.partitions]                                          64",
		"Driver placement (effective spec (not submitted yet)):",
		"required:        karpenter.sh/capacity-type In [on-demand]",
		"weight 100: kubernetes.io/arch In [arm64], karpenter.sh/capacity-type In [spot]",
		"tolerations:     sparkplane.io/driver=true:NoSchedule",
		"priority class:  sparkplane-executor",
	} {
		if !strings.Contains(collapseSpaces(r.stdout), collapseSpaces(want)) {
			t.Errorf("explain output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = sparkplane(t, kc, "", "explain", "pi", "-o", "json")
	if r.err != nil {
		t.Fatalf("explain -o json: %v\n%s", r.err, r.stderr)
	}
	var ex cli.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatalf("decoding -o json: %v\n%s", err, r.stdout)
	}
	found := map[string]profile.Setting{}
	for _, s := range ex.Settings {
		found[s.Field] = s
	}
	if s := found["spec.sparkConf[spark.kubernetes.driver.reusePersistentVolumeClaim]"]; s.Value != "true" || s.Source.Profile != "explain-before" || s.Source.Generation != 1 {
		t.Errorf("PVC reuse setting = %+v, want true from explain-before at generation 1", s)
	}
	if s := found["spec.sparkConf[spark.sql.shuffle.partitions]"]; s.Source.Kind != profile.SourceApplication {
		t.Errorf("application's own sparkConf = %+v, want source application", s)
	}
	if len(ex.Executor.Preferred) != 4 {
		t.Errorf("executor preferred terms = %v, want the four tiers", ex.Executor.Preferred)
	}
}

// collapseSpaces makes table output comparable whatever the column widths.
func collapseSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestExplainMissingProfile(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	explainProfile(t, "explain-existing")
	explainApp(t, ns, "lost", "no-such-profile")
	r := sparkplane(t, kc, "", "explain", "lost")
	if r.err == nil {
		t.Fatalf("explain succeeded; want the missing profile named:\n%s", r.stdout)
	}
	for _, want := range []string{`SparkProfile "no-such-profile" named by spec.profile does not exist`, "explain-existing"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r = sparkplane(t, kc, "", "explain", "absent"); r.err == nil || !strings.Contains(r.stderr, `"absent" not found`) {
		t.Errorf("explain of a missing application: err=%v stderr=%s", r.err, r.stderr)
	}
	if r = sparkplane(t, kc, "", "explain", "lost", "-o", "yaml"); r.err == nil || !strings.Contains(r.stderr, "allowed formats are: json") {
		t.Errorf("explain -o yaml: err=%v stderr=%s", r.err, r.stderr)
	}
}

// TestExplainAfterSubmission: once submitted, placement comes from the
// driver pod and the executor pod template, and a profile edited since is
// called out.
func TestExplainAfterSubmission(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	builtinPriorityClasses(t)
	prof := explainProfile(t, "explain-after")
	app := explainApp(t, ns, "submitted", "explain-after")

	res, err := profile.Resolve(profile.ResolveInput{Application: app, Profiles: []v1alpha1.SparkProfile{*prof},
		Zones: profile.ZoneInput{NodesOnDemand: true, Zones: []string{"zone-a", "zone-b"}}})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := submit.Build(res.Application, submit.Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, objs.DriverPod); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, objs.PodTemplateConfigMap); err != nil {
		t.Fatal(err)
	}
	// What the operator writes at submission, status.resolution included.
	patch := client.MergeFrom(app.DeepCopy())
	app.Status.Attempts = 1
	app.Status.Zone = res.Zone
	app.Status.Profile = res.Profile
	app.Status.Resolution = res.Resolution()
	app.Status.DriverInfo.PodName = objs.DriverPod.Name
	if err := env.Client.Status().Patch(ctx, app, patch); err != nil {
		t.Fatal(err)
	}
	// The note explain derives from the status (the operator writes no
	// event for a submission).
	note := sparkprofile.ResolvedNote(res)
	// The profile is edited after submission.
	ppatch := client.MergeFrom(prof.DeepCopy())
	prof.Spec.Executor.PriorityClassName = "edited-later"
	if err := env.Client.Patch(ctx, prof, ppatch); err != nil {
		t.Fatal(err)
	}

	text := sparkplane(t, kc, "", "explain", "submitted")
	t.Logf("sparkplane explain submitted:\n%s", text.stdout)
	r := sparkplane(t, kc, "", "explain", "submitted", "-o", "json")
	if r.err != nil {
		t.Fatalf("explain: %v\n%s", r.err, r.stderr)
	}
	var ex cli.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Zone != res.Zone || !strings.Contains(ex.ZoneReason, "status.zone") {
		t.Errorf("zone %q (%s), want the recorded %q", ex.Zone, ex.ZoneReason, res.Zone)
	}
	if ex.Resolved != note || !strings.Contains(note, "zone "+res.Zone+": "+res.ZoneReason) {
		t.Errorf("resolvedAtSubmission = %q, want the resolution note %q", ex.Resolved, note)
	}
	if ex.Resolution == nil || ex.Resolution.Zone != res.Zone || len(ex.Resolution.ZoneScores) != 2 || ex.Resolution.ExecutorPriorityClass != v1alpha1.PriorityClassExecutor {
		t.Errorf("resolution = %+v, want status.resolution as written at submission", ex.Resolution)
	}
	if ex.Driver.Source != "driver pod "+objs.DriverPod.Name || !strings.HasPrefix(ex.Executor.Source, "executor pod template in ConfigMap") {
		t.Errorf("placement sources = %q, %q; want the driver pod and the template", ex.Driver.Source, ex.Executor.Source)
	}
	// The template keeps what the attempt got, whatever the profile says now.
	if ex.Executor.PriorityClassName != v1alpha1.PriorityClassExecutor {
		t.Errorf("executor template priority = %q, want %q", ex.Executor.PriorityClassName, v1alpha1.PriorityClassExecutor)
	}
	wantZone := "topology.kubernetes.io/zone In [" + res.Zone + "]"
	if len(ex.Executor.Required) != 1 || !strings.Contains(ex.Executor.Required[0], wantZone) {
		t.Errorf("executor required = %v, want %s", ex.Executor.Required, wantZone)
	}
	// Two warnings: the edited profile, and its executor PriorityClass the
	// cluster lacks, which the operator would leave out too.
	joined := strings.Join(ex.Warnings, "\n")
	if len(ex.Warnings) != 2 || !strings.Contains(joined, "submitted with profile explain-after at generation 1") ||
		!strings.Contains(joined, "PriorityClass edited-later (executor.priorityClassName) does not exist") {
		t.Errorf("warnings = %q, want one about the edited profile and one about the missing PriorityClass", ex.Warnings)
	}
}

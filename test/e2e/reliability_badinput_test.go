//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// badInput is one malformed object and what is wrong with it.
type badInput struct {
	what string
	obj  *unstructured.Unstructured
}

func runnableSpecMap() map[string]any {
	return map[string]any{
		"type": "Scala", "sparkVersion": "3.5.3", "image": "apache/spark:3.5.3",
		"mainClass": "org.apache.spark.examples.SparkPi", "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
		"driver": map[string]any{"cores": int64(1), "memory": "1g"}, "executor": map[string]any{"cores": int64(1), "memory": "1g", "instances": int64(1)},
	}
}

// badApplications are SparkApplications wrong in n different ways, cycling
// through wrong types, huge strings, a 10,000-entry sparkConf, a 1 MiB
// argument and specs the schema accepts but that cannot run.
func badApplications(ns string, n int) []badInput {
	huge := func(size int) string { return strings.Repeat("x", size) }
	bigConf := map[string]any{}
	for i := 0; i < 10000; i++ {
		bigConf[fmt.Sprintf("spark.sparkplane.reliability.key%05d", i)] = huge(100)
	}
	mutations := []struct {
		what string
		mut  func(spec map[string]any)
	}{
		{"executor.instances is a string", func(s map[string]any) { s["executor"].(map[string]any)["instances"] = "ten" }},
		{"driver.cores is a string", func(s map[string]any) { s["driver"].(map[string]any)["cores"] = "one" }},
		{"sparkConf is a list", func(s map[string]any) { s["sparkConf"] = []any{"spark.a=b"} }},
		{"arguments is a string", func(s map[string]any) { s["arguments"] = "1000" }},
		{"type is a number", func(s map[string]any) { s["type"] = int64(7) }},
		{"type is not an enum value", func(s map[string]any) { s["type"] = "Cobol" }},
		{"timeToLiveSeconds is a string", func(s map[string]any) { s["timeToLiveSeconds"] = "soon" }},
		{"driver is a string", func(s map[string]any) { s["driver"] = "big" }},
		{"restartPolicy.type is unknown", func(s map[string]any) { s["restartPolicy"] = map[string]any{"type": "Sometimes"} }},
		{"a 200 KiB image", func(s map[string]any) { s["image"] = huge(200 << 10) }},
		{"a 200 KiB mainClass", func(s map[string]any) { s["mainClass"] = huge(200 << 10) }},
		{"a 1 MiB mainApplicationFile", func(s map[string]any) { s["mainApplicationFile"] = huge(1 << 20) }},
		{"10,000 sparkConf entries (1.3 MB)", func(s map[string]any) { s["sparkConf"] = bigConf }},
		{"a 1 MiB argument", func(s map[string]any) { s["arguments"] = []any{huge(1 << 20)} }},
		{"driver.memory is not a size", func(s map[string]any) { s["driver"].(map[string]any)["memory"] = "lots" }},
		{"mainClass on a Python application", func(s map[string]any) { s["type"] = "Python" }},
		{"no mainApplicationFile", func(s map[string]any) { delete(s, "mainApplicationFile") }},
		{"sparkConf sets spark.master", func(s map[string]any) { s["sparkConf"] = map[string]any{"spark.master": "local[*]"} }},
		{"an unknown profile", func(s map[string]any) { s["profile"] = "does-not-exist" }},
		{"a volume mount without its volume", func(s map[string]any) {
			s["driver"].(map[string]any)["volumeMounts"] = []any{map[string]any{"name": "data", "mountPath": "/data"}}
		}},
		{"executor.instances is negative", func(s map[string]any) { s["executor"].(map[string]any)["instances"] = int64(-5) }},
		{"driver.coreLimit is not a quantity", func(s map[string]any) { s["driver"].(map[string]any)["coreLimit"] = "fast" }},
		{"a reserved executor label", func(s map[string]any) {
			s["executor"].(map[string]any)["labels"] = map[string]any{"spark-role": "driver"}
		}},
	}
	var out []badInput
	for i := 0; i < n; i++ {
		m := mutations[i%len(mutations)]
		spec := runnableSpecMap()
		m.mut(spec)
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1alpha1.GroupVersion.String(), "kind": "SparkApplication",
			"metadata": map[string]any{"name": fmt.Sprintf("bad-%03d", i), "namespace": ns},
			"spec":     spec,
		}}
		out = append(out, badInput{what: m.what, obj: obj})
	}
	return out
}

// badProfiles are SparkProfiles wrong in n different ways.
func badProfiles(n int, prefix string) []badInput {
	mutations := []struct {
		what string
		spec map[string]any
		name string
	}{
		{"executor is a string", map[string]any{"executor": "anywhere"}, ""},
		{"a tier with nothing in it", map[string]any{"executor": map[string]any{"tiers": []any{map[string]any{"name": "empty"}}}}, ""},
		{"shuffle storage type unknown", map[string]any{"shuffleStorage": map[string]any{"type": "floppy"}}, ""},
		{"pvc settings on an emptyDir", map[string]any{"shuffleStorage": map[string]any{"type": "emptyDir", "persistentVolumeClaim": map[string]any{}}}, ""},
		{"min executors above max", map[string]any{"defaults": map[string]any{"dynamicAllocation": map[string]any{"minExecutors": int64(10), "maxExecutors": int64(2)}}}, ""},
		{"zone mode unknown", map[string]any{"zone": map[string]any{"mode": "Everywhere"}}, ""},
		{"a 10-minute decommission grace", map[string]any{"decommission": map[string]any{"executorTerminationGracePeriodSeconds": int64(600)}}, ""},
		{"11 tiers", map[string]any{"executor": map[string]any{"tiers": elevenTiers()}}, ""},
		{"a 300-character name", map[string]any{}, strings.Repeat("p", 300)},
		{"an upper-case name", map[string]any{}, "Not_A_Name"},
		{"spec is a list", nil, ""},
	}
	var out []badInput
	for i := 0; i < n; i++ {
		m := mutations[i%len(mutations)]
		name := fmt.Sprintf("%s-%03d", prefix, i)
		if m.name != "" {
			name = m.name + fmt.Sprint(i)
		}
		var spec any = m.spec
		if m.spec == nil {
			spec = []any{"x"}
		}
		out = append(out, badInput{what: m.what, obj: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1alpha1.GroupVersion.String(), "kind": "SparkProfile",
			"metadata": map[string]any{"name": name},
			"spec":     spec,
		}}})
	}
	return out
}

func elevenTiers() []any {
	var tiers []any
	for i := 0; i < 11; i++ {
		tiers = append(tiers, map[string]any{"name": fmt.Sprintf("t%d", i), "capacityType": "spot"})
	}
	return tiers
}

// TestReliabilityBadInput is issue 18's scenario 5 on the local cluster
// (the fuzzing half is internal/submit's FuzzBuildFromSchema and its
// bounded run): 100 malformed SparkApplications and SparkProfiles sent to
// the API server. Each is refused by validation or ends Failed with a
// message; the operator's memory and work queue stay bounded. Short: it
// runs in make test too.
func TestReliabilityBadInput(t *testing.T) {
	s := framework.NewScenario(t, "5-bad-input",
		"100 malformed SparkApplications (70) and SparkProfiles (30): wrong types, huge strings, 10,000 sparkConf entries, a 1 MiB argument, specs that cannot run")
	s.SetScale("70 SparkApplications, 30 SparkProfiles")
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	ns := c.Namespace(t)
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	op := startOperatorWithMetrics(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	rssBefore, _, err := op.memory()
	if err != nil {
		t.Fatal(err)
	}

	inputs := append(badApplications(ns, 70), badProfiles(30, "bad-profile")...)
	refused, accepted := 0, map[string]string{}
	var refusedWithoutField []string
	for _, in := range inputs {
		err := cl.Create(ctx, in.obj)
		if err != nil {
			refused++
			// The API server's refusals name the field (spec.x: Invalid
			// value ...); a body over etcd's limit is refused as too large.
			if msg := err.Error(); !strings.Contains(msg, "spec") && !strings.Contains(msg, "metadata.name") && !strings.Contains(msg, "too large") {
				refusedWithoutField = append(refusedWithoutField, fmt.Sprintf("%s: %.200s", in.what, msg))
			}
			continue
		}
		if in.obj.GetKind() == "SparkProfile" {
			t.Errorf("the API server accepted a malformed SparkProfile (%s)", in.what)
			continue
		}
		accepted[in.obj.GetName()] = in.what
	}
	s.Figure(t, "refused by the API server", float64(refused), "objects", "create answered with an error (OpenAPI schema, CEL rules, name validation, size)")
	s.Figure(t, "accepted, for the operator to judge", float64(len(accepted)), "objects", "SparkApplications the API server stored")
	s.Check(t, "every refusal names a field or the size", len(refusedWithoutField) == 0, "%v", refusedWithoutField)

	// Every accepted application ends Failed with a message.
	var notFailed []string
	testenv.Eventually(t, 2*time.Minute, "every accepted malformed application Failed", func() (bool, string) {
		notFailed = nil
		for name, what := range accepted {
			app := &v1alpha1.SparkApplication{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
				return false, err.Error()
			}
			done := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted)
			if app.Status.State != v1alpha1.StateFailed || done == nil || done.Message == "" {
				notFailed = append(notFailed, fmt.Sprintf("%s (%s): %q %+v", name, what, app.Status.State, done))
			}
		}
		return len(notFailed) == 0, strings.Join(notFailed, "; ")
	})
	var examples []string
	pods, err := countDriverPods(ctx, cl, ns)
	if err != nil {
		t.Fatal(err)
	}
	for name, what := range accepted {
		app := &v1alpha1.SparkApplication{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
			t.Fatal(err)
		}
		msg := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted).Message
		if !strings.Contains(msg, "spec.") && !strings.Contains(msg, "SparkProfile") {
			t.Errorf("%s (%s) failed with a message naming no field: %s", name, what, msg)
		}
		if len(examples) < 6 {
			examples = append(examples, fmt.Sprintf("%s: %.160s", what, msg))
		}
		if pods[name] > 0 {
			t.Errorf("%s (%s) failed but has a driver pod", name, what)
		}
	}
	s.Check(t, "every accepted malformed application ended Failed with a message naming the field", len(notFailed) == 0, "%d accepted; e.g. %s", len(accepted), strings.Join(examples, "; "))

	drainStart := time.Now()
	depth := -1.0
	for time.Since(drainStart) < time.Minute {
		if m, err := op.metrics(); err == nil {
			if depth = queueDepth(m); depth == 0 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.Check(t, "the operator's work queue drains", depth == 0, "sparkapplication queue depth %.0f, %.1fs after every malformed application ended", depth, time.Since(drainStart).Seconds())
	rss, peak, err := op.memory()
	if err != nil {
		t.Fatal(err)
	}
	s.Figure(t, "operator peak RSS", float64(peak)/(1<<20), "MiB", fmt.Sprintf("VmHWM from /proc; %.0f MiB before the input", float64(rssBefore)/(1<<20)))
	s.CheckMemory(t, rss, 512<<20)
}

package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
)

// TestScheduleCommands: convert a Kubeflow schedule, apply it, list it,
// suspend and resume it, and trigger a run, against a real API server.
func TestScheduleCommands(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	ctx := context.Background()

	kubeflow := writeFile(t, "nightly.yaml", `apiVersion: sparkoperator.k8s.io/v1beta2
kind: ScheduledSparkApplication
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  timeZone: Europe/Paris
  concurrencyPolicy: Forbid
  template:
    type: Scala
    sparkVersion: 3.5.5
    image: spark:3.5.5
    mainClass: org.apache.spark.examples.SparkPi
    mainApplicationFile: local:///opt/spark/examples/jars/spark-examples.jar
    failureRetries: 2
    driver: {cores: 1, memory: 512m}
    executor: {instances: 1, cores: 1, memory: 512m}
`)
	// convert works offline: no --kubeconfig.
	cmd := cli.NewRootCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"convert", "-f", kubeflow})
	if err := cmd.ExecuteContext(ctx); err != nil || !strings.Contains(stderr.String(), "spec.template.failureRetries: moved to spec.template.restartPolicy.onFailureRetries") {
		t.Fatalf("convert: %v\n%s", err, stderr.String())
	}
	converted := result{stdout: stdout.String()}
	sched := &v1alpha1.ScheduledSparkApplication{}
	if err := yaml.UnmarshalStrict([]byte(converted.stdout), sched); err != nil {
		t.Fatalf("convert's output is not a ScheduledSparkApplication: %v", err)
	}
	sched.Namespace = ns
	if err := env.Client.Create(ctx, sched); err != nil {
		t.Fatalf("creating the converted schedule: %v", err)
	}

	list := sparkplane(t, kc, "", "schedule", "list", "-o", "wide")
	if list.err != nil || !strings.Contains(list.stdout, "nightly") || !strings.Contains(list.stdout, "0 3 * * *") || !strings.Contains(list.stdout, "Europe/Paris") || !strings.Contains(list.stdout, "Forbid") {
		t.Fatalf("schedule list:\n%s%v", list.stdout, list.err)
	}
	for _, tc := range []struct {
		verb string
		want bool
	}{{"suspend", true}, {"resume", false}} {
		r := sparkplane(t, kc, "", "schedule", tc.verb, "nightly")
		if r.err != nil || !strings.Contains(r.stdout, "scheduledsparkapplication.sparkplane.io/nightly "+tc.verb[:len(tc.verb)-1]) {
			t.Fatalf("schedule %s: %v %s", tc.verb, r.err, r.stdout)
		}
		sched := &v1alpha1.ScheduledSparkApplication{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "nightly"}, sched); err != nil {
			t.Fatal(err)
		}
		if sched.Spec.Suspend == nil || *sched.Spec.Suspend != tc.want {
			t.Errorf("after schedule %s: spec.suspend = %v", tc.verb, sched.Spec.Suspend)
		}
	}

	trigger := sparkplane(t, kc, "", "schedule", "trigger", "nightly")
	if trigger.err != nil || !strings.HasPrefix(trigger.stdout, "sparkapplication.sparkplane.io/nightly-") {
		t.Fatalf("schedule trigger: %v %s", trigger.err, trigger.stdout)
	}
	runs := &v1alpha1.SparkApplicationList{}
	if err := env.Client.List(ctx, runs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelScheduledBy: "nightly"}); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 || runs.Items[0].Spec.RestartPolicy.OnFailureRetries == nil || *runs.Items[0].Spec.RestartPolicy.OnFailureRetries != 2 {
		t.Fatalf("runs after trigger: %+v", runs.Items)
	}

	missing := sparkplane(t, kc, "", "schedule", "get", "absent")
	if missing.err == nil || !strings.Contains(missing.stderr, "NotFound") && !strings.Contains(missing.stderr, "not found") {
		t.Errorf("schedule get absent: %v %s", missing.err, missing.stderr)
	}
}

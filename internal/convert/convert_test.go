package convert

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// TestKubeflowExamplesChangeOnlyAPIVersion: the incumbent's example shapes
// convert with one change, apiVersion.
func TestKubeflowExamplesChangeOnlyAPIVersion(t *testing.T) {
	files, err := filepath.Glob("../../test/testdata/kubeflow/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, changes, err := Convert(strings.NewReader(string(in)))
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 1 || changes[0].Path != "apiVersion" {
				t.Errorf("changes = %v, want the apiVersion alone", changes)
			}
			var got, want map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal([]byte(strings.Replace(string(in), KubeflowAPIVersion, v1alpha1.GroupVersion.String(), 1)), &want); err != nil {
				t.Fatal(err)
			}
			if gotY, _ := yaml.Marshal(got); string(gotY) != string(mustMarshal(t, want)) {
				t.Errorf("converted:\n%s\nwant:\n%s", gotY, mustMarshal(t, want))
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const deprecated = `# a comment-only document first
---
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: old
spec:
  type: Scala
  sparkVersion: 3.5.5
  image: spark:3.5.5
  mainClass: org.apache.spark.examples.SparkPi
  mainApplicationFile: local:///opt/spark/examples/jars/spark-examples.jar
  failureRetries: 3
  retryInterval: 10
  driver:
    envVars:
      B: "2"
      A: "1"
    envSecretKeyRefs:
      TOKEN: {name: creds, key: token}
  executor:
    env:
    - name: A
      value: kept
    envVars:
      A: dropped
status:
  applicationState: {state: COMPLETED}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: passes-through
`

func TestConvertRewritesDeprecatedFields(t *testing.T) {
	out, changes, err := Convert(strings.NewReader(deprecated))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(out), "---\n")
	if len(docs) != 2 || !strings.Contains(docs[1], "passes-through") {
		t.Fatalf("documents: %q", docs)
	}
	app := &v1alpha1.SparkApplication{}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), app); err != nil {
		t.Fatalf("the result is not a sparkplane SparkApplication: %v\n%s", err, docs[0])
	}
	rp := app.Spec.RestartPolicy
	if rp.OnFailureRetries == nil || *rp.OnFailureRetries != 3 || rp.OnFailureRetryInterval == nil || *rp.OnFailureRetryInterval != 10 {
		t.Errorf("restartPolicy = %+v", rp)
	}
	env := app.Spec.Driver.Env
	if len(env) != 3 || env[0].Name != "A" || env[1].Name != "B" || env[2].ValueFrom.SecretKeyRef.Name != "creds" {
		t.Errorf("driver env = %+v", env)
	}
	if e := app.Spec.Executor.Env; len(e) != 1 || e[0].Value != "kept" {
		t.Errorf("executor env = %+v", e)
	}
	report := []string{}
	for _, c := range changes {
		report = append(report, c.String())
	}
	for _, want := range []string{"spec.failureRetries: moved to spec.restartPolicy.onFailureRetries", "spec.driver.envSecretKeyRefs[TOKEN]: moved to spec.driver.env",
		"spec.executor.envVars[A]: dropped", "status: removed", "document 1"} {
		if !strings.Contains(strings.Join(report, "\n"), want) {
			t.Errorf("report lacks %q:\n%s", want, strings.Join(report, "\n"))
		}
	}
}

func TestConvertRefusesWithThePath(t *testing.T) {
	cases := map[string]struct{ patch, wantPath, wantText string }{
		"gpu":           {"  executor:\n    gpu: {name: nvidia.com/gpu, quantity: 1}\n", "spec.executor.gpu", "spark.executor.resource.gpu.amount"},
		"pod template":  {"  driver:\n    template: {metadata: {labels: {a: b}}}\n", "spec.driver.template", "typed fields"},
		"client mode":   {"  mode: client\n", "spec.mode", "cluster mode only"},
		"unknown field": {"  notAField: 1\n", "notAField", "unknown field"},
		"scheduler":     {"  batchScheduler: kueue\n", "spec.batchScheduler", "volcano"},
		"scheduled gpu": {"", "spec.template.driver.gpu", "gpu"},
	}
	base := "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: SparkApplication\nmetadata: {name: x}\nspec:\n  type: Scala\n  sparkVersion: 3.5.5\n  image: spark\n  mainClass: Pi\n  mainApplicationFile: local:///pi.jar\n"
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := base + tc.patch
			if name == "scheduled gpu" {
				in = "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: ScheduledSparkApplication\nmetadata: {name: s}\nspec:\n  schedule: '@daily'\n  template:\n    type: Scala\n    driver:\n      gpu: {name: nvidia.com/gpu, quantity: 1}\n"
			}
			out, _, err := Convert(strings.NewReader(in))
			var refusal *Refusal
			if !errors.As(err, &refusal) || out != nil {
				t.Fatalf("Convert = %q, %v; want a refusal and no output", out, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantPath) || !strings.Contains(msg, tc.wantText) {
				t.Errorf("refusal %q does not name %s and %q", msg, tc.wantPath, tc.wantText)
			}
		})
	}
}

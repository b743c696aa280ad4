package emulator

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func factoryFor(t *testing.T, props string) *ExecutorFactory {
	t.Helper()
	pod, cms := driverFixture("team-a", props)
	pod.Status.PodIP = "10.0.0.7"
	spec, err := ResolveDriver(context.Background(), pod, configMapsGetter(cms))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewExecutorFactory(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestExecutorPodGolden(t *testing.T) {
	cases := map[string]string{
		"executor-pod.yaml": fixtureProps,
		"executor-pod-pvc.yaml": fixtureProps + `spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.claimName=OnDemand
spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass=gp3
spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.sizeLimit=100Gi
spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.path=/data
spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.readOnly=false
spark.kubernetes.driver.ownPersistentVolumeClaim=true
spark.kubernetes.driver.reusePersistentVolumeClaim=true
spark.decommission.enabled=false
spark.kubernetes.executor.limit.cores=2
spark.kubernetes.executor.request.cores=1500m
`,
	}
	for file, props := range cases {
		t.Run(file, func(t *testing.T) {
			f := factoryFor(t, props)
			pod, claims := f.ExecutorPod(4)
			var docs []string
			for _, obj := range append([]any{pod}, anySlice(claims)...) {
				out, err := yaml.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, string(out))
			}
			golden(t, file, []byte(strings.Join(docs, "---\n")))
		})
	}
}

func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i := range in {
		out[i] = in[i]
	}
	return out
}

// TestExecutorPodContract checks, outside the golden file, what sparkplane
// and Spark tooling rely on.
func TestExecutorPodContract(t *testing.T) {
	f := factoryFor(t, fixtureProps)
	pod, _ := f.ExecutorPod(12)
	if pod.Name != "spark-pi-7f3a-exec-12" {
		t.Errorf("name = %q", pod.Name)
	}
	wantLabels := map[string]string{
		"spark-app-selector": "spark-0123456789abcdef", "spark-role": "executor", "spark-exec-id": "12",
		"spark-resource-profile-id": "0", "spark-app-name": "spark-pi", "team": "a",
		"sparkplane.io/application": "spark-pi", "sparkplane.io/tier": "executor",
	}
	if diff := cmp.Diff(wantLabels, pod.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Name != "spark-pi-7f3a-driver" || pod.OwnerReferences[0].UID != "0b1c2d3e-0000-4000-8000-000000000001" || !*pod.OwnerReferences[0].Controller {
		t.Errorf("owner references = %+v", pod.OwnerReferences)
	}
	c := pod.Spec.Containers[0]
	// 4g + max(0.1 × 4096, 384) = 4096 + 409 MiB.
	if got := c.Resources.Requests[corev1.ResourceMemory]; got.String() != "4505Mi" {
		t.Errorf("memory request = %s, want 4505Mi", got.String())
	}
	if got := c.Resources.Requests[corev1.ResourceCPU]; got.String() != "2" {
		t.Errorf("cpu request = %s, want 2", got.String())
	}
	if got := c.Resources.Requests[corev1.ResourceEphemeralStorage]; got.String() != "1Gi" {
		t.Errorf("template's ephemeral-storage request lost: %s", got.String())
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{
		"SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@spark-pi-7f3a-driver-svc.team-a.svc:7078", "SPARK_EXECUTOR_ID": "12",
		"SPARK_EXECUTOR_CORES": "2", "SPARK_EXECUTOR_MEMORY": "4096m", "SPARK_APPLICATION_ID": "spark-0123456789abcdef",
		"MY_ENV": "hello", "SPARK_JAVA_OPT_1": "-Dexec=12", "SPARK_USER": "alice",
	} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec.Command[0] != "/opt/decom.sh" {
		t.Errorf("decommissioning is on but there is no preStop decom.sh: %+v", c.Lifecycle)
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil || *pod.Spec.TerminationGracePeriodSeconds != 90 || pod.Spec.ServiceAccountName != "spark" {
		t.Errorf("template grace period or service account lost")
	}
}

func TestExecutorResources(t *testing.T) {
	cases := map[string]struct {
		props     string
		wantTotal int64
	}{
		"default 1g":               {"", 1024 + 384},
		"factor applies above min": {"spark.executor.memory=8g\n", 8192 + 819},
		"explicit overhead":        {"spark.executor.memory=2g\nspark.executor.memoryOverhead=1g\n", 3072},
		"executor factor wins":     {"spark.executor.memory=8g\nspark.kubernetes.memoryOverheadFactor=0.1\nspark.executor.memoryOverheadFactor=0.25\n", 8192 + 2048},
		"off-heap and pyspark":     {"spark.memory.offHeap.enabled=true\nspark.memory.offHeap.size=512m\nspark.kubernetes.resource.type=python\nspark.executor.pyspark.memory=256m\n", 1024 + 384 + 512 + 256},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			props, _ := ParseProperties(tc.props)
			r, err := executorResources(Conf(props))
			if err != nil {
				t.Fatal(err)
			}
			if r.TotalMiB() != tc.wantTotal {
				t.Errorf("total = %d MiB, want %d", r.TotalMiB(), tc.wantTotal)
			}
		})
	}
}

func TestExecutorFactoryErrors(t *testing.T) {
	cases := map[string]struct {
		replace, with string
		want          []string
	}{
		"no image":        {"spark.kubernetes.container.image=apache/spark:3.5.3", "", []string{"spark.kubernetes.container.image"}},
		"bad memory":      {"spark.executor.memory=4g", "spark.executor.memory=4.5g", []string{"spark.executor.memory", "fractional"}},
		"bad unit":        {"spark.executor.memory=4g", "spark.executor.memory=4q", []string{"spark.executor.memory", "unit"}},
		"zero cores":      {"spark.executor.cores=2", "spark.executor.cores=0", []string{"spark.executor.cores", "1 or more"}},
		"bad prefix":      {"spark.kubernetes.executor.podNamePrefix=spark-pi-7f3a", "spark.kubernetes.executor.podNamePrefix=Spark_Pi", []string{"podNamePrefix"}},
		"bad bool":        {"spark.decommission.enabled=true", "spark.decommission.enabled=yes", []string{"spark.decommission.enabled", "true or false"}},
		"volume no mount": {"spark.executor.cores=2", "spark.executor.cores=2\nspark.kubernetes.executor.volumes.emptyDir.x.options.medium=Memory", []string{"volumes.emptyDir.x.mount.path"}},
		"volume type":     {"spark.executor.cores=2", "spark.kubernetes.executor.volumes.csi.x.mount.path=/x", []string{"csi", "not supported"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod, cms := driverFixture("team-a", strings.Replace(fixtureProps, tc.replace, tc.with, 1))
			spec, err := ResolveDriver(context.Background(), pod, configMapsGetter(cms))
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewExecutorFactory(spec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

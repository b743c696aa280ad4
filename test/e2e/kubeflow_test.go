//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestKubeflowExamplesOnLocalCluster: the incumbent's example shapes
// (test/testdata/kubeflow), with apiVersion changed alone, are accepted under
// strict field validation on the local cluster and the operator creates what
// Kubeflow's would: the JMX exporter on the pods with its configuration
// mounted, the PrometheusServlet conf, Volcano's PodGroup (its real CRD),
// YuniKorn's scheduler and queue, the ConfigMap volume, dynamic allocation,
// and a schedule with its next run.
func TestKubeflowExamplesOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	ctx := context.Background()
	root := framework.RepoRoot(t)
	admin, err := client.New(c.Config, client.Options{Scheme: cli.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	// Volcano's PodGroup CRD, generated from Volcano's API module.
	data, err := os.ReadFile(filepath.Join(root, "internal/submit/testdata/crds/scheduling.volcano.sh_podgroups.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the PodGroup CRD is established", func() (bool, error) {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})

	cl := operatorOn(t, c, sparkprofile.ResolverOptions{})
	ns := c.Namespace(t)
	// The ServiceAccount the examples run as (Kubeflow's Helm chart creates it).
	if err := cl.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "spark-operator-spark"}}); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "test/testdata/kubeflow/*.yaml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		manifest := strings.Replace(string(data), "apiVersion: sparkoperator.k8s.io/v1beta2", "apiVersion: "+v1alpha1.GroupVersion.String(), 1)
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
			t.Fatal(err)
		}
		obj.SetNamespace(ns)
		if err := cl.Create(ctx, obj, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Fatalf("%s with apiVersion changed alone: %v", filepath.Base(file), err)
		}
	}

	app := func(name string) *v1alpha1.SparkApplication {
		a := &v1alpha1.SparkApplication{}
		testenv.Eventually(t, 2*time.Minute, name+" submitted", func() (bool, error) {
			if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
				return false, err
			}
			if a.Status.State == v1alpha1.StateFailed {
				t.Fatalf("%s failed: %+v", name, a.Status.Conditions)
			}
			return a.Status.Attempts == 1, nil
		})
		return a
	}
	driverOf := func(a *v1alpha1.SparkApplication) *corev1.Pod {
		pod := &corev1.Pod{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: a.Status.DriverInfo.PodName}, pod); err != nil {
			t.Fatal(err)
		}
		return pod
	}
	props := func(a *v1alpha1.SparkApplication) map[string]string {
		cm := &corev1.ConfigMap{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: submit.NamesFor(a, 1).ConfConfigMap}, cm); err != nil {
			t.Fatal(err)
		}
		p, err := submit.ParseProperties(cm.Data[submit.SparkConfFile])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	prom := app("spark-pi-prometheus")
	driver := driverOf(prom)
	if !slices.ContainsFunc(driver.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == "jmx-exporter" && p.ContainerPort == 8090 }) {
		t.Errorf("prometheus: driver ports %v lack jmx-exporter 8090", driver.Spec.Containers[0].Ports)
	}
	if !strings.Contains(props(prom)["spark.driver.extraJavaOptions"], "-javaagent:/prometheus/jmx_prometheus_javaagent-0.11.0.jar=8090:/etc/metrics/conf/prometheus.yaml") {
		t.Errorf("prometheus: driver Java options %q", props(prom)["spark.driver.extraJavaOptions"])
	}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: submit.NamesFor(prom, 1).Prefix + "-metrics-conf-map"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("prometheus: metrics ConfigMap: %v", err)
	}

	if p := props(app("spark-pi-prometheus-servlet")); p["spark.ui.prometheus.enabled"] != "true" {
		t.Errorf("servlet: spark.ui.prometheus.enabled = %q", p["spark.ui.prometheus.enabled"])
	}

	volcano := app("spark-pi-volcano")
	pg := &unstructured.Unstructured{}
	pg.SetGroupVersionKind(submit.PodGroupGVK)
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: submit.PodGroupName(volcano)}, pg); err != nil {
		t.Errorf("volcano: PodGroup: %v", err)
	} else if q, _, _ := unstructured.NestedString(pg.Object, "spec", "queue"); q != "default" {
		t.Errorf("volcano: PodGroup queue %q", q)
	}
	if d := driverOf(volcano); d.Spec.SchedulerName != "volcano" || d.Annotations[submit.VolcanoGroupAnnotation] != submit.PodGroupName(volcano) {
		t.Errorf("volcano: driver scheduler %q annotations %v", d.Spec.SchedulerName, d.Annotations)
	}

	if d := driverOf(app("spark-pi-yunikorn")); d.Spec.SchedulerName != "yunikorn" || d.Labels[submit.YuniKornQueueLabel] != "root.default" || d.Annotations[submit.YuniKornTaskGroupsAnnotation] == "" {
		t.Errorf("yunikorn: driver scheduler %q labels %v", d.Spec.SchedulerName, d.Labels)
	}

	cmApp := app("spark-pi-configmap")
	if d := driverOf(cmApp); !slices.ContainsFunc(d.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "config-vol" && m.MountPath == "/opt/spark/mycm" }) {
		t.Errorf("configmap: driver mounts %v", d.Spec.Containers[0].VolumeMounts)
	}

	if ttl := app("spark-pi-ttl"); ttl.Spec.TimeToLiveSeconds == nil || *ttl.Spec.TimeToLiveSeconds != 30 {
		t.Errorf("ttl: timeToLiveSeconds = %v", ttl.Spec.TimeToLiveSeconds)
	}

	if p := props(app("spark-pi-dynamic-allocation")); p["spark.dynamicAllocation.enabled"] != "true" || p["spark.dynamicAllocation.maxExecutors"] != "5" {
		t.Errorf("dynamic allocation: %q max %q", p["spark.dynamicAllocation.enabled"], p["spark.dynamicAllocation.maxExecutors"])
	}

	sched := &v1alpha1.ScheduledSparkApplication{}
	testenv.Eventually(t, time.Minute, "the schedule is scheduled", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "spark-pi-scheduled"}, sched); err != nil {
			return false, err
		}
		return sched.Status.ScheduleState == v1alpha1.ScheduleStateScheduled && sched.Status.NextRun != nil, nil
	})
	t.Logf("schedule next run %s", sched.Status.NextRun.UTC().Format(time.RFC3339))
}

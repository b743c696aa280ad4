//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestDriverEmulatorOnKwok runs the emulator against a local cluster whose
// pods run on kwok nodes with kwok's default stages: the real scheduler places
// a hand-made driver pod and its executors, kwok makes them Running, a
// graceful delete is migrated and a hard one recomputed, and the driver ends
// Succeeded and stays so (kwok does not revert the status patch).
func TestDriverEmulatorOnKwok(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cs := c.Clientset

	const prefix = "e2e-pi"
	props := `spark.app.name=e2e pi
spark.app.id=spark-e2e0000000000001
spark.driver.host=e2e-pi-driver-svc.` + ns + `.svc
spark.kubernetes.namespace=` + ns + `
spark.kubernetes.executor.podNamePrefix=` + prefix + `
spark.kubernetes.container.image=apache/spark:3.5.3
spark.kubernetes.executor.podTemplateFile=/opt/spark/pod-template/pod-spec-template.yml
spark.executor.instances=3
spark.executor.cores=2
spark.decommission.enabled=true
spark.sparkplane.emulator.workload=small
spark.sparkplane.emulator.tasksPerStage=60
spark.sparkplane.emulator.taskDuration=2s
spark.sparkplane.emulator.timeScale=2
`
	template := `apiVersion: v1
kind: Pod
spec:
  terminationGracePeriodSeconds: 60
  containers:
  - name: spark-kubernetes-executor
`
	for name, data := range map[string]map[string]string{
		prefix + "-driver-conf-map":         {"spark.properties": props},
		prefix + "-driver-podspec-conf-map": {"podspec-configmap-key": template},
	} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	driver := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + "-driver", Labels: map[string]string{
			"spark-role": "driver", "spark-app-selector": "spark-e2e0000000000001", "sparkplane.io/application": "e2e-pi",
		}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			NodeSelector:  map[string]string{devcluster.LabelNodeRole: devcluster.NodeRoleDriver},
			Tolerations:   []corev1.Toleration{{Key: devcluster.DriverTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{
				Name: "spark-kubernetes-driver", Image: "apache/spark:3.5.3",
				Env: []corev1.EnvVar{{Name: "SPARK_CONF_DIR", Value: "/opt/spark/conf"}},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "spark-conf-volume-driver", MountPath: "/opt/spark/conf"},
					{Name: "pod-template-volume", MountPath: "/opt/spark/pod-template"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "spark-conf-volume-driver", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: prefix + "-driver-conf-map"},
					Items:                []corev1.KeyToPath{{Key: "spark.properties", Path: "spark.properties"}},
				}}},
				{Name: "pod-template-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: prefix + "-driver-podspec-conf-map"},
					Items:                []corev1.KeyToPath{{Key: "podspec-configmap-key", Path: "pod-spec-template.yml"}},
				}}},
			},
		},
	}
	// The emulator acts as the driver pod's account: give it the one the
	// operator would create.
	sa, role, binding := submit.DriverIdentity(ns)
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	driver.Spec.ServiceAccountName = sa.Name
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, driver, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	eventDir := t.TempDir()
	em, err := emulator.New(c.Config, emulator.Options{Namespace: ns, EventLogDir: eventDir})
	if err != nil {
		t.Fatal(err)
	}
	emCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	defer func() { stop(); <-done }()

	running := func(name string) func() (bool, error) {
		return func() (bool, error) {
			pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			return err == nil && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil, nil
		}
	}
	testenv.Eventually(t, time.Minute, "three executors running on kwok nodes", func() (bool, error) {
		for _, n := range []string{"1", "2", "3"} {
			if ok, _ := running(prefix + "-exec-" + n)(); !ok {
				return false, nil
			}
		}
		return true, nil
	})
	// Let map outputs pile up, then take one executor away gracefully (kwok
	// removes it at once, after the watch has shown its deletionTimestamp)
	// and one hard.
	time.Sleep(4 * time.Second)
	grace, zero := int64(60), int64(0)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, prefix+"-exec-1", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, prefix+"-exec-2", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "replacement executors 4 and 5 running", func() (bool, error) {
		a, _ := running(prefix + "-exec-4")()
		b, _ := running(prefix + "-exec-5")()
		return a && b, nil
	})
	testenv.Eventually(t, 2*time.Minute, "the driver to succeed", func() (bool, error) {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, driver.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return pod.Status.Phase == corev1.PodSucceeded, nil
	})
	// kwok must leave the terminal phase alone.
	time.Sleep(5 * time.Second)
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, driver.Name, metav1.GetOptions{})
	if err != nil || pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("driver phase after 5s: %v %v", pod.Status.Phase, err)
	}
	s := em.Summary()
	t.Logf("summary: %+v", s)
	if s.MigratedBytes <= 0 || s.RecomputedBytes <= 0 || s.ExecutorsDecommissioned != 1 || s.ExecutorsLost != 1 {
		t.Errorf("migrated %d recomputed %d decommissioned %d lost %d: want a migration and a recomputation",
			s.MigratedBytes, s.RecomputedBytes, s.ExecutorsDecommissioned, s.ExecutorsLost)
	}
	if _, err := os.Stat(filepath.Join(eventDir, "spark-e2e0000000000001")); err != nil {
		t.Errorf("event log: %v", err)
	}
}

package interruption

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// executorPod is an executor pod as Spark 3.5 creates it, roughly: the
// environment, volumes and status that make a pod several kilobytes.
func executorPod() *corev1.Pod {
	var env []corev1.EnvVar
	for i := range 30 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SPARK_ENV_%d", i), Value: fmt.Sprintf("value-%d-with-some-length", i)})
	}
	deleting := metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "pi-exec-7", Namespace: "spark", UID: "uid-7", ResourceVersion: "42",
			DeletionTimestamp: &deleting, DeletionGracePeriodSeconds: ptr.To[int64](115),
			Labels: map[string]string{
				spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: "spark-0123", spark.LabelExecID: "7", v1alpha1.LabelApplication: "pi",
				"spark-app-name": "pi", "sparkplane.io/profile": "cost-optimized",
			},
			Annotations:     map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(make([]byte, 2048))},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "pi-driver", UID: "uid-d"}},
		},
		Spec: corev1.PodSpec{
			NodeName: "spot-1",
			Containers: []corev1.Container{{
				Name: "spark-kubernetes-executor", Image: "apache/spark:3.5.3", Args: []string{"executor"}, Env: env,
				Resources:    corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")}},
				VolumeMounts: []corev1.VolumeMount{{Name: "spark-local-dir-1", MountPath: "/data/spark"}, {Name: "spark-conf", MountPath: "/opt/spark/conf"}},
			}},
			Volumes: []corev1.Volume{{Name: "spark-local-dir-1"}, {Name: "spark-conf"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// TestTrimmedPod: the shared cluster state's pod transform keeps what this
// controller reads.
func TestTrimmedPod(t *testing.T) {
	pod := executorPod()
	got, err := clusterstate.TrimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := got.(*corev1.Pod)
	want := map[string]string{spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: "spark-0123", spark.LabelExecID: "7", v1alpha1.LabelApplication: "pi"}
	if diff := cmp.Diff(want, trimmed.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if trimmed.Name != pod.Name || trimmed.Namespace != pod.Namespace || trimmed.UID != pod.UID ||
		!trimmed.DeletionTimestamp.Equal(pod.DeletionTimestamp) || *trimmed.DeletionGracePeriodSeconds != 115 ||
		trimmed.Spec.NodeName != "spot-1" || trimmed.Status.Phase != corev1.PodRunning || !isSparkPod(trimmed) || needsAction(*trimmed) != needsAction(*pod) {
		t.Errorf("trimmed executor lost what the controller reads: %+v", trimmed)
	}
}

func TestTrimNode(t *testing.T) {
	deleting := metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "spot-1", UID: "n1", ResourceVersion: "9", DeletionTimestamp: &deleting,
			Labels:      map[string]string{"karpenter.sh/capacity-type": "spot"},
			Annotations: map[string]string{NoticeAnnotation: "2026-11-25T12:00:00Z", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec:   corev1.NodeSpec{ProviderID: "kwok://spot-1", Taints: []corev1.Taint{{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"apache/spark:3.5.3"}, SizeBytes: 1 << 30}}},
	}
	got, err := clusterstate.TrimNode(node)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "spot-1", UID: "n1", ResourceVersion: "9", DeletionTimestamp: &deleting,
			Labels:      node.Labels,
			Annotations: map[string]string{NoticeAnnotation: "2026-11-25T12:00:00Z"},
		},
		Spec: corev1.NodeSpec{Taints: node.Spec.Taints},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed node (-want +got):\n%s", diff)
	}
	// The trimmed node still gives the same notice.
	n1, ok1 := DetectNotice(node, DefaultSignals(), deleting.Add(time.Minute))
	n2, ok2 := DetectNotice(got.(*corev1.Node), DefaultSignals(), deleting.Add(time.Minute))
	if ok1 != ok2 || !n1.Time.Equal(n2.Time) || n1.Signal != n2.Signal {
		t.Errorf("notice differs after trimming: %+v vs %+v", n1, n2)
	}
}

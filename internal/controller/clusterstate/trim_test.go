package clusterstate

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/spark"
)

func requests(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
}

// executor is an executor pod as Spark 3.5 creates it, roughly: the
// environment, volumes and status that make a pod several kilobytes.
func executor() *corev1.Pod {
	var env []corev1.EnvVar
	for i := range 30 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SPARK_ENV_%d", i), Value: fmt.Sprintf("value-%d-with-some-length", i)})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "pi-exec-7", Namespace: "spark", UID: "uid-7", ResourceVersion: "42",
			Labels: map[string]string{
				spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: "spark-0123", spark.LabelExecID: "7",
				v1alpha1.LabelApplication: "pi", "spark-app-name": "pi", "sparkplane.io/profile": "cost-optimized",
			},
			Annotations:     map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(make([]byte, 2048))},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "pi-driver", UID: "uid-d"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "spark"}},
		},
		Spec: corev1.PodSpec{
			NodeName: "spot-1",
			Containers: []corev1.Container{{
				Name: "spark-kubernetes-executor", Image: "apache/spark:3.5.3", Args: []string{"executor"}, Env: env,
				Resources:    requests("4", "16Gi"),
				VolumeMounts: []corev1.VolumeMount{{Name: "spark-local-dir-1", MountPath: "/data/spark"}, {Name: "spark-conf", MountPath: "/opt/spark/conf"}},
			}},
			Volumes: []corev1.Volume{{Name: "spark-local-dir-1"}, {Name: "spark-conf"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func TestTrimPod(t *testing.T) {
	pod := executor()
	got, err := TrimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "pi-exec-7", Namespace: "spark", UID: "uid-7", ResourceVersion: "42",
			Labels: map[string]string{spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: "spark-0123", spark.LabelExecID: "7", v1alpha1.LabelApplication: "pi"},
		},
		Spec: corev1.PodSpec{NodeName: "spot-1", Containers: []corev1.Container{{Name: requestsContainer, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: *resource.NewMilliQuantity(4000, resource.DecimalSI), corev1.ResourceMemory: *resource.NewQuantity(16<<30, resource.BinarySI),
		}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed executor (-want +got):\n%s", diff)
	}
	again, _ := TrimPod(got)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("trimming is not idempotent, as informers require (-once +twice):\n%s", diff)
	}
	full, _ := json.Marshal(pod)
	trimmed, _ := json.Marshal(got)
	t.Logf("executor pod: %d bytes as JSON, %d trimmed; 10,000 executors ≈ %d KiB trimmed vs %d KiB full",
		len(full), len(trimmed), 10000*len(trimmed)/1024, 10000*len(full)/1024)
	if len(trimmed)*5 > len(full) {
		t.Errorf("trimmed pod is %d of %d bytes; the transform keeps too much", len(trimmed), len(full))
	}

	// A driver keeps its owner and whole status (container states say why
	// it waits or how it ended).
	driver := executor()
	driver.Labels[spark.LabelRole] = spark.RoleDriver
	driver.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: spark.DriverContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}
	got, _ = TrimPod(driver)
	d := got.(*corev1.Pod)
	if diff := cmp.Diff(driver.Status, d.Status); diff != "" || len(d.OwnerReferences) != 1 || d.Annotations != nil || d.ManagedFields != nil {
		t.Errorf("trimmed driver: owners %v, annotations %v, status diff (-want +got):\n%s", d.OwnerReferences, d.Annotations, diff)
	}
	// Objects that are not pods (tombstones) pass through.
	if out, err := TrimPod("tombstone"); err != nil || out != "tombstone" {
		t.Errorf("TrimPod(non-pod) = %v, %v", out, err)
	}
}

// TestEffectiveRequests: a pod charges its node as the scheduler counts it
// (profile.PodRequests), and its trimmed form charges the same.
func TestEffectiveRequests(t *testing.T) {
	always := ptr.To(corev1.ContainerRestartPolicyAlways)
	cases := map[string]struct {
		spec     corev1.PodSpec
		cpu, mem int64
	}{
		"no requests": {spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}},
		"containers add up": {spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: requests("1", "1Gi")}, {Resources: requests("500m", "512Mi")}}},
			cpu: 1500, mem: 1536 << 20},
		"a larger init container wins": {spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("3", "1Gi")}},
			Containers:     []corev1.Container{{Resources: requests("1", "2Gi")}}},
			cpu: 3000, mem: 2 << 30},
		"sidecars keep running": {spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("1", "1Gi"), RestartPolicy: always}, {Resources: requests("2", "1Gi")}},
			Containers:     []corev1.Container{{Resources: requests("1", "1Gi")}}},
			cpu: 3000, mem: 2 << 30},
		"one sidecar beside a container": {spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("2", "2Gi"), RestartPolicy: always}},
			Containers:     []corev1.Container{{Resources: requests("1", "1Gi")}}},
			cpu: 3000, mem: 3 << 30},
		"an init container after a sidecar": {spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: requests("500m", "512Mi"), RestartPolicy: always}, {Resources: requests("4", "1Gi")}},
			Containers:     []corev1.Container{{Resources: requests("1", "1Gi")}}},
			cpu: 4500, mem: 1536 << 20},
		"overhead is added": {spec: corev1.PodSpec{
			Containers: []corev1.Container{{Resources: requests("1", "1Gi")}},
			Overhead:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
			cpu: 1250, mem: 1<<30 + 128<<20},
	}
	for name, tc := range cases {
		r := profile.PodRequests(&tc.spec)
		if r.MilliCPU != tc.cpu || r.Memory != tc.mem {
			t.Errorf("%s: %dm CPU, %d bytes; want %dm, %d", name, r.MilliCPU, r.Memory, tc.cpu, tc.mem)
		}
		pod := &corev1.Pod{Spec: tc.spec}
		trimmed, _ := TrimPod(pod)
		if r2 := profile.PodRequests(&trimmed.(*corev1.Pod).Spec); r2 != r {
			t.Errorf("%s: after trimming %dm, %d; before %dm, %d", name, r2.MilliCPU, r2.Memory, r.MilliCPU, r.Memory)
		}
	}
}

func TestTrimNode(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "spot-1", UID: "n1", ResourceVersion: "9",
			Labels:      map[string]string{"topology.kubernetes.io/zone": "zone-a", "karpenter.sh/capacity-type": "spot"},
			Annotations: map[string]string{"sparkplane.io/interruption-notice-time": "2026-11-25T12:00:00Z", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec: corev1.NodeSpec{ProviderID: "kwok://spot-1", Unschedulable: true, Taints: []corev1.Taint{{Key: "karpenter.sh/disrupted", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("31"), corev1.ResourceMemory: resource.MustParse("120Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Images:      []corev1.ContainerImage{{Names: []string{"apache/spark:3.5.3"}, SizeBytes: 1 << 30}},
		},
	}
	got, err := TrimNode(node)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "spot-1", UID: "n1", ResourceVersion: "9", Labels: node.Labels,
			Annotations: map[string]string{"sparkplane.io/interruption-notice-time": "2026-11-25T12:00:00Z"},
		},
		Spec:   corev1.NodeSpec{Unschedulable: true, Taints: node.Spec.Taints},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("31"), corev1.ResourceMemory: resource.MustParse("120Gi")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed node (-want +got):\n%s", diff)
	}
}

// TestUsageAccounting: the per-node totals follow adds, binds, phase
// changes, deletes, tombstones and a pod recreated under its name (which a
// relist reports as an update).
func TestUsageAccounting(t *testing.T) {
	s := &State{pods: map[types.UID]charge{}, used: map[string]profile.Usage{}}
	pod := func(uid, node string, phase corev1.PodPhase, cpu string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: "p"},
			Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Resources: requests(cpu, "1Gi")}}},
			Status: corev1.PodStatus{Phase: phase}}
		trimmed, _ := TrimPod(p)
		return trimmed.(*corev1.Pod)
	}
	used := func() map[string]int64 {
		out := map[string]int64{}
		for node, u := range s.used {
			out[node] = u.MilliCPU
		}
		return out
	}
	check := func(what string, want map[string]int64) {
		t.Helper()
		if got := used(); !maps.Equal(got, want) {
			t.Errorf("after %s: used CPU %v, want %v", what, got, want)
		}
	}
	unbound := pod("a", "", corev1.PodPending, "1")
	h := TallyHandlers(s.account)
	h.AddFunc(unbound)
	check("an unbound pod", map[string]int64{})
	bound := pod("a", "n1", corev1.PodPending, "1")
	h.UpdateFunc(unbound, bound)
	check("binding", map[string]int64{"n1": 1000})
	h.AddFunc(pod("b", "n1", corev1.PodRunning, "2"))
	check("a second pod", map[string]int64{"n1": 3000})
	h.UpdateFunc(bound, pod("a", "n1", corev1.PodSucceeded, "1"))
	check("a finished", map[string]int64{"n1": 2000})
	recreated := pod("c", "n2", corev1.PodRunning, "4")
	h.UpdateFunc(pod("b", "n1", corev1.PodRunning, "2"), recreated)
	check("b recreated as c on n2", map[string]int64{"n2": 4000})
	h.DeleteFunc(toolscache.DeletedFinalStateUnknown{Key: "ns/p", Obj: recreated})
	check("c's tombstone", map[string]int64{})
	if len(s.pods) != 0 {
		t.Errorf("charges left after every pod went: %v", s.pods)
	}
}

package submit

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Names Volcano and YuniKorn read from Spark pods (as Kubeflow sets them).
const (
	// VolcanoGroupAnnotation names a pod's PodGroup.
	VolcanoGroupAnnotation = "scheduling.k8s.io/group-name"
	// YuniKornAppIDLabel groups a pod into a YuniKorn application.
	YuniKornAppIDLabel = "yunikorn.apache.org/app-id"
	// YuniKornQueueLabel is the YuniKorn queue.
	YuniKornQueueLabel = "queue"
	// YuniKornTaskGroupNameAnnotation puts a pod in a task group;
	// YuniKornTaskGroupsAnnotation (on the driver) declares the groups, so
	// YuniKorn reserves room for the whole gang before the driver starts.
	YuniKornTaskGroupNameAnnotation = "yunikorn.apache.org/task-group-name"
	YuniKornTaskGroupsAnnotation    = "yunikorn.apache.org/task-groups"
	DriverTaskGroup                 = "spark-driver"
	ExecutorTaskGroup               = "spark-executor"
)

// PodGroupGVK is Volcano's PodGroup. sparkplane writes it as unstructured
// data: Volcano's Go module stays out of the product; the tests check the
// object against Volcano's own CRD.
var PodGroupGVK = schema.GroupVersionKind{Group: "scheduling.volcano.sh", Version: "v1beta1", Kind: "PodGroup"}

// PodGroupName is the application's Volcano PodGroup (Kubeflow's name).
func PodGroupName(app *v1alpha1.SparkApplication) string { return "spark-" + app.Name + "-pg" }

// gangExecutors is how many executors the gang holds room for: the fixed
// count, or with dynamic allocation the executors it starts with.
func (b *builder) gangExecutors() int64 {
	n := func(key string) int64 {
		v, _ := strconv.ParseInt(b.conf[key], 10, 32)
		return v
	}
	if b.conf[spark.ConfDynamicAllocationEnabled] == "true" {
		return max(n(spark.ConfDynamicAllocationMinExecutors), n(spark.ConfDynamicAllocationInitialExecutors))
	}
	return n(spark.ConfExecutorInstances)
}

func podRequests(r spark.PodResources, count int64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(r.MilliCPU()*count, resource.DecimalSI),
		corev1.ResourceMemory: resource.MustParse(strconv.FormatInt(r.MemoryRequestMiB()*count, 10) + "Mi"),
	}
}

// batchScheduling applies spec.batchScheduler to the driver and the executor
// template and returns Volcano's PodGroup (nil for other schedulers).
func (b *builder) batchScheduling(driver, executor *corev1.Pod) *unstructured.Unstructured {
	name := ptr.Deref(b.spec.BatchScheduler, "")
	if name == "" || name == v1alpha1.BatchSchedulerKubeScheduler {
		return nil
	}
	opts := ptr.Deref(b.spec.BatchSchedulerOptions, v1alpha1.BatchSchedulerConfiguration{})
	executors := b.gangExecutors()
	for _, pod := range []*corev1.Pod{driver, executor} {
		pod.Spec.SchedulerName = name
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
	}
	switch name {
	case v1alpha1.BatchSchedulerVolcano:
		group := PodGroupName(b.app)
		driver.Annotations[VolcanoGroupAnnotation] = group
		executor.Annotations[VolcanoGroupAnnotation] = group
		minResources := podRequests(b.driver, 1)
		for k, v := range podRequests(b.executor, executors) {
			sum := minResources[k]
			sum.Add(v)
			minResources[k] = sum
		}
		if len(opts.Resources) > 0 {
			minResources = maps.Clone(opts.Resources)
		}
		minResourcesData := map[string]any{}
		for k, v := range resourceMap(minResources) {
			minResourcesData[k] = v
		}
		spec := map[string]any{"minMember": int64(1), "minResources": minResourcesData}
		if q := ptr.Deref(opts.Queue, ""); q != "" {
			spec["queue"] = q
		}
		if pc := ptr.Deref(opts.PriorityClassName, ""); pc != "" {
			spec["priorityClassName"] = pc
		}
		pg := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		pg.SetGroupVersionKind(PodGroupGVK)
		pg.SetName(group)
		pg.SetNamespace(b.app.Namespace)
		pg.SetLabels(map[string]string{v1alpha1.LabelApplication: b.app.Name})
		pg.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication", Name: b.app.Name, UID: b.app.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}})
		return pg
	case v1alpha1.BatchSchedulerYuniKorn:
		for _, pod := range []*corev1.Pod{driver, executor} {
			pod.Labels[YuniKornAppIDLabel] = b.names.AppID
			if q := ptr.Deref(opts.Queue, ""); q != "" {
				pod.Labels[YuniKornQueueLabel] = q
			}
		}
		driver.Annotations[YuniKornTaskGroupNameAnnotation] = DriverTaskGroup
		executor.Annotations[YuniKornTaskGroupNameAnnotation] = ExecutorTaskGroup
		groups := []yunikornTaskGroup{{Name: DriverTaskGroup, MinMember: 1, MinResource: resourceMap(podRequests(b.driver, 1))}}
		if executors > 0 {
			groups = append(groups, yunikornTaskGroup{Name: ExecutorTaskGroup, MinMember: executors, MinResource: resourceMap(podRequests(b.executor, 1))})
		}
		data, err := json.Marshal(groups)
		if err != nil {
			panic(fmt.Sprintf("submit: encoding YuniKorn task groups: %v", err)) // plain strings and numbers
		}
		driver.Annotations[YuniKornTaskGroupsAnnotation] = string(data)
	}
	return nil
}

// yunikornTaskGroup is one entry of YuniKorn's task-groups annotation.
type yunikornTaskGroup struct {
	Name        string            `json:"name"`
	MinMember   int64             `json:"minMember"`
	MinResource map[string]string `json:"minResource"`
}

func resourceMap(list corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for k, v := range list {
		out[string(k)] = v.String()
	}
	return out
}

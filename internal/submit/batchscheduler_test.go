package submit

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func batchApp(scheduler string) *v1alpha1.SparkApplication {
	app := scalaApp() // driver 1 core 512m (+384m), 4 executors of 1500m and 8g (+819m)
	app.Spec.BatchScheduler = ptr.To(scheduler)
	app.Spec.BatchSchedulerOptions = &v1alpha1.BatchSchedulerConfiguration{Queue: ptr.To("analytics"), PriorityClassName: ptr.To("batch")}
	return app
}

// TestBatchSchedulerGolden pins the driver, the executor template and the
// PodGroup for volcano and yunikorn (testdata/batch-<scheduler>.golden.yaml).
func TestBatchSchedulerGolden(t *testing.T) {
	for _, scheduler := range []string{v1alpha1.BatchSchedulerVolcano, v1alpha1.BatchSchedulerYuniKorn} {
		t.Run(scheduler, func(t *testing.T) {
			objs, err := Build(batchApp(scheduler), Options{Attempt: 1})
			if err != nil {
				t.Fatal(err)
			}
			objects := []any{objs.DriverPod, objs.ExecutorTemplate}
			if objs.PodGroup != nil {
				objects = append([]any{objs.PodGroup}, objects...)
			}
			checkGolden(t, "batch-"+scheduler+".golden.yaml", objects...)
		})
	}
}

func TestVolcanoPodGroup(t *testing.T) {
	objs, err := Build(batchApp(v1alpha1.BatchSchedulerVolcano), Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	pg := objs.PodGroup
	if pg == nil || pg.GetName() != "spark-spark-pi-pg" || pg.GetOwnerReferences()[0].Kind != "SparkApplication" {
		t.Fatalf("PodGroup = %v", pg)
	}
	spec := pg.Object["spec"].(map[string]any)
	minRes := spec["minResources"].(map[string]any)
	// driver 1 CPU + 4 × 1500m; memory (512+384) + 4 × (8192+819) MiB
	if spec["minMember"] != int64(1) || spec["queue"] != "analytics" || spec["priorityClassName"] != "batch" {
		t.Errorf("spec = %v", spec)
	}
	if cpu := resource.MustParse(minRes["cpu"].(string)); cpu.MilliValue() != 7000 {
		t.Errorf("minResources.cpu = %v, want 7 (driver 1 + 4 × 1500m)", minRes["cpu"])
	}
	if mem := resource.MustParse(minRes["memory"].(string)); mem.Value() != (896+4*9011)<<20 {
		t.Errorf("minResources.memory = %v, want %dMi", minRes["memory"], 896+4*9011)
	}
	for _, pod := range []*corev1.Pod{objs.DriverPod, objs.ExecutorTemplate} {
		if pod.Spec.SchedulerName != "volcano" || pod.Annotations[VolcanoGroupAnnotation] != "spark-spark-pi-pg" {
			t.Errorf("pod %s: schedulerName %q annotations %v", pod.Name, pod.Spec.SchedulerName, pod.Annotations)
		}
	}
	// batchSchedulerOptions.resources replace the computed minimum.
	app := batchApp(v1alpha1.BatchSchedulerVolcano)
	app.Spec.BatchSchedulerOptions.Resources = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}
	objs, _ = Build(app, Options{Attempt: 1})
	if got := objs.PodGroup.Object["spec"].(map[string]any)["minResources"]; !cmp.Equal(got, map[string]any{"cpu": "3"}) {
		t.Errorf("minResources with batchSchedulerOptions.resources = %v", got)
	}
}

func TestYuniKornTaskGroups(t *testing.T) {
	objs, err := Build(batchApp(v1alpha1.BatchSchedulerYuniKorn), Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if objs.PodGroup != nil {
		t.Errorf("yunikorn needs no PodGroup")
	}
	d, e := objs.DriverPod, objs.ExecutorTemplate
	for _, pod := range []*corev1.Pod{d, e} {
		if pod.Spec.SchedulerName != "yunikorn" || pod.Labels[YuniKornQueueLabel] != "analytics" || pod.Labels[YuniKornAppIDLabel] != objs.Names.AppID {
			t.Errorf("pod: schedulerName %q labels %v", pod.Spec.SchedulerName, pod.Labels)
		}
	}
	if d.Annotations[YuniKornTaskGroupNameAnnotation] != DriverTaskGroup || e.Annotations[YuniKornTaskGroupNameAnnotation] != ExecutorTaskGroup {
		t.Errorf("task group names: driver %q executor %q", d.Annotations[YuniKornTaskGroupNameAnnotation], e.Annotations[YuniKornTaskGroupNameAnnotation])
	}
	var groups []yunikornTaskGroup
	if err := json.Unmarshal([]byte(d.Annotations[YuniKornTaskGroupsAnnotation]), &groups); err != nil {
		t.Fatal(err)
	}
	want := []yunikornTaskGroup{
		{Name: DriverTaskGroup, MinMember: 1, MinResource: map[string]string{"cpu": "1", "memory": "896Mi"}},
		{Name: ExecutorTaskGroup, MinMember: 4, MinResource: map[string]string{"cpu": "1500m", "memory": "9011Mi"}},
	}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("task groups (-want +got):\n%s", diff)
	}
	// kube-scheduler changes nothing.
	plain, _ := Build(scalaApp(), Options{Attempt: 1})
	kube, _ := Build(batchApp(v1alpha1.BatchSchedulerKubeScheduler), Options{Attempt: 1})
	if diff := cmp.Diff(plain.DriverPod, kube.DriverPod); diff != "" || kube.PodGroup != nil {
		t.Errorf("kube-scheduler changed the driver:\n%s", diff)
	}
}

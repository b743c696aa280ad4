package sparkapplication_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// TestVolcanoPodGroupBeforeDriver: a volcano application gets its PodGroup,
// accepted by Volcano's own CRD, owned by the application and no younger
// than the driver; the driver is in the group.
func TestVolcanoPodGroupBeforeDriver(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "gang")
	app.Spec.BatchScheduler = ptr.To(v1alpha1.BatchSchedulerVolcano)
	app.Spec.BatchSchedulerOptions = &v1alpha1.BatchSchedulerConfiguration{Queue: ptr.To("default")}
	h.create(app)
	h.reconcile("gang")
	pg := &unstructured.Unstructured{}
	pg.SetGroupVersionKind(submit.PodGroupGVK)
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: "spark-gang-pg"}, pg); err != nil {
		t.Fatalf("PodGroup: %v", err)
	}
	if owner := pg.GetOwnerReferences(); len(owner) != 1 || owner[0].UID != h.get("gang").UID {
		t.Errorf("PodGroup owners = %v", owner)
	}
	if min, _, _ := unstructured.NestedInt64(pg.Object, "spec", "minMember"); min != 1 {
		t.Errorf("minMember = %d", min)
	}
	driver := h.pod("gang-1-driver")
	if driver.Spec.SchedulerName != "volcano" || driver.Annotations[submit.VolcanoGroupAnnotation] != "spark-gang-pg" {
		t.Errorf("driver: schedulerName %q annotations %v", driver.Spec.SchedulerName, driver.Annotations)
	}
	if driver.CreationTimestamp.Before(ptr.To(pg.GetCreationTimestamp())) {
		t.Errorf("driver created at %v before its PodGroup at %v", driver.CreationTimestamp, pg.GetCreationTimestamp())
	}
}

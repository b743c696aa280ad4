package cli

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

func TestUITarget(t *testing.T) {
	app := &v1alpha1.SparkApplication{}
	app.Name = "pi"
	driver := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: submit.UIPortName, ContainerPort: 4050}}}}}}
	driver.Name = "pi-1-driver"
	driver.Status.Phase = corev1.PodPending
	if _, err := uiTarget(app, driver); err == nil || !strings.Contains(err.Error(), "Pending") {
		t.Errorf("a pending driver: error = %v, want one saying it is Pending", err)
	}
	driver.Status.Phase = corev1.PodRunning
	if port, err := uiTarget(app, driver); err != nil || port != 4050 {
		t.Errorf("a running driver: port %d, %v; want its spark-ui port 4050", port, err)
	}
}

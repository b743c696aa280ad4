package hub

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Event reasons the hub records, on hub applications and MemberClusters.
// Each is recorded once per transition, after the status reflecting it.
// A first placement records none: status.placement and condition Placed
// say it, and an event per application was one more API request (and etcd
// write) per application on the hub, a fifth of what placing costs it.
const (
	EventReplaced    = "Replaced"
	EventClusterLost = "ClusterLost"
	EventMemberLost  = "MemberLost"
)

// eventRecorder holds the typed constructors; a nil recorder records nothing.
type eventRecorder struct{ events.EventRecorder }

func (r eventRecorder) replaced(app *v1alpha1.SparkApplication, p *v1alpha1.Placement) {
	if r.EventRecorder == nil || p.Epoch <= 1 {
		return
	}
	r.Eventf(app, nil, corev1.EventTypeNormal, EventReplaced, "Place", "%s", truncate(fmt.Sprintf("Placed on member %s (epoch %d): %s", p.Cluster, p.Epoch, p.Reason), 1024))
}

func (r eventRecorder) clusterLost(app *v1alpha1.SparkApplication, member string, resubmitted bool) {
	if r.EventRecorder == nil {
		return
	}
	what := "it ends Failed: spec.restartPolicy allows no other run; set restartPolicy OnFailure to have such runs resubmitted"
	if resubmitted {
		what = "it is resubmitted on another member per spec.restartPolicy (the lost run may still be running there: at-least-once)"
	}
	r.Eventf(app, nil, corev1.EventTypeWarning, EventClusterLost, "Failover", "Member %s was lost after the application may have started there; %s", member, what)
}

func (r eventRecorder) memberLost(mc *v1alpha1.MemberCluster, lostAfter time.Duration) {
	if r.EventRecorder == nil {
		return
	}
	r.Eventf(mc, nil, corev1.EventTypeWarning, EventMemberLost, "Heartbeat", "No heartbeat for more than %s: applications that never started there are re-placed; check the member's API server and the kubeconfig Secret", lostAfter)
}

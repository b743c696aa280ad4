package sparkprofile

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
)

// TestZoneLoad: the per-zone count of unfinished applications follows
// application events: a zone recorded, a terminal state, a deletion (also
// as a tombstone), and events that change nothing.
func TestZoneLoad(t *testing.T) {
	app := func(uid, zone string, state v1alpha1.ApplicationState) *v1alpha1.SparkApplication {
		a := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: uid}}
		a.Status.Zone, a.Status.State = zone, state
		return a
	}
	l := newZoneLoad()
	steps := []struct {
		what string
		obj  any
		gone bool
		want map[string]int
	}{
		{"new, no zone yet", app("a", "", ""), false, map[string]int{}},
		{"a submitted in zone-a", app("a", "zone-a", v1alpha1.StatePending), false, map[string]int{"zone-a": 1}},
		{"b submitted in zone-a", app("b", "zone-a", v1alpha1.StatePending), false, map[string]int{"zone-a": 2}},
		{"a running: no change", app("a", "zone-a", v1alpha1.StateRunning), false, map[string]int{"zone-a": 2}},
		{"c in zone-b", app("c", "zone-b", v1alpha1.StatePending), false, map[string]int{"zone-a": 2, "zone-b": 1}},
		{"a succeeded", app("a", "zone-a", v1alpha1.StateSucceeded), false, map[string]int{"zone-a": 1, "zone-b": 1}},
		{"a deleted after it finished", app("a", "zone-a", v1alpha1.StateSucceeded), true, map[string]int{"zone-a": 1, "zone-b": 1}},
		{"b retrying keeps its zone", app("b", "zone-a", v1alpha1.StateRetrying), false, map[string]int{"zone-a": 1, "zone-b": 1}},
		{"b's deletion seen as a tombstone", toolscache.DeletedFinalStateUnknown{Key: "ns/b", Obj: app("b", "zone-a", v1alpha1.StateRunning)}, true, map[string]int{"zone-b": 1}},
		{"not an application", "junk", false, map[string]int{"zone-b": 1}},
		{"c deleted while running", app("c", "zone-b", v1alpha1.StateRunning), true, map[string]int{}},
	}
	h := clusterstate.TallyHandlers(l.account)
	for _, s := range steps {
		if s.gone {
			h.DeleteFunc(s.obj)
		} else {
			h.AddFunc(s.obj)
		}
		if got, _ := l.perZone(); !maps.Equal(got, s.want) {
			t.Errorf("after %s: %v, want %v", s.what, got, s.want)
		}
	}
	// perZone returns a copy.
	h.AddFunc(app("d", "zone-c", v1alpha1.StatePending))
	got, _ := l.perZone()
	got["zone-c"] = 99
	if again, _ := l.perZone(); again["zone-c"] != 1 {
		t.Error("perZone shares its map with the counter")
	}
	// An application deleted and recreated under its name, seen by a
	// relist as an update, leaves no count behind.
	h.UpdateFunc(app("d", "zone-c", v1alpha1.StatePending), app("e", "zone-a", v1alpha1.StatePending))
	if got, _ := l.perZone(); !maps.Equal(got, map[string]int{"zone-a": 1}) {
		t.Errorf("after d was recreated as e: %v, want zone-a: 1", got)
	}
}

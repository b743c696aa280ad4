package demo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBuildClustersReport(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	d := ClustersDemo{
		Seed: 7, Members: []string{"a", "b"}, Stopped: "b",
		MemberLabels: map[string]map[string]string{"a": {"env": "prod", "region": "east"}, "b": {"env": "prod", "region": "west"}}, Lease: 15 * time.Second, LostAfter: 30 * time.Second,
		PollInterval: 200 * time.Millisecond, StartedAt: t0, FinishedAt: at(200),
		Events: []ClusterEvent{
			{At: at(42), Member: "b", What: "Unreachable"},
			{At: at(10), Member: "a", What: "Healthy"},
			{At: at(40), Member: "b", What: EventAPIServerStopped},
			{At: at(71.5), Member: "b", What: "Lost"},
			{At: at(90), Member: "b", What: EventAPIServerStarted},
			{At: at(93), Member: "b", What: "Healthy"},
		},
		StaleCopies: 2, StaleCopiesGone: at(91.2),
		Apps: []ClusterApp{
			// Ran on a from the start.
			{Name: "on-a", State: "Succeeded", Finished: at(100), Placements: []PlacementSeen{{Cluster: "a", Epoch: 1, Seen: at(20), CopySeen: at(20.2)}},
				DriversOn: map[string]int{"a": 1}},
			// Placed on b as it stopped; never started there: re-placed.
			{Name: "moved", State: "Succeeded", Finished: at(150), Placements: []PlacementSeen{
				{Cluster: "b", Epoch: 1, Seen: at(40.5)}, {Cluster: "a", Epoch: 2, Seen: at(71.7), CopySeen: at(72.9)}},
				DriversOn: map[string]int{"a": 1}},
			// Ran on b: ClusterLost, resubmitted on a; its old driver on b
			// is the documented at-least-once case, not a duplicate.
			{Name: "resubmitted", State: "Succeeded", Finished: at(160), ClusterLost: true, Resubmissions: 1, Placements: []PlacementSeen{
				{Cluster: "b", Epoch: 1, Seen: at(30), CopySeen: at(30.2)}, {Cluster: "a", Epoch: 2, Seen: at(71.8), CopySeen: at(72.0)}},
				DriversOn: map[string]int{"a": 1, "b": 1}},
			// A fence failure: drivers on both members without ClusterLost.
			{Name: "twice", State: "Failed", Finished: at(170), Placements: []PlacementSeen{
				{Cluster: "b", Epoch: 1, Seen: at(39)}, {Cluster: "a", Epoch: 2, Seen: at(71.9), CopySeen: at(75.5)}},
				DriversOn: map[string]int{"a": 1, "b": 1}},
			{Name: "unfinished", State: "Running", Placements: []PlacementSeen{{Cluster: "a", Epoch: 1, Seen: at(50)}}},
			// Its selector allows b alone: it waited for b.
			{Name: "pinned", State: "Succeeded", Finished: at(180), ClusterSelector: map[string]string{"region": "west"},
				Placements: []PlacementSeen{{Cluster: "b", Epoch: 1, Seen: at(25), CopySeen: at(25.1)}}, DriversOn: map[string]int{"b": 1}},
			// Placed outside its selector (a placement bug).
			{Name: "misplaced", State: "Succeeded", Finished: at(120), ClusterSelector: map[string]string{"env": "test"},
				Placements: []PlacementSeen{{Cluster: "a", Epoch: 1, Seen: at(60)}}, DriversOn: map[string]int{"a": 1}},
		},
	}
	rep, apps := BuildClustersReport(d)
	want := ClustersReport{
		StoppedMember: "b", Replaced: 2, Resubmitted: 1, DetectionSeconds: 31.5, ReplacementSeconds: 4,
		LeaseSeconds: 15, LostAfterSeconds: 30, StaleCopies: 2, StaleCopiesGoneSeconds: 1.2, Duplicates: 1, Unfinished: 1, PollSeconds: 0.2,
		SelectorViolations: 1, KeptBySelector: 1,
		Members: []MemberFigures{
			{Name: "a", Placed: 6, Finished: 5, Succeeded: 4, Failed: 1},
			{Name: "b", Placed: 4, Finished: 1, Succeeded: 1},
		},
		Timeline: []TimelineEvent{{10, "a", "Healthy"}, {40, "b", EventAPIServerStopped}, {42, "b", "Unreachable"}, {71.5, "b", "Lost"},
			{90, "b", EventAPIServerStarted}, {93, "b", "Healthy"}},
	}
	approx := cmp.Comparer(func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 })
	if diff := cmp.Diff(want, rep, approx); diff != "" {
		t.Errorf("clusters report (-want +got):\n%s", diff)
	}
	if apps.Total != 7 || apps.Succeeded != 5 || apps.Failed != 1 {
		t.Errorf("applications %+v: want 7, 5 succeeded, 1 failed", apps)
	}

	// report.json carries "clusters" and leaves out the single-cluster
	// sections; the page draws the timeline.
	data, err := json.Marshal(Report{Applications: apps, Clusters: &rep})
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"applications", "clusters"} {
		if _, ok := top[key]; !ok {
			t.Errorf("report.json lacks %q: %s", key, data)
		}
	}
	for _, key := range []string{"interruptions", "shuffle", "cost", "nodes", "images"} {
		if _, ok := top[key]; ok {
			t.Errorf("report.json of a multi-cluster demo has %q", key)
		}
	}
	var page bytes.Buffer
	if err := RenderClustersHTML(&page, d, Report{Applications: apps, Clusters: &rep}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "multi-cluster timeline", "b: Lost", "b: " + EventAPIServerStopped, "a (epoch 2)", "ClusterLost", memberColor("a"), memberColor("b")} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

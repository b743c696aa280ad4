package demo

import (
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"sort"
	"time"
)

// Member cluster events of the multi-cluster demo's timeline (ClusterEvent.What):
// the demo's own actions, then the states the hub gave the member.
const (
	EventAPIServerStopped = "API server stopped"
	EventAPIServerStarted = "API server started"
)

// ClustersDemo is what `sparkplane demo --clusters 2` observed: the hub's
// view of every application (polled), the copies and driver pods on each
// member (polled), and the members' states. BuildClustersReport reads it.
type ClustersDemo struct {
	Seed int64 `json:"seed"`
	// Members are the member clusters' names; Stopped is the one whose API
	// server the demo stopped mid-run and started again.
	Members []string `json:"members"`
	// MemberLabels are the MemberClusters' labels, by name.
	MemberLabels map[string]map[string]string `json:"memberLabels"`
	Stopped      string                       `json:"stopped"`
	// Lease and LostAfter are the hub's settings.
	Lease     time.Duration `json:"lease"`
	LostAfter time.Duration `json:"lostAfter"`
	// PollInterval is how often the demo looked (the measurements' resolution).
	PollInterval time.Duration  `json:"pollInterval"`
	StartedAt    time.Time      `json:"startedAt"`
	FinishedAt   time.Time      `json:"finishedAt"`
	Events       []ClusterEvent `json:"events"`
	Apps         []ClusterApp   `json:"apps"`
	// StaleCopies counts the copies the demo saw on the stopped member that
	// are not their application's last placement (an older epoch, or an
	// application the hub moved elsewhere); StaleCopiesGone is when one was
	// last seen after the member's API server started again (zero: none
	// was); StaleCopiesLeft how many were still there at the last look.
	StaleCopies     int       `json:"staleCopies"`
	StaleCopiesGone time.Time `json:"staleCopiesGone"`
	StaleCopiesLeft int       `json:"staleCopiesLeft"`
}

// ClusterEvent is one moment of the timeline: a member's state as the hub
// wrote it (Healthy, Unreachable, Lost) or one of the demo's actions.
type ClusterEvent struct {
	At     time.Time `json:"at"`
	Member string    `json:"member"`
	What   string    `json:"what"`
}

// ClusterApp is one hub application as the demo saw it.
type ClusterApp struct {
	Name      string    `json:"name"`
	Submitted time.Time `json:"submitted"`
	// ClusterSelector is spec.clusterSelector's matchLabels.
	ClusterSelector map[string]string `json:"clusterSelector"`
	// State is the hub's final state (or the last seen when the demo gave up).
	State    string    `json:"state"`
	Finished time.Time `json:"finished"`
	// Placements in epoch order, as status.placement showed them.
	Placements []PlacementSeen `json:"placements"`
	// ClusterLost: the hub set condition ClusterLost (the driver may have
	// started on a member that was lost); Resubmissions as the hub counted them.
	ClusterLost   bool  `json:"clusterLost"`
	Resubmissions int32 `json:"resubmissions"`
	// DriversOn counts the distinct driver pods seen on each member.
	DriversOn map[string]int `json:"driversOn"`
}

// PlacementSeen is one placement of an application: where, which epoch,
// when the hub placed it (status.placement.time, the hub's clock, in
// seconds) and when the demo first saw the copy on the member (zero: never).
type PlacementSeen struct {
	Cluster  string    `json:"cluster"`
	Epoch    int64     `json:"epoch"`
	Seen     time.Time `json:"seen"`
	CopySeen time.Time `json:"copySeen"`
}

// ClustersReport is report.json's "clusters": measured on the local
// clusters, none of it from a model.
type ClustersReport struct {
	Members []MemberFigures `json:"members"`
	// StoppedMember is the member whose API server was stopped.
	StoppedMember string `json:"stoppedMember"`
	// Replaced counts applications moved off the lost member with epoch + 1
	// because they had not started there; Resubmitted those that may have
	// started (condition ClusterLost) and were run again per restartPolicy;
	// FailedClusterLost those restartPolicy did not allow to run again.
	Replaced          int `json:"replaced"`
	Resubmitted       int `json:"resubmitted"`
	FailedClusterLost int `json:"failedClusterLost"`
	// DetectionSeconds: API server stopped → member Lost (reference:
	// lost-after + 5 s). ReplacementSeconds: Lost → the last re-placed
	// application's copy seen on another member.
	DetectionSeconds   float64 `json:"detectionSeconds"`
	ReplacementSeconds float64 `json:"replacementSeconds"`
	LeaseSeconds       float64 `json:"leaseSeconds"`
	LostAfterSeconds   float64 `json:"lostAfterSeconds"`
	// StaleCopies on the stopped member (copies of an older epoch, or of
	// applications moved off it) deleted on its return; how long after its
	// API server started the last one was seen (0: gone at the first look);
	// StaleCopiesLeft: still there at the end (always 0).
	StaleCopies            int     `json:"staleCopies"`
	StaleCopiesGoneSeconds float64 `json:"staleCopiesGoneSeconds"`
	StaleCopiesLeft        int     `json:"staleCopiesLeft"`
	// Duplicates counts applications whose drivers were seen on two members
	// although the hub never declared them ClusterLost (the fence's
	// invariant: always 0). Resubmitted applications may run twice by
	// design (at-least-once; docs/multi-cluster.md).
	Duplicates int `json:"duplicates"`
	// SelectorViolations counts placements on a member whose labels do not
	// match the application's clusterSelector (always 0). KeptBySelector
	// counts applications on the stopped member that their selector allowed
	// nowhere else: they waited for it rather than move.
	SelectorViolations int `json:"selectorViolations"`
	KeptBySelector     int `json:"keptBySelector"`
	// Unfinished counts applications without a final state at the end.
	Unfinished int `json:"unfinished"`
	// Timeline: the member events in time order, seconds from the start.
	Timeline []TimelineEvent `json:"timeline"`
	// PollSeconds is the resolution of the times above.
	PollSeconds float64 `json:"pollSeconds"`
}

// MemberFigures are one member's applications: placed there (at any epoch)
// and finished there (their final placement), by final state.
type MemberFigures struct {
	Name      string `json:"name"`
	Placed    int    `json:"placed"`
	Finished  int    `json:"finished"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
}

// TimelineEvent is a ClusterEvent at seconds from the demo's start.
type TimelineEvent struct {
	Seconds float64 `json:"seconds"`
	Member  string  `json:"member"`
	What    string  `json:"what"`
}

// firstEvent returns the first event of member with what at or after from.
func (d ClustersDemo) firstEvent(member, what string, from time.Time) (time.Time, bool) {
	for _, e := range d.Events {
		if e.Member == member && e.What == what && !e.At.Before(from) {
			return e.At, true
		}
	}
	return time.Time{}, false
}

// BuildClustersReport turns the observations into report.json's "clusters"
// and the applications' totals.
func BuildClustersReport(d ClustersDemo) (ClustersReport, ApplicationsReport) {
	rep := ClustersReport{StoppedMember: d.Stopped, LeaseSeconds: d.Lease.Seconds(), LostAfterSeconds: d.LostAfter.Seconds(),
		StaleCopies: d.StaleCopies, StaleCopiesLeft: d.StaleCopiesLeft, PollSeconds: d.PollInterval.Seconds()}
	apps := ApplicationsReport{ByProfile: map[string]int{}}
	events := slices.Clone(d.Events)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	for _, e := range events {
		rep.Timeline = append(rep.Timeline, TimelineEvent{Seconds: e.At.Sub(d.StartedAt).Seconds(), Member: e.Member, What: e.What})
	}
	d.Events = events
	stopped, wasStopped := d.firstEvent(d.Stopped, EventAPIServerStopped, time.Time{})
	lost, wasLost := d.firstEvent(d.Stopped, "Lost", stopped)
	if wasStopped && wasLost {
		rep.DetectionSeconds = lost.Sub(stopped).Seconds()
	}
	if started, ok := d.firstEvent(d.Stopped, EventAPIServerStarted, stopped); ok && !d.StaleCopiesGone.IsZero() {
		rep.StaleCopiesGoneSeconds = max(d.StaleCopiesGone.Sub(started).Seconds(), 0)
	}

	byMember := map[string]*MemberFigures{}
	for _, m := range d.Members {
		byMember[m] = &MemberFigures{Name: m}
	}
	member := func(name string) *MemberFigures {
		if byMember[name] == nil {
			byMember[name] = &MemberFigures{Name: name}
		}
		return byMember[name]
	}
	for _, a := range d.Apps {
		apps.Total++
		apps.ByProfile["default"]++
		terminal := a.State == "Succeeded" || a.State == "Failed"
		switch a.State {
		case "Succeeded":
			apps.Succeeded++
		case "Failed":
			apps.Failed++
		default:
			rep.Unfinished++
		}
		placedOn := map[string]bool{}
		for _, p := range a.Placements {
			placedOn[p.Cluster] = true
			if !labels.SelectorFromSet(a.ClusterSelector).Matches(labels.Set(d.MemberLabels[p.Cluster])) {
				rep.SelectorViolations++
			}
		}
		if placedOn[d.Stopped] && len(placedOn) == 1 && wasLost && len(a.Placements) > 0 && a.Placements[0].Seen.Before(lost) {
			allowsOther := false
			for _, m := range d.Members {
				if m != d.Stopped && labels.SelectorFromSet(a.ClusterSelector).Matches(labels.Set(d.MemberLabels[m])) {
					allowsOther = true
				}
			}
			if !allowsOther {
				rep.KeptBySelector++
			}
		}
		for m := range placedOn {
			member(m).Placed++
		}
		if n := len(a.Placements); n > 0 && terminal {
			f := member(a.Placements[n-1].Cluster)
			f.Finished++
			if a.State == "Succeeded" {
				f.Succeeded++
			} else {
				f.Failed++
			}
		}
		switch {
		case a.ClusterLost && a.Resubmissions > 0:
			rep.Resubmitted++
		case a.ClusterLost:
			rep.FailedClusterLost++
		}
		// Re-placed: a later epoch on another member without ClusterLost.
		if !a.ClusterLost {
			for i := 1; i < len(a.Placements); i++ {
				prev, next := a.Placements[i-1], a.Placements[i]
				if prev.Cluster != d.Stopped || next.Cluster == prev.Cluster {
					continue
				}
				rep.Replaced++
				if wasLost && !next.CopySeen.IsZero() {
					rep.ReplacementSeconds = max(rep.ReplacementSeconds, next.CopySeen.Sub(lost).Seconds())
				}
				break
			}
		}
		on := 0
		for _, n := range a.DriversOn {
			if n > 0 {
				on++
			}
		}
		if on > 1 && !a.ClusterLost {
			rep.Duplicates++
		}
	}
	names := make([]string, 0, len(byMember))
	for name := range byMember {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rep.Members = append(rep.Members, *byMember[name])
	}
	return rep, apps
}

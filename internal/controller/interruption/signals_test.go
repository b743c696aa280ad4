package interruption

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseSignals(t *testing.T) {
	cases := map[string]struct {
		entries []string
		want    []string // signal names
		wantErr string
	}{
		"default is every built-in signal": {entries: []string{"default"}, want: SignalNames()},
		"a subset, in the given order": {
			entries: []string{"nth-spot-itn", " karpenter-disrupted "},
			want:    []string{SignalNTHSpotITN, SignalKarpenterDisrupted},
		},
		"duplicates collapse":       {entries: []string{"node-deletion", "default", "node-deletion"}, want: append([]string{SignalNodeDeletion}, SignalNames()[:6]...)},
		"custom taint, any effect":  {entries: []string{"taint:example.com/going-away"}, want: []string{"taint:example.com/going-away"}},
		"custom taint with effect":  {entries: []string{"taint:example.com/going-away:NoExecute"}, want: []string{"taint:example.com/going-away:NoExecute"}},
		"nothing":                   {entries: nil, wantErr: `none given; use "default"`},
		"only blanks":               {entries: []string{" ", ""}, wantErr: "none given"},
		"unknown name":              {entries: []string{"spot"}, wantErr: `"spot" is not known: use one of karpenter-disrupted`},
		"custom taint without key":  {entries: []string{"taint:"}, wantErr: "taint key is empty"},
		"custom taint bad key":      {entries: []string{"taint:not a key"}, wantErr: `taint key "not a key" is not a valid key`},
		"custom taint bad effect":   {entries: []string{"taint:example.com/x:Evict"}, wantErr: `taint effect "Evict" is not valid: use NoSchedule`},
		"custom taint empty effect": {entries: []string{"taint:example.com/x:"}, wantErr: "effect after \"example.com/x:\" is empty"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSignals(tc.entries)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSignals(%q) error = %v, want one containing %q", tc.entries, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSignals(%q): %v", tc.entries, err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("signal names (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseSignals(f *testing.F) {
	for _, seed := range []string{"default", "nth-spot-itn,karpenter-disrupted", "taint:a/b:NoSchedule", "taint::", "taint:a:b:c", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		signals, err := ParseSignals(strings.Split(in, ","))
		if err != nil {
			if signals != nil {
				t.Fatalf("ParseSignals(%q) returned signals with error %v", in, err)
			}
			return
		}
		if len(signals) == 0 {
			t.Fatalf("ParseSignals(%q) returned no signals and no error", in)
		}
		seen := map[string]bool{}
		for _, s := range signals {
			if s.Name == "" || (s.TaintKey == "") == !s.NodeDeletion || seen[s.Name] {
				t.Fatalf("ParseSignals(%q) returned a malformed or duplicate signal %+v", in, s)
			}
			seen[s.Name] = true
		}
	})
}

func TestDetectNotice(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-40 * time.Second)
	earliest := now.Add(-70 * time.Second)
	taint := func(key string, effect corev1.TaintEffect) corev1.Taint {
		return corev1.Taint{Key: key, Effect: effect}
	}
	timed := func(t corev1.Taint, at time.Time) corev1.Taint {
		t.TimeAdded = &metav1.Time{Time: at}
		return t
	}
	node := func(taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	annotated := func(n *corev1.Node, v string) *corev1.Node {
		n.Annotations = map[string]string{NoticeAnnotation: v}
		return n
	}
	deleted := func(n *corev1.Node, at time.Time) *corev1.Node {
		n.DeletionTimestamp = &metav1.Time{Time: at}
		return n
	}
	cases := map[string]struct {
		node    *corev1.Node
		signals []Signal
		want    Notice
		wantOK  bool
	}{
		"healthy node":            {node: node()},
		"unrelated taints":        {node: node(taint("node.kubernetes.io/unschedulable", corev1.TaintEffectNoSchedule), taint("DeletionCandidateOfClusterAutoscaler", corev1.TaintEffectPreferNoSchedule))},
		"karpenter, first seen":   {node: node(taint(TaintKarpenterDisrupted, corev1.TaintEffectNoSchedule)), want: Notice{Signal: SignalKarpenterDisrupted, Time: now}, wantOK: true},
		"karpenter, wrong effect": {node: node(taint(TaintKarpenterDisrupted, corev1.TaintEffectNoExecute))},
		"karpenter, persisted notice survives a restart": {
			node: annotated(node(taint(TaintKarpenterDisrupted, corev1.TaintEffectNoSchedule)), earlier.Format(time.RFC3339Nano)),
			want: Notice{Signal: SignalKarpenterDisrupted, Time: earlier, Persisted: true}, wantOK: true,
		},
		"taint timeAdded wins over a later annotation": {
			node: annotated(node(timed(taint(TaintNTHSpotITN, corev1.TaintEffectNoExecute), earliest)), earlier.Format(time.RFC3339Nano)),
			want: Notice{Signal: SignalNTHSpotITN, Time: earliest, Persisted: true}, wantOK: true,
		},
		"malformed annotation is rewritten": {
			node: annotated(node(taint(TaintNTHSpotITN, corev1.TaintEffectNoSchedule)), "yesterday"),
			want: Notice{Signal: SignalNTHSpotITN, Time: now}, wantOK: true,
		},
		"annotation in the future is capped at now": {
			node: annotated(node(taint(TaintNTHSpotITN, corev1.TaintEffectNoSchedule)), now.Add(time.Minute).Format(time.RFC3339Nano)),
			want: Notice{Signal: SignalNTHSpotITN, Time: now, Persisted: true}, wantOK: true,
		},
		"nth rebalance recommendation": {node: node(taint(TaintNTHRebalanceRecommendation, corev1.TaintEffectNoSchedule)), want: Notice{Signal: SignalNTHRebalanceRecommendation, Time: now}, wantOK: true},
		"nth asg lifecycle":            {node: node(taint(TaintNTHASGLifecycleTermination, corev1.TaintEffectNoExecute)), want: Notice{Signal: SignalNTHASGLifecycleTermination, Time: now}, wantOK: true},
		"nth scheduled maintenance":    {node: node(taint(TaintNTHScheduledMaintenance, corev1.TaintEffectNoSchedule)), want: Notice{Signal: SignalNTHScheduledMaintenance, Time: now}, wantOK: true},
		"cluster-autoscaler value is the Unix time": {
			node: node(corev1.Taint{Key: TaintClusterAutoscaler, Value: "1795607940", Effect: corev1.TaintEffectNoSchedule}), // 2026-11-25T11:59:00Z
			want: Notice{Signal: SignalClusterAutoscaler, Time: time.Unix(1795607940, 0)}, wantOK: true,
		},
		"cluster-autoscaler value not a time": {
			node: node(corev1.Taint{Key: TaintClusterAutoscaler, Value: "soon", Effect: corev1.TaintEffectNoSchedule}),
			want: Notice{Signal: SignalClusterAutoscaler, Time: now}, wantOK: true,
		},
		"node being deleted": {node: deleted(node(), earlier), want: Notice{Signal: SignalNodeDeletion, Time: earlier}, wantOK: true},
		"earliest of several signals names the notice": {
			node: deleted(node(taint(TaintKarpenterDisrupted, corev1.TaintEffectNoSchedule), timed(taint(TaintNTHSpotITN, corev1.TaintEffectNoExecute), earliest)), earlier),
			want: Notice{Signal: SignalNTHSpotITN, Time: earliest}, wantOK: true,
		},
		"withdrawn signal leaves only the annotation": {node: annotated(node(), earlier.Format(time.RFC3339Nano))},
		"signal not configured": {
			node:    node(taint(TaintNTHRebalanceRecommendation, corev1.TaintEffectNoSchedule)),
			signals: mustParse(t, "nth-spot-itn", "karpenter-disrupted"),
		},
		"custom taint": {
			node:    node(taint("example.com/going-away", corev1.TaintEffectNoExecute)),
			signals: mustParse(t, "taint:example.com/going-away"),
			want:    Notice{Signal: "taint:example.com/going-away", Time: now}, wantOK: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			signals := tc.signals
			if signals == nil {
				signals = DefaultSignals()
			}
			got, ok := DetectNotice(tc.node, signals, now)
			if ok != tc.wantOK {
				t.Fatalf("DetectNotice found = %v, want %v (notice %+v)", ok, tc.wantOK, got)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("notice (-want +got):\n%s", diff)
			}
		})
	}
}

func mustParse(t *testing.T, entries ...string) []Signal {
	t.Helper()
	s, err := ParseSignals(entries)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

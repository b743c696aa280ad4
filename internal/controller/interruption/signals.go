package interruption

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Signal is one way a cluster says "this node is going away". A signal is
// either a taint (matched by key and, when Effect is set, by effect) or the
// node's deletion (a deletionTimestamp, or the node object being gone).
type Signal struct {
	// Name identifies the signal in configuration, metrics and events.
	Name string
	// TaintKey is the taint that carries the signal; empty for NodeDeletion.
	TaintKey string
	// TaintEffect restricts the match to one effect; empty matches any.
	TaintEffect corev1.TaintEffect
	// NodeDeletion marks the node-deletion signal.
	NodeDeletion bool
}

// The built-in signal names, as accepted by ParseSignals.
const (
	SignalKarpenterDisrupted         = "karpenter-disrupted"
	SignalNTHSpotITN                 = "nth-spot-itn"
	SignalNTHRebalanceRecommendation = "nth-rebalance-recommendation"
	SignalNTHASGLifecycleTermination = "nth-asg-lifecycle-termination"
	SignalNTHScheduledMaintenance    = "nth-scheduled-maintenance"
	SignalClusterAutoscaler          = "cluster-autoscaler"
	SignalNodeDeletion               = "node-deletion"
)

// The taints the built-in signals look for.
const (
	// TaintKarpenterDisrupted is Karpenter's NoSchedule taint on a node it
	// is about to drain and terminate (Spot interruption, consolidation,
	// expiry, NodeClaim deletion).
	TaintKarpenterDisrupted = karpv1.DisruptedTaintKey
	// The aws-node-termination-handler taints; their effect is configurable
	// in NTH (NoSchedule by default), so any effect matches.
	TaintNTHSpotITN                 = "aws-node-termination-handler/spot-itn"
	TaintNTHRebalanceRecommendation = "aws-node-termination-handler/rebalance-recommendation"
	TaintNTHASGLifecycleTermination = "aws-node-termination-handler/asg-lifecycle-termination"
	TaintNTHScheduledMaintenance    = "aws-node-termination-handler/scheduled-maintenance"
	// TaintClusterAutoscaler is cluster-autoscaler's taint on a node it is
	// scaling down; its value is the Unix time (seconds) it was added.
	TaintClusterAutoscaler = "ToBeDeletedByClusterAutoscaler"
)

// builtinSignals lists every built-in signal in the order they are reported
// when several are present at the same time.
var builtinSignals = []Signal{
	{Name: SignalKarpenterDisrupted, TaintKey: TaintKarpenterDisrupted, TaintEffect: corev1.TaintEffectNoSchedule},
	{Name: SignalNTHSpotITN, TaintKey: TaintNTHSpotITN},
	{Name: SignalNTHRebalanceRecommendation, TaintKey: TaintNTHRebalanceRecommendation},
	{Name: SignalNTHASGLifecycleTermination, TaintKey: TaintNTHASGLifecycleTermination},
	{Name: SignalNTHScheduledMaintenance, TaintKey: TaintNTHScheduledMaintenance},
	{Name: SignalClusterAutoscaler, TaintKey: TaintClusterAutoscaler},
	{Name: SignalNodeDeletion, NodeDeletion: true},
}

// DefaultSignals returns every built-in signal; all are on by default.
func DefaultSignals() []Signal { return slices.Clone(builtinSignals) }

// SignalNames returns the names of the built-in signals.
func SignalNames() []string {
	names := make([]string, 0, len(builtinSignals))
	for _, s := range builtinSignals {
		names = append(names, s.Name)
	}
	return names
}

// ParseSignals turns configuration into signals. Each entry is a built-in
// signal name (see SignalNames), "default" for all of them, or a custom taint
// written "taint:KEY" or "taint:KEY:EFFECT" (EFFECT one of NoSchedule,
// PreferNoSchedule, NoExecute). Duplicates are dropped; an empty list is an
// error, since a controller watching for nothing is a misconfiguration.
func ParseSignals(entries []string) ([]Signal, error) {
	var out []Signal
	seen := map[string]bool{}
	add := func(s Signal) {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	for _, raw := range entries {
		entry := strings.TrimSpace(raw)
		switch {
		case entry == "":
			continue
		case entry == "default":
			for _, s := range builtinSignals {
				add(s)
			}
		case strings.HasPrefix(entry, "taint:"):
			s, err := parseTaintSignal(strings.TrimPrefix(entry, "taint:"))
			if err != nil {
				return nil, fmt.Errorf("interruption signal %q: %w", entry, err)
			}
			add(s)
		default:
			i := slices.IndexFunc(builtinSignals, func(s Signal) bool { return s.Name == entry })
			if i < 0 {
				return nil, fmt.Errorf("interruption signal %q is not known: use one of %s, \"default\", or \"taint:KEY[:EFFECT]\" for a custom taint",
					entry, strings.Join(SignalNames(), ", "))
			}
			add(builtinSignals[i])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("interruption signals: none given; use \"default\" for all of %s", strings.Join(SignalNames(), ", "))
	}
	return out, nil
}

func parseTaintSignal(spec string) (Signal, error) {
	key, effect := spec, ""
	// A taint key may hold one "/" but no ":", so the last ":" (if any)
	// separates the effect.
	if i := strings.LastIndex(spec, ":"); i >= 0 {
		key, effect = spec[:i], spec[i+1:]
	}
	if key == "" {
		return Signal{}, fmt.Errorf("the taint key is empty; write taint:KEY or taint:KEY:EFFECT")
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return Signal{}, fmt.Errorf("taint key %q is not a valid key: %s", key, strings.Join(errs, "; "))
	}
	s := Signal{Name: "taint:" + key, TaintKey: key}
	switch corev1.TaintEffect(effect) {
	case "":
		if strings.HasSuffix(spec, ":") {
			return Signal{}, fmt.Errorf("the taint effect after %q is empty; use NoSchedule, PreferNoSchedule or NoExecute, or leave out the colon to match any effect", key+":")
		}
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		s.TaintEffect = corev1.TaintEffect(effect)
		s.Name += ":" + effect
	default:
		return Signal{}, fmt.Errorf("taint effect %q is not valid: use NoSchedule, PreferNoSchedule or NoExecute", effect)
	}
	return s, nil
}

// NoticeAnnotation is where the controller persists a notice's time.
const NoticeAnnotation = v1alpha1.AnnotationInterruptionNoticeTime

// Notice is an interruption notice found on a node.
type Notice struct {
	// Signal is the name of the signal that gave the notice: the one with the
	// earliest known time, else the first present in configuration order.
	Signal string
	// Time is when the notice first appeared.
	Time time.Time
	// Persisted reports whether the node already carries NoticeAnnotation.
	Persisted bool
}

// DetectNotice reports whether node carries one of signals and, if so, when
// the notice first appeared: the earliest of the taints' timeAdded, the
// cluster-autoscaler taint's Unix-time value, the deletionTimestamp and the
// persisted NoticeAnnotation; when none of those is known, firstSeen (the
// caller's clock, at first observation). Pure: it reads only its arguments.
func DetectNotice(node *corev1.Node, signals []Signal, firstSeen time.Time) (Notice, bool) {
	var (
		notice   Notice
		found    bool
		earliest time.Time
	)
	consider := func(name string, at time.Time) {
		if !found {
			notice.Signal, found = name, true
		}
		if !at.IsZero() && (earliest.IsZero() || at.Before(earliest)) {
			earliest, notice.Signal = at, name
		}
	}
	for _, s := range signals {
		if s.NodeDeletion {
			if node.DeletionTimestamp != nil {
				consider(s.Name, node.DeletionTimestamp.Time)
			}
			continue
		}
		for i := range node.Spec.Taints {
			taint := &node.Spec.Taints[i]
			if taint.Key != s.TaintKey || (s.TaintEffect != "" && taint.Effect != s.TaintEffect) {
				continue
			}
			consider(s.Name, taintTime(taint, firstSeen))
			break
		}
	}
	if !found {
		return Notice{}, false
	}
	if persisted, ok := persistedNotice(node); ok {
		notice.Persisted = true
		if earliest.IsZero() || persisted.Before(earliest) {
			earliest = persisted
		}
	}
	if earliest.IsZero() || earliest.After(firstSeen) {
		// A time in the future is clock skew between writers: the notice
		// cannot have started later than we first saw it.
		earliest = firstSeen
	}
	notice.Time = earliest
	return notice, true
}

// taintTime is when a taint was added, zero when unknown. The API server
// only fills timeAdded for NoExecute taints; cluster-autoscaler writes the
// Unix time into its taint's value.
func taintTime(taint *corev1.Taint, now time.Time) time.Time {
	if taint.TimeAdded != nil {
		return taint.TimeAdded.Time
	}
	if taint.Key == TaintClusterAutoscaler {
		if secs, err := strconv.ParseInt(taint.Value, 10, 64); err == nil && secs > 0 {
			at := time.Unix(secs, 0)
			if !at.After(now) {
				return at
			}
		}
	}
	return time.Time{}
}

// persistedNotice reads NoticeAnnotation; a malformed value counts as absent
// (it is rewritten).
func persistedNotice(node *corev1.Node) (time.Time, bool) {
	v, ok := node.Annotations[NoticeAnnotation]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

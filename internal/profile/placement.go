package profile

import (
	"fmt"
	"maps"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Placement is a pod's placement as the scheduler sees it: what `sparkplane
// explain` prints for the driver and the executors.
type Placement struct {
	// Source says what it was read from: the driver pod, the executor pod
	// template, or the effective spec when nothing is submitted yet.
	Source string `json:"source"`
	// Required are the required node selector terms (any one must match),
	// each rendered as its ANDed requirements.
	Required []string `json:"required,omitempty"`
	// Preferred are the preferred terms with their weights.
	Preferred    []string          `json:"preferred,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Tolerations  []string          `json:"tolerations,omitempty"`
	// PriorityClassName of the pod.
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// TerminationGracePeriodSeconds of the pod.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// DoNotDisrupt is the pod's karpenter.sh/do-not-disrupt annotation.
	DoNotDisrupt bool `json:"doNotDisrupt,omitempty"`
	// Node is where the pod runs, with the node's zone, arch and capacity
	// labels; empty until it is scheduled.
	Node       string            `json:"node,omitempty"`
	NodeLabels map[string]string `json:"nodeLabels,omitempty"`
}

// PlacementOf reads the placement of a pod (or pod template).
func PlacementOf(source string, annotations map[string]string, spec corev1.PodSpec) Placement {
	p := Placement{
		Source:                        source,
		NodeSelector:                  maps.Clone(spec.NodeSelector),
		PriorityClassName:             spec.PriorityClassName,
		TerminationGracePeriodSeconds: spec.TerminationGracePeriodSeconds,
		DoNotDisrupt:                  annotations[karpv1.DoNotDisruptAnnotationKey] == "true",
		Node:                          spec.NodeName,
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		if req := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			for _, t := range req.NodeSelectorTerms {
				p.Required = append(p.Required, FormatTerm(t))
			}
		}
		for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			p.Preferred = append(p.Preferred, fmt.Sprintf("weight %d: %s", t.Weight, FormatTerm(t.Preference)))
		}
	}
	for _, t := range spec.Tolerations {
		p.Tolerations = append(p.Tolerations, FormatToleration(t))
	}
	return p
}

// EffectivePlacement is the placement the effective application gives the
// driver or the executors (role "driver" or "executor") before submission:
// the pod's node selector merged over spec.nodeSelector, as submission does.
func EffectivePlacement(app *v1alpha1.SparkApplication, role string) Placement {
	pod := app.Spec.Driver.SparkPodSpec
	priority := app.Spec.Driver.PriorityClassName
	if role == "executor" {
		pod = app.Spec.Executor.SparkPodSpec
		priority = app.Spec.Executor.PriorityClassName
	}
	selector := maps.Clone(app.Spec.NodeSelector)
	if len(pod.NodeSelector) > 0 && selector == nil {
		selector = map[string]string{}
	}
	maps.Copy(selector, pod.NodeSelector)
	return PlacementOf("effective spec (not submitted yet)", pod.Annotations, corev1.PodSpec{
		Affinity:                      pod.Affinity,
		Tolerations:                   pod.Tolerations,
		NodeSelector:                  selector,
		PriorityClassName:             ptr.Deref(priority, ""),
		TerminationGracePeriodSeconds: pod.TerminationGracePeriodSeconds,
	})
}

// FormatRequirement renders a node selector requirement: "key In [a b]".
func FormatRequirement(e corev1.NodeSelectorRequirement) string { return formatRequirement(e) }

// FormatTerm renders a node selector term as its ANDed requirements.
func FormatTerm(t corev1.NodeSelectorTerm) string { return formatTerm(t) }

// FormatToleration renders a toleration: "key=value:Effect" or "key Exists:Effect".
func FormatToleration(t corev1.Toleration) string { return formatToleration(t) }

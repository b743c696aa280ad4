package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// BatchSchedulerConfiguration tunes the batch scheduler (spec.batchScheduler)
// as Kubeflow's spec.batchSchedulerOptions.
type BatchSchedulerConfiguration struct {
	// Queue is the scheduler's queue: Volcano's PodGroup queue, YuniKorn's
	// queue label.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Queue *string `json:"queue,omitempty"`
	// PriorityClassName of Volcano's PodGroup.
	// +optional
	PriorityClassName *string `json:"priorityClassName,omitempty"`
	// Resources replace the gang's minimum resources (default: the driver
	// plus every executor).
	// +optional
	Resources corev1.ResourceList `json:"resources,omitempty"`
}

// Batch schedulers spec.batchScheduler names.
const (
	BatchSchedulerVolcano       = "volcano"
	BatchSchedulerYuniKorn      = "yunikorn"
	BatchSchedulerKubeScheduler = "kube-scheduler"
)

// LabelKueueQueueName puts an application in a Kueue LocalQueue: with
// spec.suspend unset it is held (as if suspended) until Kueue admits its
// Workload, which sets spec.suspend to false.
const LabelKueueQueueName = "kueue.x-k8s.io/queue-name"

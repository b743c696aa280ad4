package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Field names and meanings follow the Kubeflow spark-operator's
// sparkoperator.k8s.io/v1beta2 ScheduledSparkApplication, so a manifest moves
// over by changing apiVersion. Differences: runs are named from their
// scheduled time (an operator restart never starts one slot twice),
// startingDeadlineSeconds bounds late starts as a CronJob's does, and
// status.conditions carry the detail of status.scheduleState.

// ConcurrencyPolicy says what a schedule does when a slot comes while an
// earlier run is unfinished.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

// The concurrency policies.
const (
	// ConcurrencyAllow starts the new run beside the unfinished ones (the default).
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyForbid skips the slot while a run is unfinished.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyReplace deletes the unfinished runs, then starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// ScheduleState is a one-word summary of a schedule's conditions.
type ScheduleState string

// The schedule states.
const (
	// ScheduleStateNew: not reconciled yet.
	ScheduleStateNew ScheduleState = ""
	// ScheduleStateScheduled: the schedule is valid and runs start at its slots.
	ScheduleStateScheduled ScheduleState = "Scheduled"
	// ScheduleStateSuspended: spec.suspend is true; no run starts.
	ScheduleStateSuspended ScheduleState = "Suspended"
	// ScheduleStateFailedValidation: spec.schedule or spec.timeZone cannot
	// be used; status.reason names the field and the fix.
	ScheduleStateFailedValidation ScheduleState = "FailedValidation"
)

// Condition types and reasons of a ScheduledSparkApplication.
const (
	// ConditionScheduled is True (reason Scheduled) while runs start at the
	// schedule's slots; False with reason InvalidSchedule or Suspended.
	ConditionScheduled = "Scheduled"

	ReasonScheduled       = "Scheduled"
	ReasonInvalidSchedule = "InvalidSchedule"
)

// Labels and annotations on the runs a schedule creates.
const (
	// LabelScheduledBy is on every run; its value is the schedule's name.
	LabelScheduledBy = "sparkplane.io/scheduled-by"
	// AnnotationScheduledTime is on every run: the slot it was started for
	// (RFC 3339, UTC); a run started by `sparkplane schedule trigger` has
	// the time of the trigger.
	AnnotationScheduledTime = "sparkplane.io/scheduled-time"
)

// ScheduledSparkApplicationSpec is a schedule of SparkApplication runs.
type ScheduledSparkApplicationSpec struct {
	// Schedule is a standard five-field cron expression ("0 3 * * *") or a
	// descriptor: @yearly, @monthly, @weekly, @daily, @hourly or
	// "@every <duration>" (e.g. @every 10m).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Schedule string `json:"schedule"`

	// TimeZone is the IANA time zone the schedule is read in (e.g.
	// Europe/Paris); UTC when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone *string `json:"timeZone,omitempty"`

	// Template is the spec of every run: a SparkApplication spec, validated
	// by the same rules as a SparkApplication's.
	Template SparkApplicationSpec `json:"template"`

	// Suspend, when true, starts no further runs (runs already started go
	// on). Slots that pass while suspended are skipped, not caught up.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// ConcurrencyPolicy is Allow (the default), Forbid or Replace.
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// SuccessfulRunHistoryLimit is how many succeeded runs are kept (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=0
	SuccessfulRunHistoryLimit *int32 `json:"successfulRunHistoryLimit,omitempty"`

	// FailedRunHistoryLimit is how many failed runs are kept (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailedRunHistoryLimit *int32 `json:"failedRunHistoryLimit,omitempty"`

	// StartingDeadlineSeconds: a slot missed (e.g. while the operator was
	// down) is still started when no more than this many seconds late, as
	// a CronJob's. Unset: the latest missed slot is always started. Either
	// way at most one run starts for all the slots missed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
}

// ScheduledSparkApplicationStatus is what the operator observed.
type ScheduledSparkApplicationStatus struct {
	// ObservedGeneration is the spec generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Scheduled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ScheduleState is Scheduled, Suspended or FailedValidation.
	// +optional
	ScheduleState ScheduleState `json:"scheduleState,omitempty"`

	// Reason says why the schedule is in its state (the field and the fix
	// for FailedValidation; why the last slot was skipped).
	// +optional
	Reason string `json:"reason,omitempty"`

	// LastRun is the scheduled time of the most recent run started.
	// +optional
	LastRun *metav1.Time `json:"lastRun,omitempty"`

	// LastRunName is the SparkApplication of the most recent run.
	// +optional
	LastRunName string `json:"lastRunName,omitempty"`

	// NextRun is when the next run is due.
	// +optional
	NextRun *metav1.Time `json:"nextRun,omitempty"`

	// LastScheduleTime is the latest slot the controller acted on: started,
	// or skipped (Forbid, past the starting deadline, suspended). Slots up
	// to it are never considered again.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// PastSuccessfulRunNames are the succeeded runs kept, newest first.
	// +optional
	PastSuccessfulRunNames []string `json:"pastSuccessfulRunNames,omitempty"`

	// PastFailedRunNames are the failed runs kept, newest first.
	// +optional
	PastFailedRunNames []string `json:"pastFailedRunNames,omitempty"`
}

// ScheduledSparkApplication runs a SparkApplication on a cron schedule. Each
// run is an ordinary SparkApplication owned by the schedule, named
// <schedule>-<scheduled time in Unix seconds>.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 52",message="metadata.name must be at most 52 characters: runs are named <name>-<10-digit time> and a SparkApplication name is at most 63"
// +kubebuilder:resource:shortName=scheduledsparkapp;scheduledsparkapps,categories=spark
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.scheduleState`
// +kubebuilder:printcolumn:name="Last Run",type=date,JSONPath=`.status.lastRun`
// +kubebuilder:printcolumn:name="Last Run Name",type=string,JSONPath=`.status.lastRunName`
// +kubebuilder:printcolumn:name="Next Run",type=string,JSONPath=`.status.nextRun`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScheduledSparkApplication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScheduledSparkApplicationSpec   `json:"spec"`
	Status ScheduledSparkApplicationStatus `json:"status,omitempty"`
}

// ScheduledSparkApplicationList is a list of ScheduledSparkApplications.
//
// +kubebuilder:object:root=true
type ScheduledSparkApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScheduledSparkApplication `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScheduledSparkApplication{}, &ScheduledSparkApplicationList{})
}

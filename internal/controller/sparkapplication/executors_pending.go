package sparkapplication

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// DefaultPendingThreshold is how long a pod may wait to run before the
// application says why (Options.PendingThreshold).
const DefaultPendingThreshold = 60 * time.Second

// maxPendingPodNames bounds status.executorsPending.pods.
const maxPendingPodNames = 10

// maxCause bounds a blockage's cause, which list prints in a column.
const maxCause = 160

// blockage is what keeps one pod from running, as the scheduler or the
// kubelet wrote it on the pod's status (the PodScheduled condition, the
// containers' waiting state).
type blockage struct {
	// reason is a v1alpha1 ExecutorsPending reason.
	reason string
	// cause is the blocking part in a few words.
	cause string
	// message is the scheduler's or kubelet's message as written.
	message string
}

var (
	storageClassNotFound = regexp.MustCompile(`storageclass(?:\.storage\.k8s\.io)? "([^"]+)" not found`)
	claimNotFound        = regexp.MustCompile(`persistentvolumeclaim "([^"]+)" not found`)
)

// imagePullReasons are the kubelet's waiting reasons of an image that
// cannot be pulled.
var imagePullReasons = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "ImageInspectError"}

// podBlockage says what keeps pod from running; false when nothing known
// blocks it (it was just created, or it runs).
func podBlockage(pod *corev1.Pod) (blockage, bool) {
	if pod.Status.Phase != corev1.PodPending && pod.Status.Phase != "" {
		return blockage{}, false
	}
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range statuses {
			w := cs.State.Waiting
			if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
				continue
			}
			message := strings.TrimSpace(w.Message)
			if slices.Contains(imagePullReasons, w.Reason) {
				return blockage{reason: v1alpha1.ReasonImagePullFailed, cause: shorten(fmt.Sprintf("image pull failed (%s): %s", w.Reason, firstNonEmpty(message, "container "+cs.Name))), message: message}, true
			}
			return blockage{reason: v1alpha1.ReasonContainerNotStarted, cause: shorten(fmt.Sprintf("container %s is waiting: %s %s", cs.Name, w.Reason, message)), message: message}, true
		}
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type != corev1.PodScheduled || cond.Status != corev1.ConditionFalse {
			continue
		}
		return schedulerBlockage(strings.TrimSpace(cond.Message)), true
	}
	if pod.Spec.NodeName != "" {
		return blockage{reason: v1alpha1.ReasonContainerNotStarted, cause: fmt.Sprintf("on node %s but not started", pod.Spec.NodeName)}, true
	}
	return blockage{}, false
}

// schedulerBlockage classifies the scheduler's message of a pod it could
// not place.
func schedulerBlockage(message string) blockage {
	lower := strings.ToLower(message)
	b := blockage{message: message}
	switch {
	case storageClassNotFound.MatchString(lower):
		b.reason = v1alpha1.ReasonStorageClassNotFound
		b.cause = fmt.Sprintf("StorageClass %q not found", storageClassNotFound.FindStringSubmatch(lower)[1])
	case claimNotFound.MatchString(lower):
		b.reason = v1alpha1.ReasonClaimUnbound
		b.cause = fmt.Sprintf("PersistentVolumeClaim %q not found", claimNotFound.FindStringSubmatch(lower)[1])
	case strings.Contains(lower, "unbound immediate persistentvolumeclaims"),
		strings.Contains(lower, "didn't find available persistent volumes to bind"),
		strings.Contains(lower, "persistentvolumeclaim") && strings.Contains(lower, "bound"):
		b.reason = v1alpha1.ReasonClaimUnbound
		b.cause = "PersistentVolumeClaim not bound (no volume or provisioner for its StorageClass)"
	case strings.Contains(lower, "insufficient "), strings.Contains(lower, "too many pods"),
		strings.Contains(lower, "didn't match pod's node affinity"), strings.Contains(lower, "untolerated taint"),
		strings.Contains(lower, "no nodes available"):
		b.reason = v1alpha1.ReasonInsufficientCapacity
		b.cause = "no room in the allowed tiers: " + shortSchedulerMessage(message)
	default:
		b.reason = v1alpha1.ReasonUnschedulable
		b.cause = "not scheduled: " + firstNonEmpty(shortSchedulerMessage(message), "waiting for the scheduler")
	}
	b.cause = shorten(b.cause)
	return b
}

// shortSchedulerMessage drops the scheduler's preemption advice, which
// follows its verdict on the nodes.
func shortSchedulerMessage(message string) string {
	if i := strings.Index(message, " preemption:"); i > 0 {
		message = message[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(message), ".")
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxCause {
		return s
	}
	return s[:maxCause-3] + "..."
}

// reasonRank orders reasons when pods are blocked by different things: the
// one a user must fix first comes first.
var reasonRank = []string{
	v1alpha1.ReasonStorageClassNotFound, v1alpha1.ReasonClaimUnbound, v1alpha1.ReasonImagePullFailed,
	v1alpha1.ReasonQuotaExceeded, v1alpha1.ReasonAdmissionRefused, v1alpha1.ReasonInsufficientCapacity,
	v1alpha1.ReasonUnschedulable, v1alpha1.ReasonContainerNotStarted,
}

// pendingExecutors summarises the executors among pods that have waited at
// least threshold at now; nil when none has. It also returns when the next
// executor will cross the threshold (zero when none will).
func pendingExecutors(pods []corev1.Pod, threshold time.Duration, now time.Time) (*v1alpha1.PendingPods, time.Time) {
	type blocked struct {
		pod string
		b   blockage
	}
	var waiting []blocked
	var since, next time.Time
	for i := range pods {
		pod := &pods[i]
		if pod.Labels[spark.LabelRole] != spark.RoleExecutor || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodPending {
			continue
		}
		created := pod.CreationTimestamp.Time
		if crossing := created.Add(threshold); crossing.After(now) {
			if next.IsZero() || crossing.Before(next) {
				next = crossing
			}
			continue
		}
		b, ok := podBlockage(pod)
		if !ok {
			b = blockage{reason: v1alpha1.ReasonUnschedulable, cause: "waiting to be scheduled"}
		}
		waiting = append(waiting, blocked{pod: pod.Name, b: b})
		if since.IsZero() || created.Before(since) {
			since = created
		}
	}
	if len(waiting) == 0 {
		return nil, next
	}
	// The reason most pods share, the higher-ranked on a tie.
	counts := map[string]int{}
	for _, w := range waiting {
		counts[w.b.reason]++
	}
	sort.SliceStable(waiting, func(i, j int) bool {
		ri, rj := waiting[i].b.reason, waiting[j].b.reason
		if counts[ri] != counts[rj] {
			return counts[ri] > counts[rj]
		}
		if ri != rj {
			return slices.Index(reasonRank, ri) < slices.Index(reasonRank, rj)
		}
		return waiting[i].pod < waiting[j].pod
	})
	top := waiting[0].b
	out := &v1alpha1.PendingPods{Reason: top.reason, Cause: top.cause, Message: truncate(top.message, 1024), Count: int32(len(waiting)), Since: metav1.NewTime(since)}
	var names []string
	for _, w := range waiting {
		names = append(names, w.pod)
	}
	sort.Strings(names)
	out.Pods = names[:min(len(names), maxPendingPodNames)]
	return out, next
}

// pendingConditionMessage is the ExecutorsPending condition's message.
func pendingConditionMessage(p *v1alpha1.PendingPods, threshold time.Duration) string {
	pods := strings.Join(p.Pods, ", ")
	if more := int(p.Count) - len(p.Pods); more > 0 {
		pods += fmt.Sprintf(" and %d more", more)
	}
	msg := fmt.Sprintf("%d executor(s) waiting longer than %s: %s (%s)", p.Count, threshold, p.Cause, pods)
	if p.Message != "" && !strings.Contains(p.Cause, p.Message) {
		msg += "; " + p.Message
	}
	return msg + pendingAdvice(p.Reason)
}

// pendingAdvice says what to do about a reason.
func pendingAdvice(reason string) string {
	switch reason {
	case v1alpha1.ReasonStorageClassNotFound:
		return ". Create the StorageClass (sparkplane platform render writes it; on the local cluster, sparkplane dev up --karpenter creates it) or pick a profile whose shuffleStorage names one that exists"
	case v1alpha1.ReasonClaimUnbound:
		return ". Check that the StorageClass has a running provisioner (kubectl describe pvc)"
	case v1alpha1.ReasonImagePullFailed:
		return ". Check the image name and spec.imagePullSecrets"
	case v1alpha1.ReasonQuotaExceeded:
		return ". Raise the ResourceQuota or lower the executors' requests"
	case v1alpha1.ReasonInsufficientCapacity:
		return ". Check the profile's executor tiers and the NodePools' limits"
	}
	return ""
}

// executorsNotCreated reports a driver that has run for threshold without
// any executor pod while a ResourceQuota of the namespace is used up: the
// API server refuses the driver's executor pods.
func (c *Controller) executorsNotCreated(ctx context.Context, s *scope, driver *corev1.Pod, executors int) (*v1alpha1.PendingPods, error) {
	if c.quotas == nil || executors > 0 || driver.Status.StartTime == nil || s.now.Sub(driver.Status.StartTime.Time) < c.opts.PendingThreshold {
		return nil, nil
	}
	quotas := &corev1.ResourceQuotaList{}
	if err := c.quotas.List(ctx, quotas, client.InNamespace(s.app.Namespace)); err != nil {
		return nil, fmt.Errorf("reading the namespace's ResourceQuotas: %w", err)
	}
	for _, q := range quotas.Items {
		for _, name := range sortedResourceNames(q.Status.Hard) {
			hard, used := q.Status.Hard[name], q.Status.Used[name]
			if !podResource(name) || used.Cmp(hard) < 0 {
				continue
			}
			return &v1alpha1.PendingPods{
				Reason:  v1alpha1.ReasonQuotaExceeded,
				Cause:   fmt.Sprintf("ResourceQuota %q is used up: %s %s of %s", q.Name, name, used.String(), hard.String()),
				Message: fmt.Sprintf("driver pod %s has run %s without any executor pod", driver.Name, s.now.Sub(driver.Status.StartTime.Time).Round(time.Second)),
				Since:   *driver.Status.StartTime,
			}, nil
		}
	}
	return nil, nil
}

func podResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourcePods, "count/pods", corev1.ResourceCPU, corev1.ResourceMemory,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory:
		return true
	}
	return false
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for name := range list {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// observeExecutorsPending sets or clears the ExecutorsPending condition and
// status.executorsPending of a running attempt from the pod cache (no API
// call), and ends the attempt when spec.executorStartTimeoutSeconds ran
// out with no executor running. The result asks to be called again when an
// executor crosses the threshold or the timeout ends.
func (c *Controller) observeExecutorsPending(ctx context.Context, s *scope, driver *corev1.Pod, appID string) (reconcile.Result, bool, error) {
	pods, err := c.attemptPods(ctx, s.app.Namespace, appID)
	if err != nil {
		return reconcile.Result{}, true, err
	}
	threshold := c.opts.PendingThreshold
	timeout := time.Duration(0)
	if t := s.app.Spec.ExecutorStartTimeoutSeconds; t != nil {
		timeout = time.Duration(*t) * time.Second
		threshold = min(threshold, timeout)
	}
	pending, next := pendingExecutors(pods, threshold, s.now)
	if pending != nil && pending.Reason == v1alpha1.ReasonClaimUnbound {
		if err := c.explainUnboundClaim(ctx, s.app.Namespace, pods, pending); err != nil {
			return reconcile.Result{}, true, err
		}
	}
	executors, running := 0, 0
	for i := range pods {
		if pods[i].Labels[spark.LabelRole] == spark.RoleExecutor {
			executors++
			if pods[i].Status.Phase == corev1.PodRunning {
				running++
			}
		}
	}
	if pending == nil {
		if pending, err = c.executorsNotCreated(ctx, s, driver, executors); err != nil {
			return reconcile.Result{}, true, err
		}
		if pending == nil && executors == 0 && c.quotas != nil && driver.Status.StartTime != nil {
			if at := driver.Status.StartTime.Add(threshold); at.After(s.now) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	st := &s.app.Status
	before := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionExecutorsPending)
	if pending == nil {
		st.ExecutorsPending = nil
		if before != nil && before.Status == metav1.ConditionTrue {
			c.setCondition(s, v1alpha1.ConditionExecutorsPending, metav1.ConditionFalse, v1alpha1.ReasonExecutorsStarted,
				fmt.Sprintf("No executor waits longer than %s (%d running)", threshold, running))
			s.then(func() { c.events.executorsStarted(s.app, running) })
		}
		return requeueAt(next, s.now), false, nil
	}
	message := pendingConditionMessage(pending, threshold)
	st.ExecutorsPending = pending
	if before == nil || before.Status != metav1.ConditionTrue || before.Reason != pending.Reason {
		reason := pending.Reason
		executorsPendingTotal.WithLabelValues(reason).Inc()
		s.then(func() { c.events.executorsPending(s.app, reason, message) })
	}
	c.setCondition(s, v1alpha1.ConditionExecutorsPending, metav1.ConditionTrue, pending.Reason, message)
	if timeout > 0 && running == 0 {
		deadline := pending.Since.Add(timeout)
		if !deadline.After(s.now) {
			return c.executorsTimedOut(ctx, s, driver, pending, timeout)
		}
		if next.IsZero() || deadline.Before(next) {
			next = deadline
		}
	}
	return requeueAt(next, s.now), false, nil
}

// executorsTimedOut ends the attempt: its driver is deleted (its executors
// go with it through their owner references) and the attempt is Failed
// with reason ExecutorsStartTimedOut, retried per spec.restartPolicy.
func (c *Controller) executorsTimedOut(ctx context.Context, s *scope, driver *corev1.Pod, pending *v1alpha1.PendingPods, timeout time.Duration) (reconcile.Result, bool, error) {
	if err := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s after the executor start timeout: %w", driver.Name, err)
	}
	message := fmt.Sprintf("no executor started within spec.executorStartTimeoutSeconds (%s): %s (reason %s); driver pod %s was deleted",
		timeout, pending.Cause, pending.Reason, driver.Name)
	st := &s.app.Status
	st.ExecutorsPending = nil
	c.setCondition(s, v1alpha1.ConditionExecutorsPending, metav1.ConditionFalse, v1alpha1.ReasonExecutorsStartTimedOut, message)
	c.endAttempt(ctx, s, false, v1alpha1.ReasonExecutorsStartTimedOut, message)
	return c.afterEnd(s), true, nil
}

// attemptPods reads the attempt's pods from the pod cache.
func (c *Controller) attemptPods(ctx context.Context, namespace, appID string) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	opts := []client.ListOption{client.InNamespace(namespace)}
	if c.podsIndexed {
		opts = append(opts, client.MatchingFields{clusterstate.IndexAppSelector: clusterstate.AppSelectorKey(namespace, appID)})
	} else {
		opts = append(opts, client.MatchingLabels{spark.LabelAppSelector: appID})
	}
	if err := c.pods.List(ctx, pods, opts...); err != nil {
		return nil, fmt.Errorf("listing the attempt's pods: %w", err)
	}
	return pods.Items, nil
}

func requeueAt(at, now time.Time) reconcile.Result {
	if at.IsZero() {
		return reconcile.Result{}
	}
	return reconcile.Result{RequeueAfter: max(at.Sub(now), time.Millisecond)}
}

// driverPendingMessage says why a driver pod is not running yet, with the
// scheduler's or kubelet's words when they are known.
func driverPendingMessage(pod *corev1.Pod) string {
	if b, ok := podBlockage(pod); ok {
		msg := fmt.Sprintf("driver pod %s is pending: %s (reason %s)", pod.Name, b.cause, b.reason)
		if b.message != "" && !strings.Contains(b.cause, b.message) {
			msg += "; " + b.message
		}
		return msg
	}
	if pod.Spec.NodeName == "" && pod.Status.Phase == corev1.PodPending {
		return fmt.Sprintf("driver pod %s is waiting to be scheduled", pod.Name)
	}
	return fmt.Sprintf("driver pod %s is %s", pod.Name, firstNonEmpty(string(pod.Status.Phase), "Pending"))
}

// pendingSignature is what of a pending pod's status the ExecutorsPending
// condition reads, so pod updates that change nothing of it (and nothing
// of the phase) do not wake the application.
func pendingSignature(pod *corev1.Pod) string {
	b, _ := podBlockage(pod)
	return b.reason + "\x00" + b.message
}

// observeDriverPending writes why the driver waits into the Running
// condition. Before the driver has waited PendingThreshold, only what is
// known to block it (driverPendingBeforeThreshold). Once it has, the
// condition says that it waits, and when something known blocks it, the
// message says so and each new cause is recorded as a DriverPending event
// and counted. It returns when the driver will cross the threshold (zero
// when it has).
func (c *Controller) observeDriverPending(s *scope, driver *corev1.Pod) time.Time {
	crossing := driver.CreationTimestamp.Add(c.opts.PendingThreshold)
	if crossing.After(s.now) {
		c.driverPendingBeforeThreshold(s, driver)
		return crossing
	}
	b, blocked := podBlockage(driver)
	if !blocked {
		c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonDriverPending, driverPendingMessage(driver))
		return time.Time{}
	}
	message := fmt.Sprintf("driver pod %s has waited longer than %s: %s (reason %s)", driver.Name, c.opts.PendingThreshold, b.cause, b.reason)
	if b.message != "" && !strings.Contains(b.cause, b.message) {
		message += "; " + b.message
	}
	message += pendingAdvice(b.reason)
	before := meta.FindStatusCondition(s.base.Status.Conditions, v1alpha1.ConditionRunning)
	if before == nil || before.Message != truncate(message, 32*1024) {
		driverPendingTotal.WithLabelValues(b.reason).Inc()
		s.then(func() { c.events.driverPending(s.app, driver.Name, message) })
	}
	c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonDriverPending, message)
	return time.Time{}
}

// driverPendingBeforeThreshold is the Running condition of a driver that
// has not waited PendingThreshold yet: False with the scheduler's or
// kubelet's words as soon as something known blocks it (Unschedulable, an
// image that cannot be pulled), and absent otherwise. A driver that merely
// waits for its turn to be scheduled or started has nothing to report, and
// reporting it cost a status write per application on the way (the
// message changed when the pod was bound, again when it ran).
func (c *Controller) driverPendingBeforeThreshold(s *scope, driver *corev1.Pod) {
	if _, blocked := podBlockage(driver); blocked {
		c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonDriverPending, driverPendingMessage(driver))
		return
	}
	if conditionReason(s.app.Status.Conditions, v1alpha1.ConditionRunning) == v1alpha1.ReasonDriverPending {
		meta.RemoveStatusCondition(&s.app.Status.Conditions, v1alpha1.ConditionRunning)
	}
}

// clearExecutorsPending forgets the previous attempt's waiting executors.
func clearExecutorsPending(s *scope) {
	s.app.Status.ExecutorsPending = nil
	meta.RemoveStatusCondition(&s.app.Status.Conditions, v1alpha1.ConditionExecutorsPending)
}

// explainUnboundClaim looks behind an unbound claim, which is all the
// scheduler says ("pod has unbound immediate PersistentVolumeClaims. not
// found"): the claim's StorageClass may not exist (then the reason is
// StorageClassNotFound), or exist without a provisioner that binds it. It
// reads one claim and one class from the API server, only when executors
// have waited past the threshold for a claim.
func (c *Controller) explainUnboundClaim(ctx context.Context, namespace string, pods []corev1.Pod, p *v1alpha1.PendingPods) error {
	claimName := ""
	for i := range pods {
		if pods[i].Name != p.Pods[0] {
			continue
		}
		for _, v := range pods[i].Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claimName = v.PersistentVolumeClaim.ClaimName
				break
			}
		}
	}
	if claimName == "" {
		return nil
	}
	claim := &corev1.PersistentVolumeClaim{}
	if err := c.apiReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: claimName}, claim); err != nil {
		if apierrors.IsNotFound(err) {
			p.Cause = fmt.Sprintf("PersistentVolumeClaim %q not found", claimName)
			return nil
		}
		return fmt.Errorf("reading PersistentVolumeClaim %s: %w", claimName, err)
	}
	className := ptr.Deref(claim.Spec.StorageClassName, "")
	if className == "" {
		p.Cause = fmt.Sprintf("PersistentVolumeClaim %q names no StorageClass and has no volume to bind", claimName)
		return nil
	}
	class := &storagev1.StorageClass{}
	if err := c.apiReader.Get(ctx, client.ObjectKey{Name: className}, class); err != nil {
		if apierrors.IsNotFound(err) {
			p.Reason = v1alpha1.ReasonStorageClassNotFound
			p.Cause = fmt.Sprintf("StorageClass %q not found", className)
			p.Message = truncate(fmt.Sprintf("%s; PersistentVolumeClaim %s: storageclass.storage.k8s.io %q not found", p.Message, claimName, className), 1024)
			return nil
		}
		return fmt.Errorf("reading StorageClass %s: %w", className, err)
	}
	p.Cause = shorten(fmt.Sprintf("PersistentVolumeClaim %q of StorageClass %q (provisioner %s) is not bound", claimName, className, class.Provisioner))
	return nil
}

package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// How long a driver waits for its ConfigMaps to appear: spark-submit creates
// them right after the driver pod, so a driver may start first.
const confWaitTimeout = 30 * time.Second

type podEvent struct {
	pod     *corev1.Pod
	deleted bool
}

// executorState is what the driver knows of one executor pod.
type executorState struct {
	name       string
	createdAt  time.Time
	seen       bool // observed through the watch
	registered bool // running in the engine
	gone       bool // deleted, failed, or lost
	released   bool // deleted by the driver itself
}

// app plays the driver of one application. Its loop owns every field but
// those under mu.
type app struct {
	e *Emulator
	// client makes the driver's own API calls, as its ServiceAccount;
	// kubelet does what the kubelet does for the pod (reads its mounted
	// ConfigMaps, reports its containers ended).
	client     kubernetes.Interface
	kubelet    kubernetes.Interface
	namespace  string
	driverName string
	driverUID  types.UID
	driverPod  *corev1.Pod
	cancel     context.CancelFunc
	stopOnce   sync.Once
	stopped    chan struct{}

	queueMu sync.Mutex
	queue   []podEvent
	wake    chan struct{}

	mu  sync.Mutex
	sum AppSummary
	id  string

	spec      *DriverSpec
	factory   *ExecutorFactory
	engine    *Engine
	log       *EventLogWriter
	scale     float64
	executors map[int]*executorState
	nextID    int
	lastBatch time.Time
}

func newApp(e *Emulator, pod *corev1.Pod) *app {
	a := &app{
		e: e, client: e.client, kubelet: e.client, namespace: pod.Namespace, driverName: pod.Name, driverUID: pod.UID,
		driverPod: pod.DeepCopy(), stopped: make(chan struct{}), wake: make(chan struct{}, 1),
		executors: map[int]*executorState{}, id: pod.Labels[LabelAppSelector],
	}
	a.sum = AppSummary{Namespace: pod.Namespace, DriverPod: pod.Name, Application: pod.Labels[LabelApplication], AppID: a.id, State: string(corev1.PodRunning), StartedAt: time.Now()}
	return a
}

func (a *app) appID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

func (a *app) ownsExecutor(pod *corev1.Pod) bool {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Pod" {
			return ref.UID == a.driverUID
		}
	}
	return true
}

func (a *app) summary() AppSummary {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sum
}

func (a *app) notify(ev podEvent) {
	a.queueMu.Lock()
	a.queue = append(a.queue, ev)
	a.queueMu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *app) stop() {
	a.stopOnce.Do(func() { close(a.stopped) })
}

func (a *app) run(ctx context.Context) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.stopped:
			cancel()
		case <-runCtx.Done():
		}
	}()
	logger := klog.FromContext(runCtx).WithValues("driver", klog.KObj(a.driverPod))
	ctx = klog.NewContext(runCtx, logger)
	if err := a.start(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		logger.Error(err, "Driver cannot start")
		a.finish(ctx, false, err.Error())
		return
	}
	logger.Info("Driver started", "appID", a.spec.AppID, "executorPrefix", a.factory.Prefix(), "workload", a.engine.w.Params.Name, "timeScale", a.scale)
	a.loop(ctx)
	select {
	case <-a.stopped:
		a.mu.Lock()
		if a.sum.State == string(corev1.PodRunning) {
			a.sum.State, a.sum.Message, a.sum.EndedAt = "Stopped", "the driver pod was deleted before the application ended", time.Now()
		}
		a.mu.Unlock()
	default:
	}
}

// start reads the conf and template, as the driver process does at launch.
func (a *app) start(ctx context.Context) error {
	getConfigMap := func(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
		return a.kubelet.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	client, err := a.e.driverClient(a.driverPod)
	if err != nil {
		return err
	}
	a.client = client
	deadline := time.Now().Add(confWaitTimeout)
	var spec *DriverSpec
	for {
		spec, err = ResolveDriver(ctx, a.driverPod, getConfigMap)
		if err == nil || !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	a.spec = spec
	a.mu.Lock()
	a.id = spec.AppID
	a.sum.AppID = spec.AppID
	a.mu.Unlock()
	if a.factory, err = NewExecutorFactory(spec); err != nil {
		return err
	}
	params, err := WorkloadParamsFromConf(spec.Conf, spec.AppName)
	if err != nil {
		return err
	}
	a.scale = a.e.opts.TimeScale
	if a.scale <= 0 {
		if a.scale, err = spec.Conf.Float(ConfTimeScale, DefaultTimeScale); err != nil {
			return err
		}
		if a.scale <= 0 {
			return fmt.Errorf("%s=%v: want a positive number of model seconds per real second", ConfTimeScale, a.scale)
		}
	}
	migration, err := spec.Conf.Bytes(ConfMigrationRate, strconv.FormatInt(DefaultMigrationBytesPerSecond, 10), 1)
	if err != nil {
		return err
	}
	if _, err := a.allocationConf(); err != nil {
		return err
	}
	res := a.factory.Resources()
	a.engine = NewEngine(NewWorkload(params), time.Now().UnixMilli(), EngineOptions{
		MigrationBytesPerSecond: migration, FallbackStorage: spec.Conf.String("", ConfFallbackStoragePath) != "", BlockManagerPort: max(a.factory.blockPort, defaultBlockManagerPort),
		ExecutorStorageMemory: int64(float64((res.MemoryMiB-300)<<20) * 0.6),
		SparkVersion:          a.driverPod.Labels[LabelSparkVersion],
	})
	if dir := a.eventLogDir(); dir != "" {
		if a.log, err = NewEventLogWriter(dir, spec.AppID); err != nil {
			return err
		}
		a.mu.Lock()
		a.sum.EventLog = filepath.Join(dir, spec.AppID)
		a.mu.Unlock()
	}
	user := "spark"
	if v, ok := spec.Conf.Get("spark.kubernetes.driverEnv.SPARK_USER"); ok {
		user = v
	}
	driverHost := spec.Conf.String(a.driverPod.Status.PodIP, "spark.driver.host")
	a.engine.Start(spec.AppName, spec.AppID, user, driverHost, res.Cores, res.MemoryMiB, spec.Conf)
	a.writeEvents()

	// ExecutorPodsAllocator reads its own pod first; then the backend
	// writes the executors' ConfigMap (KubernetesClusterSchedulerBackend.start).
	if _, err := a.client.CoreV1().Pods(a.namespace).Get(ctx, a.driverName, metav1.GetOptions{}); err != nil {
		return sparkClientError("GET", "pods/"+a.driverName, a.namespace, err)
	}
	if cm := a.factory.ExecutorConfigMap(); cm != nil {
		if _, err := a.client.CoreV1().ConfigMaps(a.namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return sparkClientError("POST", "configmaps", a.namespace, err)
		}
	}
	// Adopt executors of an earlier run of this driver (an emulator restart):
	// executor ids continue after the highest one seen.
	existing, err := a.client.CoreV1().Pods(a.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelAppSelector + "=" + spec.AppID + "," + LabelSparkRole + "=" + RoleExecutor,
	})
	if err != nil {
		return sparkClientError("GET", "pods", a.namespace, err)
	}
	for i := range existing.Items {
		if id, err := strconv.Atoi(existing.Items[i].Labels[LabelExecutorID]); err == nil && id > a.nextID {
			a.nextID = id
		}
	}
	for i := range existing.Items {
		a.notify(podEvent{pod: &existing.Items[i]})
	}
	return nil
}

// eventLogDir is the flag's directory, else spark.eventLog.dir when logging is
// on and the directory is local.
func (a *app) eventLogDir() string {
	if a.e.opts.EventLogDir != "" {
		return a.e.opts.EventLogDir
	}
	if on, _ := a.spec.Conf.Bool("spark.eventLog.enabled", false); !on {
		return ""
	}
	dir := a.spec.Conf.String("/tmp/spark-events", "spark.eventLog.dir")
	if strings.HasPrefix(dir, "/") {
		return dir
	}
	if u, err := url.Parse(dir); err == nil && u.Scheme == "file" {
		return u.Path
	}
	klog.Background().Info("Not writing an event log: spark.eventLog.dir is not a local path; pass --event-log-dir", "dir", dir)
	return ""
}

// allocation is the executor-count policy from the conf.
type allocation struct {
	dynamic                bool
	static, minimum, limit int
	batchSize              int
	batchDelay             time.Duration
	idleTimeout            time.Duration
	creationTimeout        time.Duration
}

func (a *app) allocationConf() (allocation, error) {
	conf := a.spec.Conf
	var p allocation
	var err error
	if p.dynamic, err = conf.Bool("spark.dynamicAllocation.enabled", false); err != nil {
		return p, err
	}
	if p.static, err = conf.Int("spark.executor.instances", 2); err != nil {
		return p, err
	}
	if p.minimum, err = conf.Int("spark.dynamicAllocation.minExecutors", 0); err != nil {
		return p, err
	}
	if p.limit, err = conf.Int("spark.dynamicAllocation.maxExecutors", math.MaxInt32); err != nil {
		return p, err
	}
	initial, err := conf.Int("spark.dynamicAllocation.initialExecutors", p.minimum)
	if err != nil {
		return p, err
	}
	if p.dynamic {
		if p.minimum < 0 || p.limit < p.minimum {
			return p, fmt.Errorf("spark.dynamicAllocation.minExecutors=%d and maxExecutors=%d: want 0 <= min <= max", p.minimum, p.limit)
		}
		// Utils.getDynamicAllocationInitialExecutors.
		p.static = max(initial, p.minimum)
		if _, ok := conf.Get("spark.executor.instances"); ok {
			n, _ := conf.Int("spark.executor.instances", 0)
			p.static = max(p.static, n)
		}
	} else if p.static < 0 {
		return p, fmt.Errorf("spark.executor.instances=%d: want 0 or more", p.static)
	}
	if p.batchSize, err = conf.Int("spark.kubernetes.allocation.batch.size", 10); err != nil {
		return p, err
	}
	if p.batchSize < 1 {
		return p, fmt.Errorf("spark.kubernetes.allocation.batch.size=%d: want 1 or more", p.batchSize)
	}
	if p.batchDelay, err = conf.Duration("spark.kubernetes.allocation.batch.delay", "1s", time.Millisecond); err != nil {
		return p, err
	}
	if p.batchDelay <= 0 {
		return p, fmt.Errorf("spark.kubernetes.allocation.batch.delay: want a positive time such as 1s")
	}
	if p.idleTimeout, err = conf.Duration("spark.dynamicAllocation.executorIdleTimeout", "60s", time.Second); err != nil {
		return p, err
	}
	timeout, err := conf.Duration("spark.kubernetes.allocation.executor.timeout", "600s", time.Millisecond)
	if err != nil {
		return p, err
	}
	p.creationTimeout = max(timeout, 5*p.batchDelay)
	return p, nil
}

// target is the number of executors the driver wants now.
func (a *app) target(p allocation) int {
	return executorTarget(p, a.engine.Backlog(), a.factory.Resources().Cores, a.anyRegistered())
}

// executorTarget is the executor count a driver asks for: the static count,
// or with dynamic allocation enough executors for the backlog (at least the
// initial count until one registers), within the bounds.
func executorTarget(p allocation, backlog, cores int, anyRegistered bool) int {
	if !p.dynamic {
		return p.static
	}
	want := (backlog + cores - 1) / cores
	if !anyRegistered {
		want = max(want, p.static)
	}
	return min(max(want, p.minimum), p.limit)
}

func (a *app) anyRegistered() bool {
	return a.sumExecutorsCreated() > 0 && len(a.engine.Executors()) > 0
}

func (a *app) sumExecutorsCreated() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sum.ExecutorsCreated
}

func (a *app) loop(ctx context.Context) {
	policy, _ := a.allocationConf()
	realStart := time.Now()
	ticker := time.NewTicker(a.e.opts.Tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			if a.log != nil {
				_ = a.log.Flush()
			}
			return
		case <-ticker.C:
		case <-a.wake:
		}
		a.handlePodEvents(ctx)
		modelNow := time.Duration(float64(time.Since(realStart)) * a.scale)
		a.engine.Advance(modelNow)
		a.updateStats()
		a.writeEvents()
		if a.engine.Done() {
			a.engine.Finish()
			a.writeEvents()
			message := ""
			if a.engine.Failed() {
				message = "Job aborted due to stage failure (emulated: " + ConfOutcome + "=fail)"
			}
			a.finish(ctx, !a.engine.Failed(), message)
			return
		}
		if time.Since(a.lastBatch) >= policy.batchDelay {
			if err := a.allocate(ctx, policy); err != nil {
				// A real 3.5 driver logs this exception on every batch and
				// never gets executors; the emulated one ends, so the
				// failure shows in the driver's status (docs/emulator.md).
				a.engine.Finish()
				a.writeEvents()
				a.finish(ctx, false, err.Error())
				return
			}
		}
		if policy.dynamic {
			a.releaseIdle(ctx, policy)
		}
	}
}

// handlePodEvents applies what the watch saw to the executors and the
// engine, as ExecutorPodsLifecycleManager does.
func (a *app) handlePodEvents(ctx context.Context) {
	a.queueMu.Lock()
	events := a.queue
	a.queue = nil
	a.queueMu.Unlock()
	logger := klog.FromContext(ctx)
	for _, ev := range events {
		pod := ev.pod
		id, err := strconv.Atoi(pod.Labels[LabelExecutorID])
		if err != nil {
			continue
		}
		x := a.executors[id]
		if x == nil {
			x = &executorState{name: pod.Name, createdAt: pod.CreationTimestamp.Time}
			a.executors[id] = x
			a.nextID = max(a.nextID, id)
		}
		x.seen = true
		if x.gone {
			continue
		}
		execID := strconv.Itoa(id)
		switch {
		case pod.DeletionTimestamp != nil || ev.deleted:
			x.gone = true
			kind, grace, reason := classifyRemoval(pod, x.released, a.factory.Decommission(), a.scale)
			if a.engine.HasExecutor(execID) {
				a.engine.RemoveExecutor(execID, kind, grace, reason)
			}
			a.countLoss(kind)
			logger.V(2).Info("Executor removed", "executor", pod.Name, "kind", kind, "graceSeconds", grace.Seconds()/a.scale)
		case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
			x.gone = true
			if a.engine.HasExecutor(execID) {
				a.engine.RemoveExecutor(execID, Lost, 0, fmt.Sprintf("The executor with id %s exited with phase %s.", execID, pod.Status.Phase))
			}
			a.countLoss(Lost)
			if deleteExecutors, _ := a.specConf().Bool("spark.kubernetes.executor.deleteOnTermination", true); deleteExecutors {
				_ = a.client.CoreV1().Pods(a.namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
			}
		case pod.Status.Phase == corev1.PodRunning && !x.registered:
			x.registered = true
			host := pod.Status.PodIP
			if host == "" {
				host = pod.Spec.NodeName
			}
			if host == "" {
				host = pod.Name
			}
			a.engine.AddExecutor(execID, host, a.factory.Resources().Cores)
		}
	}
}

// classifyRemoval decides how an executor whose pod is being deleted (or is
// gone) went away, and the grace period in model time its decommissioning
// gets: a graceful delete (a deletionTimestamp with a grace period, whether
// seen before the pod vanished or on its final state) of a decommissioning
// executor migrates; a delete with no grace, or with decommissioning off,
// loses its blocks.
func classifyRemoval(pod *corev1.Pod, released, decommission bool, scale float64) (RemovalKind, time.Duration, string) {
	execID := pod.Labels[LabelExecutorID]
	if released {
		return Released, 0, "Executor killed by driver."
	}
	graceSeconds := int64(0)
	if pod.DeletionGracePeriodSeconds != nil {
		graceSeconds = *pod.DeletionGracePeriodSeconds
	}
	if pod.DeletionTimestamp == nil || graceSeconds <= 0 {
		return Lost, 0, fmt.Sprintf("The executor with id %s exited with exit code 137(SIGKILL, possible container OOM).", execID)
	}
	if !decommission {
		return Lost, 0, fmt.Sprintf("The executor with id %s was deleted by a user or the framework.", execID)
	}
	grace := time.Duration(float64(graceSeconds) * float64(time.Second) * scale)
	return Decommissioned, grace, "Executor decommission: executor pod deleted gracefully, shuffle blocks migrated."
}

// specConf is the driver's conf, empty before it has been read.
func (a *app) specConf() Conf {
	if a.spec == nil {
		return Conf{}
	}
	return a.spec.Conf
}

func (a *app) countLoss(kind RemovalKind) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch kind {
	case Decommissioned:
		a.sum.ExecutorsDecommissioned++
	case Lost:
		a.sum.ExecutorsLost++
	}
}

// allocate creates the next batch of executor pods, as
// ExecutorPodsAllocator does: only when every pod of the previous batch has
// been seen, at most batch.size at a time, up to the target count.
func (a *app) allocate(ctx context.Context, p allocation) error {
	a.lastBatch = time.Now()
	live, unseen := 0, 0
	for id, x := range a.executors {
		if x.gone {
			continue
		}
		if !x.seen {
			if time.Since(x.createdAt) > p.creationTimeout {
				// Never observed: assume it was lost, as Spark does.
				x.gone = true
				_ = a.client.CoreV1().Pods(a.namespace).Delete(ctx, a.factory.PodName(id), metav1.DeleteOptions{})
				continue
			}
			unseen++
		}
		live++
	}
	target := a.target(p)
	if unseen > 0 || live >= target {
		return nil
	}
	for n := min(p.batchSize, target-live); n > 0; n-- {
		a.nextID++
		if err := a.createExecutor(ctx, a.nextID); err != nil {
			if apierrors.IsForbidden(err) {
				return err
			}
			klog.FromContext(ctx).Error(err, "Creating executor pod", "executor", a.factory.PodName(a.nextID))
			return nil
		}
	}
	return nil
}

func (a *app) createExecutor(ctx context.Context, id int) error {
	pod, claims := a.factory.ExecutorPod(id)
	conf := a.spec.Conf
	reuse, _ := conf.Bool("spark.kubernetes.driver.reusePersistentVolumeClaim", false)
	ownByDriver, _ := conf.Bool("spark.kubernetes.driver.ownPersistentVolumeClaim", false)
	if reuse && len(claims) > 0 {
		claims = a.reuseClaims(ctx, pod, claims)
	}
	created, err := a.client.CoreV1().Pods(a.namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = a.client.CoreV1().Pods(a.namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	}
	if err != nil {
		a.nextID = id
		return sparkClientError("POST", "pods", a.namespace, err)
	}
	a.executors[id] = &executorState{name: pod.Name, createdAt: time.Now()}
	a.mu.Lock()
	a.sum.ExecutorsCreated++
	a.mu.Unlock()
	for _, claim := range claims {
		owner := a.factory.driverOwnerReference()
		if !ownByDriver {
			controller := true
			owner = metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: created.Name, UID: created.UID, Controller: &controller}
		}
		claim.OwnerReferences = []metav1.OwnerReference{owner}
		if _, err := a.client.CoreV1().PersistentVolumeClaims(a.namespace).Create(ctx, claim, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			// ExecutorPodsAllocator deletes the executor whose claim failed.
			_ = a.client.CoreV1().Pods(a.namespace).Delete(ctx, created.Name, metav1.DeleteOptions{})
			return sparkClientError("POST", "persistentvolumeclaims", a.namespace, err)
		}
	}
	return nil
}

// reuseClaims swaps new OnDemand claims for existing ones of this
// application that no live executor uses and that match in storage class and
// size (spark.kubernetes.driver.reusePersistentVolumeClaim), and returns the
// claims still to create.
func (a *app) reuseClaims(ctx context.Context, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) []*corev1.PersistentVolumeClaim {
	existing, err := a.client.CoreV1().PersistentVolumeClaims(a.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelAppSelector + "=" + a.spec.AppID})
	if err != nil || len(existing.Items) == 0 {
		return claims
	}
	pods, err := a.client.CoreV1().Pods(a.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelAppSelector + "=" + a.spec.AppID + "," + LabelSparkRole + "=" + RoleExecutor})
	if err != nil {
		return claims
	}
	inUse := map[string]bool{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				inUse[v.PersistentVolumeClaim.ClaimName] = true
			}
		}
	}
	var remaining []*corev1.PersistentVolumeClaim
	for _, claim := range claims {
		reused := ""
		for _, old := range existing.Items {
			if inUse[old.Name] || old.DeletionTimestamp != nil || old.Spec.StorageClassName == nil || *old.Spec.StorageClassName != *claim.Spec.StorageClassName {
				continue
			}
			if old.Spec.Resources.Requests.Storage().Cmp(*claim.Spec.Resources.Requests.Storage()) != 0 {
				continue
			}
			reused = old.Name
			inUse[old.Name] = true
			break
		}
		if reused == "" {
			remaining = append(remaining, claim)
			continue
		}
		for i := range pod.Spec.Volumes {
			if v := pod.Spec.Volumes[i].PersistentVolumeClaim; v != nil && v.ClaimName == claim.Name {
				v.ClaimName = reused
			}
		}
	}
	return remaining
}

// releaseIdle deletes executors that dynamic allocation no longer needs:
// idle for executorIdleTimeout (model time) and holding no shuffle output
// still to be read.
func (a *app) releaseIdle(ctx context.Context, p allocation) {
	target := a.target(p)
	live := 0
	for _, x := range a.executors {
		if !x.gone && !x.released {
			live++
		}
	}
	for _, execID := range a.engine.Executors() {
		if live <= target {
			return
		}
		if a.engine.IdleFor(execID) < p.idleTimeout || a.engine.HoldsShuffle(execID) {
			continue
		}
		id, _ := strconv.Atoi(execID)
		x := a.executors[id]
		if x == nil || x.released {
			continue
		}
		x.released = true
		live--
		if err := a.client.CoreV1().Pods(a.namespace).Delete(ctx, x.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Releasing idle executor", "executor", x.name)
		}
	}
}

func (a *app) updateStats() {
	st := a.engine.Stats()
	a.mu.Lock()
	a.sum.MigratedBytes = st.MigratedBytes
	a.sum.FallbackBytes = st.FallbackBytes
	a.sum.RecomputedBytes = st.RecomputedBytes
	a.sum.Removals = a.sum.Removals[:0]
	for _, r := range st.Removals {
		pod := ""
		if id, err := strconv.Atoi(r.Executor); err == nil && a.executors[id] != nil {
			pod = a.executors[id].name
		}
		a.sum.Removals = append(a.sum.Removals, ExecutorRemoval{Pod: pod, Removal: r})
	}
	a.sum.RecomputeTaskTime = st.RecomputeTaskTime
	a.mu.Unlock()
}

func (a *app) writeEvents() {
	events := a.engine.Drain()
	if a.log == nil {
		return
	}
	a.log.Write(events...)
	_ = a.log.Flush()
}

// finish stops the executors, closes the event log and ends the driver pod
// Succeeded or Failed with a status patch (see docs/emulator.md for why a
// patch and not a kwok stage).
func (a *app) finish(ctx context.Context, succeeded bool, message string) {
	logger := klog.FromContext(ctx)
	if a.log != nil {
		if path, err := a.log.Close(); err != nil {
			logger.Error(err, "Closing the event log", "path", path)
		}
	}
	if deleteExecutors, _ := a.specConf().Bool("spark.kubernetes.executor.deleteOnTermination", true); a.spec != nil && deleteExecutors {
		// Spark deletes its executors when the SparkContext stops.
		selector := LabelAppSelector + "=" + a.spec.AppID + "," + LabelSparkRole + "=" + RoleExecutor
		if err := untilAnswered(ctx, func() error {
			return a.client.CoreV1().Pods(a.namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector})
		}); err != nil {
			logger.Error(err, "Deleting executor pods")
		}
	}
	phase, exitCode, reason := corev1.PodSucceeded, int32(0), "Completed"
	if !succeeded {
		phase, exitCode, reason = corev1.PodFailed, 1, "Error"
	}
	err := untilAnswered(ctx, func() error {
		return patchDriverTerminated(ctx, a.kubelet, a.driverPod, phase, exitCode, reason, message)
	})
	if err != nil {
		logger.Error(err, "Ending the driver pod", "phase", phase)
	} else {
		logger.Info("Driver ended", "phase", phase)
	}
	a.mu.Lock()
	if a.engine != nil {
		a.sum.ModelDuration = a.engine.Now()
		a.sum.Workload = a.engine.w.Params.Name
	}
	a.sum.State = string(phase)
	a.sum.Message = message
	a.sum.EndedAt = time.Now()
	a.mu.Unlock()
}

// untilAnswered retries call, backing off from 50 ms to 5 s, until the API
// server answers it (done, or the object is gone) or ctx ends, and returns
// its last error. A kubelet keeps reporting a pod's end until the API server
// takes it; a few quick retries gave up during an outage of a minute (the
// multi-cluster demo stops a member's API server), and the driver pod then
// stayed Running after its application had ended.
func untilAnswered(ctx context.Context, call func() error) error {
	backoff := wait.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 8, Cap: 5 * time.Second}
	var last error
	err := backoff.DelayFunc().Until(ctx, true, false, func(context.Context) (bool, error) {
		last = call()
		return last == nil || apierrors.IsNotFound(last), nil
	})
	if err != nil && last == nil {
		return err
	}
	return last
}

// patchDriverTerminated sets the driver pod's phase and terminates its
// containers, as the kubelet reports a pod whose containers exited.
func patchDriverTerminated(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, phase corev1.PodPhase, exitCode int32, reason, message string) error {
	now := metav1.Now()
	var statuses []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		started := now
		for _, old := range pod.Status.ContainerStatuses {
			if old.Name == c.Name && old.State.Running != nil {
				started = old.State.Running.StartedAt
			}
		}
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "", Ready: false, Started: new(bool),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exitCode, Reason: reason, Message: message, StartedAt: started, FinishedAt: now,
			}},
		})
	}
	patch := map[string]any{"status": map[string]any{
		"phase":   phase,
		"message": message,
		"conditions": []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now},
		},
		"containerStatuses": statuses,
	}}
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	return err
}

// sparkClientError words a failed API call as Spark's driver reports it
// (fabric8's KubernetesClientException), with the API server's own message:
// what a Spark engineer expects to read in a failed driver's status. The API
// error stays reachable (apierrors.IsForbidden works on the result).
func sparkClientError(method, resource, namespace string, err error) error {
	msg := err.Error()
	if apierrors.IsForbidden(err) {
		msg = "Forbidden!Configured service account doesn't have access. Service account may have been revoked. " + msg
	}
	return &clientError{err: err, msg: fmt.Sprintf("io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: %s at: https://kubernetes.default.svc/api/v1/namespaces/%s/%s. Message: %s.", method, namespace, resource, msg)}
}

type clientError struct {
	err error
	msg string
}

func (e *clientError) Error() string { return e.msg }
func (e *clientError) Unwrap() error { return e.err }

package sparkapplication_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var (
	env *testenv.Env
)

// Volcano's PodGroup CRD, generated from Volcano's API module (hack/scheduler-crds.sh).
func TestMain(m *testing.M) { testenv.MainSparkplane(m, &env, "../../submit/testdata/crds") }

func scalaApp(ns, name string) *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
			Arguments:           []string{"100"},
			Driver:              v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}},
			Executor: v1alpha1.ExecutorSpec{
				SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](2), Memory: ptr.To[v1alpha1.MemorySize]("2g")},
				Instances:    ptr.To[int32](3),
			},
		},
	}
}

func pythonApp(ns, name string) *v1alpha1.SparkApplication {
	app := scalaApp(ns, name)
	app.Spec.Type = v1alpha1.SparkApplicationTypePython
	app.Spec.MainClass = nil
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/src/main/python/pi.py")
	return app
}

// harness drives a controller by calling Reconcile directly with a fake
// clock, against the real API server.
type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *clocktesting.FakeClock
	ctrl  *sparkapplication.Controller
	ns    string
}

func newHarness(t *testing.T, opts sparkapplication.Options) *harness {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second)) // status times have one-second resolution
	opts.Clock = clk
	return &harness{t: t, ctx: context.Background(), clock: clk, ns: env.Namespace(t),
		ctrl: sparkapplication.NewController(env.Client, env.Client, opts)}
}

func (h *harness) create(app *v1alpha1.SparkApplication) *v1alpha1.SparkApplication {
	h.t.Helper()
	if err := env.Client.Create(h.ctx, app); err != nil {
		h.t.Fatalf("creating %s: %v", app.Name, err)
	}
	return app
}

func (h *harness) reconcile(name string) reconcile.Result {
	h.t.Helper()
	res, err := h.ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: name}})
	if err != nil {
		h.t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

func (h *harness) get(name string) *v1alpha1.SparkApplication {
	h.t.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, app); err != nil {
		h.t.Fatalf("getting %s: %v", name, err)
	}
	return app
}

func (h *harness) pod(name string) *corev1.Pod {
	h.t.Helper()
	pod := &corev1.Pod{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pod); err != nil {
		h.t.Fatalf("getting pod %s: %v", name, err)
	}
	return pod
}

func (h *harness) driverPods(app string) []corev1.Pod {
	h.t.Helper()
	pods := &corev1.PodList{}
	if err := env.Client.List(h.ctx, pods, client.InNamespace(h.ns), client.MatchingLabels{v1alpha1.LabelApplication: app, spark.LabelRole: spark.RoleDriver}); err != nil {
		h.t.Fatal(err)
	}
	return pods.Items
}

// setPodStatus plays the kubelet: it writes a driver or executor pod's status.
func (h *harness) setPodStatus(name string, mutate func(*corev1.PodStatus)) {
	h.t.Helper()
	pod := h.pod(name)
	mutate(&pod.Status)
	if err := env.Client.Status().Update(h.ctx, pod); err != nil {
		h.t.Fatalf("updating pod %s status: %v", name, err)
	}
}

func running(st *corev1.PodStatus) {
	st.Phase = corev1.PodRunning
	st.StartTime = &metav1.Time{Time: time.Now().Truncate(time.Second)}
	st.ContainerStatuses = []corev1.ContainerStatus{{Name: spark.DriverContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func failed(reason string, code int32) func(*corev1.PodStatus) {
	return func(st *corev1.PodStatus) {
		st.Phase = corev1.PodFailed
		st.ContainerStatuses = []corev1.ContainerStatus{{Name: spark.DriverContainerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: "java.lang.OutOfMemoryError"}}}}
	}
}

func succeeded(st *corev1.PodStatus) { st.Phase = corev1.PodSucceeded }

func condition(app *v1alpha1.SparkApplication, t string) metav1.Condition {
	if c := meta.FindStatusCondition(app.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func controllerOf(obj metav1.Object) string {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return ref.Kind + "/" + ref.Name + "/" + string(ref.UID)
	}
	return ""
}

// TestSubmitCreatesDriverObjects: a Scala and a Python application each yield
// the driver Pod, the headless Service and both ConfigMaps, owned as Spark
// owns them, and a status that points at them.
func TestSubmitCreatesDriverObjects(t *testing.T) {
	for _, tc := range []struct {
		app       func(ns, name string) *v1alpha1.SparkApplication
		wantClass string
	}{
		{scalaApp, "org.apache.spark.examples.SparkPi"},
		{pythonApp, "org.apache.spark.deploy.PythonRunner"},
	} {
		h := newHarness(t, sparkapplication.Options{})
		app := h.create(tc.app(h.ns, "pi"))
		if res := h.reconcile("pi"); res.RequeueAfter <= 0 {
			t.Errorf("a pending driver must be re-checked for the pending timeout; got %+v", res)
		}
		app = h.get("pi")
		names := submit.NamesFor(app, 1)
		st := app.Status
		if st.State != v1alpha1.StatePending || st.Attempts != 1 || st.SparkApplicationID != names.AppID || st.ObservedGeneration != app.Generation {
			t.Errorf("status = state %q attempts %d appID %q observedGeneration %d", st.State, st.Attempts, st.SparkApplicationID, st.ObservedGeneration)
		}
		if st.DriverInfo.PodName != "pi-1-driver" || st.DriverInfo.WebUIServiceName != "pi-1-driver-svc" || st.DriverInfo.WebUIAddress != "pi-1-driver-svc."+h.ns+".svc:4040" {
			t.Errorf("driverInfo = %+v", st.DriverInfo)
		}
		if c := condition(app, v1alpha1.ConditionSubmitted); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonDriverCreated {
			t.Errorf("Submitted condition = %+v", c)
		}

		driver := h.pod(names.DriverPod)
		if got, want := controllerOf(driver), "SparkApplication/pi/"+string(app.UID); got != want {
			t.Errorf("driver pod controller = %s, want %s", got, want)
		}
		if !strings.Contains(strings.Join(driver.Spec.Containers[0].Args, " "), "--class "+tc.wantClass) {
			t.Errorf("driver args = %v", driver.Spec.Containers[0].Args)
		}
		for k, v := range map[string]string{v1alpha1.LabelApplication: "pi", spark.LabelRole: "driver", spark.LabelAppSelector: names.AppID, spark.LabelVersion: "3.5.3", spark.LabelAppName: "pi"} {
			if driver.Labels[k] != v {
				t.Errorf("driver label %s = %q, want %q", k, driver.Labels[k], v)
			}
		}
		wantOwner := "Pod/" + driver.Name + "/" + string(driver.UID)
		svc := &corev1.Service{}
		if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: names.DriverService}, svc); err != nil {
			t.Fatal(err)
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Ports) != 3 || controllerOf(svc) != wantOwner {
			t.Errorf("service: clusterIP %q, ports %v, owner %s", svc.Spec.ClusterIP, svc.Spec.Ports, controllerOf(svc))
		}
		conf := &corev1.ConfigMap{}
		if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: names.ConfConfigMap}, conf); err != nil {
			t.Fatal(err)
		}
		props, err := submit.ParseProperties(conf.Data[submit.SparkConfFile])
		if err != nil {
			t.Fatal(err)
		}
		if props["spark.driver.host"] != names.DriverService+"."+h.ns+".svc" || props["spark.kubernetes.namespace"] != h.ns || controllerOf(conf) != wantOwner {
			t.Errorf("spark.properties: driver.host %q namespace %q owner %s", props["spark.driver.host"], props["spark.kubernetes.namespace"], controllerOf(conf))
		}
		tmpl := &corev1.ConfigMap{}
		if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: names.PodTemplateConfigMap}, tmpl); err != nil {
			t.Fatal(err)
		}
		executor := &corev1.Pod{}
		if err := yaml.UnmarshalStrict([]byte(tmpl.Data[submit.PodTemplateKey]), executor); err != nil {
			t.Fatalf("executor template is not a Pod manifest: %v", err)
		}
		if executor.Kind != "Pod" || executor.Labels[v1alpha1.LabelApplication] != "pi" || controllerOf(tmpl) != wantOwner {
			t.Errorf("executor template: kind %q labels %v owner %s", executor.Kind, executor.Labels, controllerOf(tmpl))
		}
		// The API server accepts the template as a pod (what the driver will do).
		executor.Name, executor.Namespace = "template-check", h.ns
		if err := env.Client.Create(h.ctx, executor, client.DryRunAll); err != nil {
			t.Errorf("the API server refuses the executor template: %v", err)
		}
	}
}

// TestStatusFollowsDriverAndTTL: the state follows the driver pod's phase,
// executors are counted by phase, and the TTL deletes a finished application.
func TestStatusFollowsDriverAndTTL(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "follow")
	app.Spec.TimeToLiveSeconds = ptr.To[int64](60)
	h.create(app)
	h.reconcile("follow")
	names := submit.NamesFor(h.get("follow"), 1)

	h.setPodStatus(names.DriverPod, running)
	h.reconcile("follow")
	got := h.get("follow")
	if got.Status.State != v1alpha1.StateRunning || got.Status.StartTime == nil || condition(got, v1alpha1.ConditionRunning).Status != metav1.ConditionTrue {
		t.Fatalf("after the driver runs: state %q startTime %v", got.Status.State, got.Status.StartTime)
	}

	// Executors as the driver would create them.
	for i, phase := range []corev1.PodPhase{corev1.PodRunning, corev1.PodRunning, corev1.PodPending, corev1.PodFailed} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-exec-%d", names.Prefix, i+1), Namespace: h.ns, Labels: map[string]string{
				v1alpha1.LabelApplication: "follow", spark.LabelAppSelector: names.AppID, spark.LabelRole: spark.RoleExecutor, spark.LabelExecID: fmt.Sprint(i + 1)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "spark-kubernetes-executor", Image: "apache/spark:3.5.3"}}},
		}
		if err := env.Client.Create(h.ctx, pod); err != nil {
			t.Fatal(err)
		}
		h.setPodStatus(pod.Name, func(st *corev1.PodStatus) { st.Phase = phase })
	}
	h.reconcile("follow")
	if got := h.get("follow").Status.Executors; got != (v1alpha1.ExecutorCounts{Running: 2, Pending: 1, Failed: 1}) {
		t.Errorf("executor counts = %+v, want running 2, pending 1, failed 1", got)
	}

	h.setPodStatus(names.DriverPod, succeeded)
	// The reconcile that ends the application schedules its TTL: the status
	// patch it makes wakes nothing.
	if res := h.reconcile("follow"); res.RequeueAfter < 59*time.Second || res.RequeueAfter > 61*time.Second {
		t.Errorf("the reconcile that ended the application: requeue after %s, want the 60s TTL", res.RequeueAfter)
	}
	got = h.get("follow")
	if got.Status.State != v1alpha1.StateSucceeded || got.Status.TerminationTime == nil {
		t.Fatalf("after the driver succeeded: state %q", got.Status.State)
	}
	if c := condition(got, v1alpha1.ConditionCompleted); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonSucceeded {
		t.Errorf("Completed condition = %+v", c)
	}

	h.clock.Step(30 * time.Second)
	if res := h.reconcile("follow"); res.RequeueAfter < 29*time.Second || res.RequeueAfter > 31*time.Second {
		t.Errorf("30s into a 60s TTL: requeue after %s, want ~30s", res.RequeueAfter)
	}
	h.get("follow") // still there
	h.clock.Step(31 * time.Second)
	h.reconcile("follow")
	err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: "follow"}, &v1alpha1.SparkApplication{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after the TTL the application should be gone; get = %v", err)
	}
}

// TestRetriesWithBackoff: OnFailure with one retry runs a second attempt after
// the interval, and a second failure ends the application Failed with the
// container's reason.
func TestRetriesWithBackoff(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "retry")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](1), OnFailureRetryInterval: ptr.To[int64](10)}
	h.create(app)
	h.reconcile("retry")
	first := submit.NamesFor(h.get("retry"), 1)
	h.setPodStatus(first.DriverPod, failed("OOMKilled", 137))

	res := h.reconcile("retry")
	got := h.get("retry")
	if got.Status.State != v1alpha1.StateRetrying || res.RequeueAfter != 10*time.Second {
		t.Fatalf("after attempt 1 failed: state %q requeue %s; want Retrying after 10s", got.Status.State, res.RequeueAfter)
	}
	if c := condition(got, v1alpha1.ConditionRunning); c.Reason != v1alpha1.ReasonDriverFailed || !strings.Contains(c.Message, "OOMKilled") || !strings.Contains(c.Message, "exited with code 137") {
		t.Errorf("Running condition = %+v; want the container's reason and exit code", c)
	}

	h.clock.Step(5 * time.Second)
	if res := h.reconcile("retry"); res.RequeueAfter != 5*time.Second {
		t.Errorf("halfway through the backoff: requeue %s, want 5s", res.RequeueAfter)
	}
	if pods := h.driverPods("retry"); len(pods) != 1 || pods[0].Name != first.DriverPod {
		t.Fatalf("no second attempt may start before the backoff ends; driver pods: %d", len(pods))
	}
	h.clock.Step(5 * time.Second)
	h.reconcile("retry")
	got = h.get("retry")
	second := submit.NamesFor(got, 2)
	if got.Status.Attempts != 2 || got.Status.State != v1alpha1.StatePending || got.Status.SparkApplicationID != second.AppID {
		t.Fatalf("after the backoff: attempts %d state %q", got.Status.Attempts, got.Status.State)
	}
	if pods := h.driverPods("retry"); len(pods) != 1 || pods[0].Name != second.DriverPod {
		t.Errorf("want only attempt 2's driver pod; got %d pods", len(pods))
	}

	h.setPodStatus(second.DriverPod, failed("Error", 1))
	h.reconcile("retry")
	got = h.get("retry")
	if got.Status.State != v1alpha1.StateFailed {
		t.Fatalf("after the last retry failed: state %q, want Failed", got.Status.State)
	}
	if c := condition(got, v1alpha1.ConditionCompleted); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonDriverFailed || !strings.Contains(c.Message, "exited with code 1") {
		t.Errorf("Completed condition = %+v", c)
	}
}

// TestDriverPendingTimeout: a driver that never starts ends the application
// Failed with a message, and its pod is removed.
func TestDriverPendingTimeout(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{DriverPendingTimeout: 2 * time.Minute})
	h.create(scalaApp(h.ns, "stuck"))
	h.reconcile("stuck")
	driver := submit.NamesFor(h.get("stuck"), 1).DriverPod
	h.setPodStatus(driver, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodPending
		st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient memory."}}
	})
	h.clock.Step(time.Minute)
	if res := h.reconcile("stuck"); res.RequeueAfter <= 0 || res.RequeueAfter > time.Minute+5*time.Second {
		t.Errorf("one minute into a two-minute timeout: requeue %s", res.RequeueAfter)
	}
	if c := condition(h.get("stuck"), v1alpha1.ConditionRunning); !strings.Contains(c.Message, "Insufficient memory") {
		t.Errorf("pending message should say why: %+v", c)
	}
	h.clock.Step(2 * time.Minute)
	h.reconcile("stuck")
	got := h.get("stuck")
	c := condition(got, v1alpha1.ConditionCompleted)
	if got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonDriverPendingTimeout || !strings.Contains(c.Message, "stayed Pending for more than 2m0s") {
		t.Errorf("after the timeout: state %q, Completed %+v", got.Status.State, c)
	}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: driver}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("the stuck driver pod should be deleted; get = %v", err)
	}
}

// TestInvalidSpecEndsFailed: what the CRD cannot judge ends Failed, with a
// condition naming the field, and nothing created.
func TestInvalidSpecEndsFailed(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "bad")
	app.Spec.SparkConf = map[string]string{"spark.driver.host": "me.example.com", "spark.executor.memory": "1.5g"}
	app.Spec.Executor.Memory = nil
	h.create(app)
	h.reconcile("bad")
	got := h.get("bad")
	c := condition(got, v1alpha1.ConditionAccepted)
	if got.Status.State != v1alpha1.StateFailed || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonInvalidSpec {
		t.Fatalf("state %q, Accepted %+v", got.Status.State, c)
	}
	for _, want := range []string{"spec.sparkConf[spark.driver.host]", "remove it", "spec.sparkConf[spark.executor.memory]", "1536m"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("condition message lacks %q:\n%s", want, c.Message)
		}
	}
	if pods := h.driverPods("bad"); len(pods) != 0 {
		t.Errorf("an invalid application created %d driver pods", len(pods))
	}
	// A second reconcile changes nothing.
	before := got.ResourceVersion
	h.reconcile("bad")
	if h.get("bad").ResourceVersion != before {
		t.Errorf("reconciling a failed application rewrote its status")
	}
}

// TestBuildErrorNamesWhoseItIs: the attempt's objects are built once, from
// the effective application; an error only the build finds is the user's
// when what the user wrote fails the same way (named as written), and the
// profile's otherwise ("after applying the profile").
func TestBuildErrorNamesWhoseItIs(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{Resolve: func(_ context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
		if app.Spec.Profile == "sets-reserved" {
			app.Spec.SparkConf = map[string]string{"spark.driver.host": "profile.example.com"}
		}
		return app, "", nil
	}})
	// Validate passes this (ingress addresses are checked as the objects
	// are built); only the build refuses it.
	users := scalaApp(h.ns, "users")
	users.Spec.SparkUIOptions = &v1alpha1.SparkUIConfiguration{}
	users.Spec.DriverIngressOptions = []v1alpha1.DriverIngressConfiguration{{
		ServicePort: ptr.To[int32](4045), ServicePortName: ptr.To("extra"), IngressURLFormat: "bad_host/{{$appName}}",
	}}
	profiles := scalaApp(h.ns, "profiles")
	profiles.Spec.Profile = "sets-reserved"
	for app, want := range map[*v1alpha1.SparkApplication]string{
		users:    "spec.driverIngressOptions[0].ingressURLFormat",
		profiles: "after applying the profile: spec.sparkConf[spark.driver.host]",
	} {
		h.create(app)
		h.reconcile(app.Name)
		got := h.get(app.Name)
		c := condition(got, v1alpha1.ConditionAccepted)
		if got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonInvalidSpec || !strings.HasPrefix(c.Message, want) {
			t.Errorf("%s: state %q, Accepted %s: %q; want InvalidSpec starting %q", app.Name, got.Status.State, c.Reason, c.Message, want)
		}
		if pods := h.driverPods(app.Name); len(pods) != 0 {
			t.Errorf("%s: an invalid application created %d driver pods", app.Name, len(pods))
		}
	}
}

// TestResolverHook: the profile hook's effective spec is what gets submitted,
// its zone is recorded, and its rejection fails the application.
func TestResolverHook(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{Resolve: func(_ context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
		if app.Spec.Profile == "missing" {
			return nil, "", &sparkapplication.Rejection{Reason: v1alpha1.ReasonProfileNotFound, Message: `spec.profile: SparkProfile "missing" not found; create it or pick another`}
		}
		app.Spec.Driver.Tolerations = append(app.Spec.Driver.Tolerations, corev1.Toleration{Key: "on-demand", Operator: corev1.TolerationOpExists})
		app.Status.Zone = "zone-a"
		app.Status.Profile = &v1alpha1.ProfileReference{Name: app.Spec.Profile, Generation: 3}
		return app, "Resolved by the test hook.", nil
	}})
	ok := scalaApp(h.ns, "profiled")
	ok.Spec.Profile = "cost-optimized"
	h.create(ok)
	h.reconcile("profiled")
	got := h.get("profiled")
	driver := h.pod(got.Status.DriverInfo.PodName)
	if len(driver.Spec.Tolerations) == 0 || driver.Spec.Tolerations[0].Key != "on-demand" {
		t.Errorf("the resolved toleration is not on the driver pod: %v", driver.Spec.Tolerations)
	}
	if got.Status.Zone != "zone-a" || got.Status.Profile == nil || got.Status.Profile.Generation != 3 {
		t.Errorf("status zone %q profile %+v", got.Status.Zone, got.Status.Profile)
	}

	missing := scalaApp(h.ns, "unprofiled")
	missing.Spec.Profile = "missing"
	h.create(missing)
	h.reconcile("unprofiled")
	got = h.get("unprofiled")
	if c := condition(got, v1alpha1.ConditionAccepted); got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonProfileNotFound || !strings.Contains(c.Message, "spec.profile") {
		t.Errorf("state %q Accepted %+v", got.Status.State, c)
	}
}

// TestStatusPatchKeepsOtherWriters: fields written by the interruption
// controller survive this controller's status writes.
func TestStatusPatchKeepsOtherWriters(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "shared"))
	h.reconcile("shared")
	app := h.get("shared")
	base := app.DeepCopy()
	app.Status.Interruptions = &v1alpha1.InterruptionStatus{Notices: 2, ExecutorsDecommissioned: 5, LastNoticeTime: &metav1.Time{Time: time.Now().Truncate(time.Second)}}
	if err := env.Client.Status().Patch(h.ctx, app, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	h.setPodStatus(app.Status.DriverInfo.PodName, running)
	h.reconcile("shared")
	got := h.get("shared")
	if got.Status.State != v1alpha1.StateRunning {
		t.Fatalf("state %q", got.Status.State)
	}
	if got.Status.Interruptions == nil || got.Status.Interruptions.Notices != 2 || got.Status.Interruptions.ExecutorsDecommissioned != 5 {
		t.Errorf("status.interruptions was overwritten: %+v", got.Status.Interruptions)
	}
}

// TestRestartSafety: a reconcile interrupted after creating the driver pod,
// then rerun, completes the attempt with exactly one driver pod; and two
// controllers racing over a burst of applications create exactly one driver
// pod each.
func TestRestartSafety(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := h.create(scalaApp(h.ns, "interrupted"))
	// What the first operator managed before it died: the driver pod only.
	objs, err := submit.Build(app, submit.Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(h.ctx, objs.DriverPod); err != nil {
		t.Fatal(err)
	}
	h.reconcile("interrupted")
	if pods := h.driverPods("interrupted"); len(pods) != 1 {
		t.Fatalf("driver pods = %d, want 1", len(pods))
	}
	got := h.get("interrupted")
	if got.Status.Attempts != 1 || got.Status.State != v1alpha1.StatePending {
		t.Errorf("status after the rerun: attempts %d state %q", got.Status.Attempts, got.Status.State)
	}
	for _, name := range []string{objs.Names.ConfConfigMap, objs.Names.PodTemplateConfigMap} {
		if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, &corev1.ConfigMap{}); err != nil {
			t.Errorf("configmap %s after the rerun: %v", name, err)
		}
	}

	// Two controllers (two operators during a leader hand-over) race over a burst.
	const burst = 40
	other := sparkapplication.NewController(env.Client, env.Client, sparkapplication.Options{Clock: h.clock})
	for i := range burst {
		h.create(pythonApp(h.ns, fmt.Sprintf("burst-%d", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*burst)
	for _, ctrl := range []*sparkapplication.Controller{h.ctrl, other} {
		for round := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range burst {
					i = (i + round*burst/2) % burst
					req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: fmt.Sprintf("burst-%d", i)}}
					if _, err := ctrl.Reconcile(h.ctx, req); err != nil && !apierrors.IsConflict(err) {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reconcile: %v", err)
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(h.ctx, pods, client.InNamespace(h.ns), client.MatchingLabels{spark.LabelRole: spark.RoleDriver}); err != nil {
		t.Fatal(err)
	}
	perApp := map[string]int{}
	for _, p := range pods.Items {
		perApp[p.Labels[v1alpha1.LabelApplication]]++
	}
	for i := range burst {
		if n := perApp[fmt.Sprintf("burst-%d", i)]; n != 1 {
			t.Errorf("burst-%d has %d driver pods, want exactly 1", i, n)
		}
	}
}

// TestSubmissionFailureRetries: an API refusal that may clear (here: a
// PriorityClass that does not exist yet) shows in the Submitted condition and
// is retried onSubmissionFailureRetries times before the application fails.
func TestSubmissionFailureRetries(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "noprio")
	app.Spec.Driver.PriorityClassName = ptr.To("does-not-exist")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{OnSubmissionFailureRetries: ptr.To[int32](1), OnSubmissionFailureRetryInterval: ptr.To[int64](7)}
	h.create(app)
	if res := h.reconcile("noprio"); res.RequeueAfter != 7*time.Second {
		t.Errorf("first refusal: requeue %s, want the 7s submission retry interval", res.RequeueAfter)
	}
	got := h.get("noprio")
	if c := condition(got, v1alpha1.ConditionSubmitted); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSubmissionFailed || !strings.Contains(c.Message, "does-not-exist") {
		t.Fatalf("Submitted condition = %+v", c)
	}
	if got.Status.State.IsTerminal() || got.Status.SubmissionAttempts != 1 {
		t.Errorf("after one refusal: state %q submissionAttempts %d", got.Status.State, got.Status.SubmissionAttempts)
	}
	h.reconcile("noprio")
	got = h.get("noprio")
	if c := condition(got, v1alpha1.ConditionCompleted); got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonSubmissionFailed || !strings.Contains(c.Message, "gave up after 2 tries") {
		t.Errorf("after the retries: state %q Completed %+v", got.Status.State, c)
	}
	if pods := h.driverPods("noprio"); len(pods) != 0 {
		t.Errorf("%d driver pods exist", len(pods))
	}
}

// TestSubmissionGiveUpRemovesDriver: when the driver pod was created but a
// dependent keeps being refused (here a quota allows no ConfigMaps) and the
// application runs out of submission retries, the driver goes too: no
// half-submitted attempt waits for a ConfigMap that never comes.
func TestSubmissionGiveUpRemovesDriver(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "no-configmaps"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("0")}},
	}
	if err := env.Client.Create(h.ctx, quota); err != nil {
		t.Fatal(err)
	}
	// The quota controller would fill in the status; envtest runs none.
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("0")}}
	if err := env.Client.Status().Update(h.ctx, quota); err != nil {
		t.Fatal(err)
	}
	app := scalaApp(h.ns, "noconf")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{OnSubmissionFailureRetries: ptr.To[int32](0)}
	h.create(app)
	h.reconcile("noconf")
	got := h.get("noconf")
	if c := condition(got, v1alpha1.ConditionCompleted); got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonSubmissionFailed || !strings.Contains(c.Message, "conf-map") {
		t.Errorf("state %q Completed %+v", got.Status.State, c)
	}
	if pods := h.driverPods("noconf"); len(pods) != 0 {
		t.Errorf("%d driver pods left after giving up, want 0", len(pods))
	}
}

// TestMissingStorageClassFailsAtOnce: an application whose shuffle volumes
// name a StorageClass the cluster lacks ends Failed on its first reconcile,
// with a message naming the class and what creates it, and nothing is
// created; once the class exists the same spec is submitted.
func TestMissingStorageClassFailsAtOnce(t *testing.T) {
	const class = "absent-shuffle-class"
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "no-class")
	app.Spec.SparkConf = map[string]string{
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.claimName":    "OnDemand",
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass": class,
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.path":           "/data",
	}
	h.create(app)
	if res := h.reconcile("no-class"); res.RequeueAfter != 0 {
		t.Errorf("a missing StorageClass was requeued after %s; want Failed at once", res.RequeueAfter)
	}
	got := h.get("no-class")
	c := condition(got, v1alpha1.ConditionAccepted)
	if got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonMissingPrerequisite ||
		!strings.Contains(c.Message, "StorageClass "+class) || !strings.Contains(c.Message, "platform render") {
		t.Fatalf("state %q, Accepted = %+v", got.Status.State, c)
	}
	if pods := h.driverPods("no-class"); len(pods) != 0 {
		t.Errorf("%d driver pods created for an application that cannot run", len(pods))
	}

	env.ShuffleStorageClass(t, class)
	again := scalaApp(h.ns, "with-class")
	again.Spec.SparkConf = app.Spec.SparkConf
	h.create(again)
	h.reconcile("with-class")
	if pods := h.driverPods("with-class"); len(pods) != 1 {
		t.Errorf("with the StorageClass in place: %d driver pods, want 1 (state %q)", len(pods), h.get("with-class").Status.State)
	}
}

// A namespace being deleted refuses every new object: the submission ends
// without an error (no retries with backoff until the application is
// deleted with its namespace) and writes nothing. envtest runs no
// namespace controller, so the namespace stays Terminating.
func TestNamespaceTerminatingIsNotRetried(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "doomed"))
	if err := env.Client.Delete(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}); err != nil {
		t.Fatal(err)
	}
	res, err := h.ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: "doomed"}})
	if err != nil || !res.IsZero() {
		t.Fatalf("reconcile in a terminating namespace: %+v, %v; want no retry and no error", res, err)
	}
	if pods := h.driverPods("doomed"); len(pods) != 0 {
		t.Errorf("driver pods created: %d", len(pods))
	}
	if st := h.get("doomed").Status; len(st.Conditions) != 0 || st.Attempts != 0 {
		t.Errorf("status written: %+v", st)
	}
}

// TestDriverDeleted: a driver deleted before it finished ends the attempt
// (DriverDeleted); one deleted with its namespace does not: the application
// is on its way out too, and the reconcile writes nothing.
func TestDriverDeleted(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	for _, app := range []string{"lost", "with-namespace"} {
		h.create(scalaApp(h.ns, app))
		h.reconcile(app)
	}
	deleteDriver := func(app string) {
		t.Helper()
		driver := h.pod(h.get(app).Status.DriverInfo.PodName)
		if err := env.Client.Delete(h.ctx, driver, client.GracePeriodSeconds(0)); err != nil {
			t.Fatal(err)
		}
	}

	deleteDriver("lost")
	h.reconcile("lost")
	if c := condition(h.get("lost"), v1alpha1.ConditionCompleted); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonDriverDeleted {
		t.Errorf("driver deleted: Completed %+v, want True DriverDeleted", c)
	}

	before := h.get("with-namespace")
	deleteDriver("with-namespace")
	// envtest runs no namespace controller: the namespace stays
	// Terminating, with the application still in it.
	if err := env.Client.Delete(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}); err != nil {
		t.Fatal(err)
	}
	h.reconcile("with-namespace")
	if got := h.get("with-namespace"); got.ResourceVersion != before.ResourceVersion || got.Status.State != v1alpha1.StatePending {
		t.Errorf("driver deleted with its namespace: state %q, status rewritten %v; want it left Pending", got.Status.State, got.ResourceVersion != before.ResourceVersion)
	}
}

// TestConditionsOnlyOnceTheyHold (issue 20): a just-submitted application
// carries Accepted and Submitted only; Running appears when something known
// blocks the driver (at once, not after the pending threshold) or when it
// runs, and a driver that is merely bound to a node and starting costs no
// status write. A new attempt starts without the previous one's Running and
// Completed.
func TestConditionsOnlyOnceTheyHold(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "slim")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](1), OnFailureRetryInterval: ptr.To[int64](1)}
	h.create(app)
	h.reconcile("slim")
	types := func(app *v1alpha1.SparkApplication) []string {
		var got []string
		for _, c := range app.Status.Conditions {
			got = append(got, c.Type+"="+string(c.Status))
		}
		return got
	}
	got := h.get("slim")
	if want := []string{"Accepted=True", "Submitted=True"}; !slices.Equal(types(got), want) || got.Status.State != v1alpha1.StatePending {
		t.Fatalf("just submitted: conditions %v state %q, want %v and Pending", types(got), got.Status.State, want)
	}
	driver := submit.NamesFor(got, 1).DriverPod

	// Reconciled again, bound to a node, its containers being created:
	// nothing new to say, nothing written.
	rv := got.ResourceVersion
	h.reconcile("slim")
	h.setPodStatus(driver, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodPending
		st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	})
	h.reconcile("slim")
	if got := h.get("slim"); got.ResourceVersion != rv {
		t.Errorf("a pending driver with nothing known against it wrote the status: conditions %v", types(got))
	}

	// The scheduler refuses it: said at once, before the pending threshold.
	h.setPodStatus(driver, func(st *corev1.PodStatus) {
		st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient memory."}}
	})
	h.reconcile("slim")
	if c := condition(h.get("slim"), v1alpha1.ConditionRunning); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonDriverPending || !strings.Contains(c.Message, "Insufficient memory") {
		t.Errorf("an unschedulable driver: Running %+v, want False DriverPending with the scheduler's words", c)
	}
	// No longer blocked: the condition goes, as it came.
	h.setPodStatus(driver, func(st *corev1.PodStatus) {
		st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	})
	h.reconcile("slim")
	if got := h.get("slim"); meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionRunning) != nil {
		t.Errorf("a driver no longer blocked keeps %+v", condition(got, v1alpha1.ConditionRunning))
	}

	h.setPodStatus(driver, running)
	h.reconcile("slim")
	if c := condition(h.get("slim"), v1alpha1.ConditionRunning); c.Status != metav1.ConditionTrue {
		t.Fatalf("running driver: Running %+v", c)
	}
	// The attempt fails and is retried: Running and Completed say so
	// between attempts, and the next attempt starts without them.
	h.setPodStatus(driver, failed("Error", 1))
	h.reconcile("slim")
	got = h.get("slim")
	if got.Status.State != v1alpha1.StateRetrying || condition(got, v1alpha1.ConditionCompleted).Reason != v1alpha1.ReasonInProgress ||
		condition(got, v1alpha1.ConditionRunning).Reason != v1alpha1.ReasonDriverFailed {
		t.Fatalf("between attempts: state %q conditions %+v", got.Status.State, got.Status.Conditions)
	}
	h.clock.Step(2 * time.Second)
	h.reconcile("slim")
	got = h.get("slim")
	if want := []string{"Accepted=True", "Submitted=True"}; got.Status.Attempts != 2 || !slices.Equal(types(got), want) {
		t.Errorf("second attempt: attempts %d conditions %v, want %v", got.Status.Attempts, types(got), want)
	}
}

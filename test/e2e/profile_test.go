//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/controller"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// executorsFromTemplate creates executor pods as the Spark driver does: the
// template from the ConfigMap, with a name and Spark's executor labels.
func executorsFromTemplate(t *testing.T, c *framework.Cluster, objs *submit.Objects, n int) {
	t.Helper()
	template := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(objs.PodTemplateConfigMap.Data[submit.PodTemplateKey]), template); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		pod := template.DeepCopy()
		pod.Name = fmt.Sprintf("%s-exec-%d", objs.Names.Prefix, i)
		pod.Namespace = objs.DriverPod.Namespace
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[spark.LabelRole] = spark.RoleExecutor
		pod.Labels[spark.LabelExecID] = fmt.Sprint(i)
		pod.Labels[spark.LabelAppSelector] = objs.Names.AppID
		if err := c.Client.Create(context.Background(), pod); err != nil {
			t.Fatalf("creating executor %s: %v", pod.Name, err)
		}
	}
}

func scheduledNodes(t *testing.T, c *framework.Cluster, ns string, want int, timeout time.Duration) map[string]*corev1.Node {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, timeout, fmt.Sprintf("%d pods scheduled", want), func() (bool, error) {
		list := &corev1.PodList{}
		if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		scheduled := 0
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				scheduled++
			}
		}
		return scheduled == want, nil
	})
	list := &corev1.PodList{}
	if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]*corev1.Node{}
	for _, p := range list.Items {
		node := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: p.Spec.NodeName}, node); err != nil {
			t.Fatal(err)
		}
		out[p.Name] = node
	}
	return out
}

// operatorOn installs sparkplane on cluster c (CRDs, RBAC, the built-in
// profiles; the PriorityClasses the platform bundle would add) and runs the
// operator's controllers in this process until the test ends, as
// `sparkplane operator` on the host does for the local cluster.
func operatorOn(t *testing.T, c *framework.Cluster, profiles sparkprofile.ResolverOptions) client.Client {
	t.Helper()
	ctx := context.Background()
	cl, err := client.New(c.Config, client.Options{Scheme: cli.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Objects(install.Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Apply(ctx, cl, objs, io.Discard); err != nil {
		t.Fatal(err)
	}
	// install creates the PriorityClasses; the shuffle StorageClass is the
	// platform bundle's, and an application on a PVC-shuffle profile fails
	// at once without it.
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: profile.DefaultShuffleStorageClass}, Provisioner: "kubernetes.io/no-provisioner"}
	if err := cl.Create(ctx, sc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ctrllog.SetLogger(logr.Discard())
	mgr, err := manager.New(c.Config, manager.Options{
		Scheme: cli.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		// Each test runs its own operator in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controller.Register(mgr, controller.Options{Profiles: profiles}); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, "operator", mgr.Start)
	return cl
}

// submitThroughOperator creates an application that names no profile (so it
// gets the cluster default, cost-optimized) and waits until the operator has
// submitted it; it returns the application and its template ConfigMap's
// executor pod. mutate, if any, changes the application before it is
// created (its name is "placed" unless mutate renames it).
func submitThroughOperator(t *testing.T, cl client.Client, ns string, executors, cores int32, mutate ...func(*v1alpha1.SparkApplication)) (*v1alpha1.SparkApplication, *submit.Objects) {
	t.Helper()
	ctx := context.Background()
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "placed"}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark:3.5.3")
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
	app.Spec.Executor.Instances = ptr.To(executors)
	app.Spec.Executor.Cores = ptr.To(cores)
	app.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("2g"))
	for _, m := range mutate {
		m(app)
	}
	if err := cl.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the operator submits the application", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return false, err
		}
		return app.Status.Attempts == 1 && app.Status.Zone != "", nil
	})
	if app.Status.Profile == nil || app.Status.Profile.Name != profile.CostOptimized {
		t.Fatalf("status.profile = %+v, want the cluster default %s", app.Status.Profile, profile.CostOptimized)
	}
	names := submit.NamesFor(app, 1)
	objs := &submit.Objects{Names: names, DriverPod: &corev1.Pod{}, PodTemplateConfigMap: &corev1.ConfigMap{}}
	testenv.Eventually(t, time.Minute, "driver pod and executor template", func() (bool, error) {
		errPod := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.DriverPod}, objs.DriverPod)
		errCM := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.PodTemplateConfigMap}, objs.PodTemplateConfigMap)
		return errPod == nil && errCM == nil, nil
	})
	t.Logf("profile %s at generation %d, zone %s", app.Status.Profile.Name, app.Status.Profile.Generation, app.Status.Zone)
	return app, objs
}

// TestProfilePlacement: on the local cluster with free capacity everywhere,
// an application submitted through the operator with the default profile
// gets its driver on on-demand capacity in the chosen zone, and executors
// created from the operator's template (as the Spark driver creates them)
// land on arm64 spot nodes in the driver's zone, through the real scheduler.
func TestProfilePlacement(t *testing.T) {
	c := framework.Up(t, devcluster.Options{Zones: 2})
	cl := operatorOn(t, c, sparkprofile.ResolverOptions{})
	ns := c.Namespace(t)
	app, objs := submitThroughOperator(t, cl, ns, 4, 1)
	executorsFromTemplate(t, c, objs, 4)

	placed := scheduledNodes(t, c, ns, 5, time.Minute)
	for pod, node := range placed {
		l := node.Labels
		t.Logf("%s → %s (%s %s %s %s)", pod, node.Name, l[karpv1.NodePoolLabelKey], l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey], l[corev1.LabelTopologyZone])
		if l[corev1.LabelTopologyZone] != app.Status.Zone {
			t.Errorf("%s is in zone %s, want %s", pod, l[corev1.LabelTopologyZone], app.Status.Zone)
		}
		if pod == objs.DriverPod.Name {
			if l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeOnDemand {
				t.Errorf("driver on %s capacity, want on-demand", l[karpv1.CapacityTypeLabelKey])
			}
			continue
		}
		if l[corev1.LabelArchStable] != devcluster.ArchArm64 || l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeSpot {
			t.Errorf("executor %s on %s/%s, want arm64 spot", pod, l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey])
		}
	}
}

// TestProfileKarpenterFallback: with Karpenter creating nodes (and the
// operator spreading applications over zones), executors from the default
// profile's template fill the arm64-spot pool up to its limit and the next
// ones get amd64 spot nodes, all in the application's zone.
func TestProfileKarpenterFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: 2})
	cl := operatorOn(t, c, sparkprofile.ResolverOptions{NodesOnDemand: true, Zones: devcluster.Zones(2)})
	ns := c.Namespace(t)
	const executors = 20 // × 3 CPUs: more than the arm64-spot limit
	app, objs := submitThroughOperator(t, cl, ns, executors, 3)
	executorsFromTemplate(t, c, objs, executors)

	// The driver lands on the driver pool Karpenter creates; count executors only.
	placed := scheduledNodes(t, c, ns, executors+1, 4*time.Minute)
	perPool := map[string]int{}
	for pod, node := range placed {
		l := node.Labels
		if l[corev1.LabelTopologyZone] != app.Status.Zone {
			t.Errorf("%s is in zone %s, want %s", pod, l[corev1.LabelTopologyZone], app.Status.Zone)
		}
		if pod == objs.DriverPod.Name {
			if l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeOnDemand {
				t.Errorf("driver on %s capacity, want on-demand", l[karpv1.CapacityTypeLabelKey])
			}
			continue
		}
		perPool[l[karpv1.NodePoolLabelKey]]++
	}
	t.Logf("executors per pool: %v", perPool)
	if perPool[devcluster.NodePoolArm64Spot] == 0 || perPool[devcluster.NodePoolAmd64Spot] == 0 {
		t.Errorf("executors per pool %v: want arm64-spot filled and the rest on amd64-spot", perPool)
	}
	if perPool[devcluster.NodePoolArm64Spot]+perPool[devcluster.NodePoolAmd64Spot] != executors {
		t.Errorf("executors per pool %v: want all on spot pools", perPool)
	}
}

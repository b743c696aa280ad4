//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// profileApp is an application resolved against the built-in profiles on
// cluster c: the default profile, zone chosen from the cluster's nodes.
func profileApp(t *testing.T, c *framework.Cluster, ns string, executors int32, cores int32, nodesOnDemand bool) (profile.ResolveResult, *submit.Objects) {
	t.Helper()
	ctx := context.Background()
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "placed", UID: types.UID("00000000-0000-0000-0000-000000000001")}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark:3.5.3")
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
	app.Spec.Executor.Instances = ptr.To(executors)
	app.Spec.Executor.Cores = ptr.To(cores)
	app.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("2g"))

	nodes := &corev1.NodeList{}
	pods := &corev1.PodList{}
	if err := c.Client.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.List(ctx, pods); err != nil {
		t.Fatal(err)
	}
	// The PriorityClasses the profiles name, as the platform bundle installs them.
	for name, value := range map[string]int32{v1alpha1.PriorityClassDriver: 1000, v1alpha1.PriorityClassExecutor: 100} {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
		if err := c.Client.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	var profiles []v1alpha1.SparkProfile
	for _, p := range profile.BuiltinProfiles() {
		p.Generation = 1
		profiles = append(profiles, *p)
	}
	zones := profile.ZoneInputFor("", nodes.Items, pods.Items, nil, nodesOnDemand)
	if nodesOnDemand {
		zones.Zones = devcluster.Zones(2)
	}
	res, err := profile.Resolve(profile.ResolveInput{Application: app, Profiles: profiles, Zones: zones})
	if err != nil {
		t.Fatal(err)
	}
	if res.Zone == "" {
		t.Fatalf("no zone chosen: %s", res.ZoneReason)
	}
	t.Logf("zone %s: %s", res.Zone, res.ZoneReason)
	objs, err := submit.Build(res.Application, submit.Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res, objs
}

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
		pod.Labels[submit.LabelSparkRole] = submit.RoleExecutor
		pod.Labels[submit.LabelSparkExecID] = fmt.Sprint(i)
		pod.Labels[submit.LabelSparkAppSelector] = objs.Names.AppID
		if err := c.Client.Create(context.Background(), pod); err != nil {
			t.Fatalf("creating executor %s: %v", pod.Name, err)
		}
	}
}

func scheduledNodes(t *testing.T, c *framework.Cluster, ns string, want int, timeout time.Duration) map[string]*corev1.Node {
	t.Helper()
	ctx := context.Background()
	framework.Eventually(t, timeout, fmt.Sprintf("%d pods scheduled", want), func() (bool, error) {
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

// TestProfilePlacement: with free capacity everywhere, the default profile's
// driver lands on on-demand capacity in the chosen zone and executors created
// from the template land on arm64 spot nodes in the driver's zone, through
// the real scheduler.
func TestProfilePlacement(t *testing.T) {
	c := framework.Up(t, devcluster.Options{Zones: 2})
	ctx := context.Background()
	ns := c.Namespace(t)
	res, objs := profileApp(t, c, ns, 4, 1, false)
	if err := c.Client.Create(ctx, objs.DriverPod); err != nil {
		t.Fatal(err)
	}
	executorsFromTemplate(t, c, objs, 4)

	placed := scheduledNodes(t, c, ns, 5, time.Minute)
	for pod, node := range placed {
		l := node.Labels
		t.Logf("%s → %s (%s %s %s %s)", pod, node.Name, l[devcluster.LabelNodePool], l[corev1.LabelArchStable], l[devcluster.LabelCapacityType], l[corev1.LabelTopologyZone])
		if l[corev1.LabelTopologyZone] != res.Zone {
			t.Errorf("%s is in zone %s, want %s", pod, l[corev1.LabelTopologyZone], res.Zone)
		}
		if pod == objs.DriverPod.Name {
			if l[devcluster.LabelCapacityType] != devcluster.CapacityTypeOnDem {
				t.Errorf("driver on %s capacity, want on-demand", l[devcluster.LabelCapacityType])
			}
			continue
		}
		if l[corev1.LabelArchStable] != devcluster.ArchArm64 || l[devcluster.LabelCapacityType] != devcluster.CapacityTypeSpot {
			t.Errorf("executor %s on %s/%s, want arm64 spot", pod, l[corev1.LabelArchStable], l[devcluster.LabelCapacityType])
		}
	}
}

// TestProfileKarpenterFallback: with Karpenter creating nodes, executors
// from the default profile's template fill the arm64-spot pool up to its
// limit and the next ones get amd64 spot nodes, all in the chosen zone.
func TestProfileKarpenterFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: 2})
	ns := c.Namespace(t)
	const executors = 20 // × 3 CPUs: more than the arm64-spot limit
	res, objs := profileApp(t, c, ns, executors, 3, true)
	executorsFromTemplate(t, c, objs, executors)

	placed := scheduledNodes(t, c, ns, executors, 4*time.Minute)
	perPool := map[string]int{}
	for pod, node := range placed {
		l := node.Labels
		perPool[l[devcluster.LabelNodePool]]++
		if l[corev1.LabelTopologyZone] != res.Zone {
			t.Errorf("%s is in zone %s, want %s", pod, l[corev1.LabelTopologyZone], res.Zone)
		}
	}
	t.Logf("executors per pool: %v", perPool)
	if perPool[devcluster.NodePoolArm64Spot] == 0 || perPool[devcluster.NodePoolAmd64Spot] == 0 {
		t.Errorf("executors per pool %v: want arm64-spot filled and the rest on amd64-spot", perPool)
	}
	if perPool[devcluster.NodePoolArm64Spot]+perPool[devcluster.NodePoolAmd64Spot] != executors {
		t.Errorf("executors per pool %v: want all on spot pools", perPool)
	}
}

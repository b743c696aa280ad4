//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestDevCluster drives one cluster through bin/sparkplane as a user would
// (so its processes outlive the `dev up` command), and a second one through
// the library beside it.
func TestDevCluster(t *testing.T) {
	name := framework.UniqueName(t)
	c := framework.UpCLI(t, name)
	ctx := context.Background()

	t.Run("ready nodes of all four tiers in two zones", func(t *testing.T) {
		nodes := &corev1.NodeList{}
		if err := c.Client.List(ctx, nodes); err != nil {
			t.Fatal(err)
		}
		type key struct{ pool, zone string }
		ready := map[key]int{}
		zones := map[string]bool{}
		for i := range nodes.Items {
			n := &nodes.Items[i]
			if devcluster.NodeReady(n) {
				ready[key{n.Labels[karpv1.NodePoolLabelKey], n.Labels[corev1.LabelTopologyZone]}]++
				zones[n.Labels[corev1.LabelTopologyZone]] = true
			}
		}
		if len(zones) < 2 {
			t.Errorf("Ready nodes in %d zones, want at least 2", len(zones))
		}
		for zone := range zones {
			for _, tier := range devcluster.ExecutorTiers {
				if ready[key{tier.NodePool, zone}] == 0 {
					t.Errorf("no Ready %s node in %s", tier.NodePool, zone)
				}
			}
			if ready[key{devcluster.NodePoolDriver, zone}] == 0 {
				t.Errorf("no Ready driver node in %s", zone)
			}
		}
	})

	t.Run("status shows nodes by tier and zone", func(t *testing.T) {
		out := framework.MustRun(t, "dev", "status", "--name", name).Stdout
		for _, want := range []string{"running (6 of 6 components)", "NODEPOOL", "arm64-spot", "amd64-on-demand", "us-east-1a", "us-east-1b", "system"} {
			if !strings.Contains(out, want) {
				t.Errorf("dev status lacks %q", want)
			}
		}
	})

	t.Run("kubeconfig path is the last line", func(t *testing.T) {
		out := strings.TrimSpace(framework.MustRun(t, "dev", "kubeconfig", "--name", name).Stdout)
		lines := strings.Split(out, "\n")
		if last := lines[len(lines)-1]; last != c.Kubeconfig() {
			t.Errorf("last line %q, want %q", last, c.Kubeconfig())
		}
		if !strings.HasSuffix(filepath.Dir(c.Kubeconfig()), filepath.Join("dev", name)) {
			t.Errorf("kubeconfig %s is not in a folder ending in dev/%s", c.Kubeconfig(), name)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := framework.MustRun(t, "dev", "logs", "kube-apiserver", "--name", name, "--tail", "5").Stdout
		if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 5 {
			t.Errorf("--tail 5 printed %d lines", n)
		}
		r := framework.Run(t, nil, "dev", "logs", "nonsense", "--name", name)
		if r.Err == nil || !strings.Contains(r.Stderr, `unknown component "nonsense"`) {
			t.Errorf("unknown component: err %v, stderr %q", r.Err, r.Stderr)
		}
	})

	t.Run("pod runs on a kwok node through the scheduler", func(t *testing.T) {
		ns := c.Namespace(t)
		pod := testPod(ns, "on-kwok", resource.MustParse("1"))
		if err := c.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 60*time.Second, "pod Running", func() (bool, error) {
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
				return false, err
			}
			return pod.Status.Phase == corev1.PodRunning, nil
		})
		node := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, node); err != nil {
			t.Fatal(err)
		}
		if node.Annotations[devcluster.KwokAnnotation] != devcluster.KwokAnnotationValue {
			t.Errorf("pod landed on %s, not a kwok node", node.Name)
		}
		if role := node.Labels[devcluster.LabelNodeRole]; role != devcluster.NodeRoleExecutor {
			t.Errorf("untolerating pod landed on a %s node (%s): taints do not work", role, node.Name)
		}
		if pod.Status.PodIP == "" {
			t.Error("kwok gave the pod no IP")
		}
	})

	t.Run("owner deletion garbage-collects the pod", func(t *testing.T) {
		ns := c.Namespace(t)
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: ns}}
		if err := c.Client.Create(ctx, owner); err != nil {
			t.Fatal(err)
		}
		pod := testPod(ns, "owned", resource.MustParse("100m"))
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
		if err := c.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		bystander := testPod(ns, "bystander", resource.MustParse("100m"))
		if err := c.Client.Create(ctx, bystander); err != nil {
			t.Fatal(err)
		}
		if err := c.Client.Delete(ctx, owner); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 60*time.Second, "owned pod gone", func() (bool, error) {
			err := c.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(bystander), &corev1.Pod{}); err != nil {
			t.Errorf("the pod without an owner went too: %v", err)
		}
	})

	t.Run("same name again fails cleanly", func(t *testing.T) {
		before, err := c.Processes()
		if err != nil {
			t.Fatal(err)
		}
		r := framework.Run(t, nil, "dev", "up", "--name", name)
		if r.Err == nil {
			t.Fatal("second dev up with the same name succeeded")
		}
		if !strings.Contains(r.Stderr, "already up") || !strings.Contains(r.Stderr, "dev down --name "+name) {
			t.Errorf("unclear error: %q", r.Stderr)
		}
		after, err := c.Processes()
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Errorf("processes before %d, after %d", len(before), len(after))
		}
		if err := c.Client.List(ctx, &corev1.NodeList{}); err != nil {
			t.Errorf("first cluster broken after the refused dev up: %v", err)
		}
	})

	t.Run("a second cluster side by side", func(t *testing.T) {
		other := framework.Up(t, devcluster.Options{Zones: 3})
		if other.Ports.APIServer == c.Ports.APIServer || other.Ports.EtcdClient == c.Ports.EtcdClient {
			t.Errorf("clusters share ports: %+v and %+v", c.Ports, other.Ports)
		}
		nodes := &corev1.NodeList{}
		if err := other.Client.List(ctx, nodes); err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) != other.Nodes {
			t.Errorf("second cluster has %d nodes, want %d", len(nodes.Items), other.Nodes)
		}
		// Each cluster has its own data: a namespace made in one is absent from the other.
		var err error
		ns := other.Namespace(t)
		err = c.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s of the second cluster visible in the first: %v", ns, err)
		}
		// The other cluster's token is not valid here: every cluster has its own credentials.
		cfg := rest.CopyConfig(c.Config)
		cfg.BearerToken = other.Config.BearerToken
		foreign, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := foreign.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
			t.Errorf("the second cluster's token on the first: %v, want Unauthorized", err)
		}
		framework.Down(t, other.Name)
		if err := c.Client.List(ctx, &corev1.NodeList{}); err != nil {
			t.Errorf("first cluster broken after stopping the second: %v", err)
		}
	})

	t.Run("down stops everything, even strays and dead components", func(t *testing.T) {
		procs, err := c.Processes()
		if err != nil {
			t.Fatal(err)
		}
		if len(procs) != len(c.Components) {
			t.Fatalf("%d processes running, want %d: %+v", len(procs), len(c.Components), procs)
		}
		// One component died; the recorded pids of the others are stale.
		for _, p := range procs {
			if p.Binary == "kube-scheduler" {
				if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		corruptPIDs(t, c.Cluster)
		framework.MustRun(t, "dev", "down", "--name", name)
		if left, err := c.Processes(); err != nil || len(left) != 0 {
			t.Errorf("processes left after dev down: %+v (%v)", left, err)
		}
		listening, err := devcluster.ListeningPorts("/proc")
		if err != nil {
			t.Fatal(err)
		}
		for _, port := range c.Ports.List() {
			if listening[port] {
				t.Errorf("port %d still listens after dev down", port)
			}
		}
		if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state folder %s still there: %v", c.Dir, err)
		}
		r := framework.Run(t, nil, "dev", "status", "--name", name)
		if r.Err == nil || !strings.Contains(r.Stderr, "no such cluster") {
			t.Errorf("dev status after down: %v %q", r.Err, r.Stderr)
		}
	})
}

// corruptPIDs rewrites the recorded pids to ones that are not the cluster's.
func corruptPIDs(t *testing.T, c *devcluster.Cluster) {
	t.Helper()
	path := filepath.Join(c.Dir, "cluster.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	for _, comp := range state["components"].([]any) {
		comp.(map[string]any)["pid"] = os.Getpid()
	}
	data, err = json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func testPod(ns, name string, cpu resource.Quantity) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name:      "main",
				Image:     "registry.example/none:latest",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: resource.MustParse("256Mi")}},
			}},
		},
	}
}

// TestDevUpFailures checks the bad situations: each gives a clear error and
// leaves nothing running.
func TestDevUpFailures(t *testing.T) {
	t.Run("port taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		name := framework.UniqueName(t)
		// A failed dev up keeps its logs in the state folder: removed when
		// the test passes, kept (and shown) when it fails.
		t.Cleanup(func() { framework.Down(t, name) })
		r := framework.Run(t, nil, "dev", "up", "--name", name, "--apiserver-port", fmt.Sprint(port))
		if r.Err == nil {
			t.Fatal("dev up on a taken port succeeded")
		}
		if !strings.Contains(r.Stderr, fmt.Sprintf("%d is already in use", port)) || !strings.Contains(r.Stderr, "--apiserver-port") {
			t.Errorf("unclear error: %q", r.Stderr)
		}
		assertNothingRunning(t, name)
	})

	t.Run("binary missing", func(t *testing.T) {
		name := framework.UniqueName(t)
		r := framework.Run(t, []string{"SPARKPLANE_CACHE=" + t.TempDir()}, "dev", "up", "--name", name)
		if r.Err == nil {
			t.Fatal("dev up without binaries succeeded")
		}
		if !strings.Contains(r.Stderr, "not found") || !strings.Contains(r.Stderr, "make tools") {
			t.Errorf("unclear error: %q", r.Stderr)
		}
	})

	t.Run("component fails to start", func(t *testing.T) {
		name := framework.UniqueName(t)
		_, err := devcluster.Up(context.Background(), devcluster.Options{
			Name:      name,
			ExtraArgs: map[string][]string{devcluster.ComponentAPIServer: {"--no-such-flag=1"}},
			Timeout:   time.Minute,
		})
		t.Cleanup(func() { framework.Down(t, name) })
		if err == nil {
			t.Fatal("dev up with a broken kube-apiserver succeeded")
		}
		msg := err.Error()
		if !strings.Contains(msg, "kube-apiserver exited") || !strings.Contains(msg, "no-such-flag") {
			t.Errorf("error does not name the component and show its log: %s", msg)
		}
		assertNothingRunning(t, name)
	})

	t.Run("bad flags", func(t *testing.T) {
		for args, want := range map[string]string{
			"--zones 0":              "--zones: 0 is out of range",
			"--name Bad_Name":        `--name: name "Bad_Name" is not valid`,
			"--apiserver-port -1":    "--apiserver-port: -1 is out of range",
			"--nodes-per-tier 0":     "--nodes-per-tier: 0 is out of range",
			"--arm-spot-cpu-limit 0": "--arm-spot-cpu-limit: 0 is out of range",
		} {
			r := framework.Run(t, nil, append([]string{"dev", "up"}, strings.Fields(args)...)...)
			if r.Err == nil || !strings.Contains(r.Stderr, want) {
				t.Errorf("dev up %s: err %v, stderr %q, want %q", args, r.Err, r.Stderr, want)
			}
		}
	})
}

func assertNothingRunning(t *testing.T, name string) {
	t.Helper()
	procs, err := devcluster.FindProcesses("/proc", devcluster.StateDir(name))
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 0 {
		t.Errorf("processes left running: %+v", procs)
	}
}

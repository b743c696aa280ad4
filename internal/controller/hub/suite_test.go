package hub_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/hub"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// Three real API servers: the hub and two members. The hub reaches member
// A through a loopback proxy the tests can cut (a partition: A's own
// operator keeps working) and member B directly.
var (
	hubEnv, envA, envB *testenv.Env
	scheme             *runtime.Scheme
)

func TestMain(m *testing.M) {
	opts, err := testenv.SparkplaneOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	scheme = opts.Scheme
	envs := []**testenv.Env{&hubEnv, &envA, &envB}
	for _, e := range envs {
		started, err := testenv.Start(opts)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
			os.Exit(1)
		}
		*e = started
	}
	code := m.Run()
	for _, e := range envs {
		_ = (*e).Stop()
	}
	os.Exit(code)
}

// proxy forwards TCP connections to target until cut. A cut closes the
// listener too, so new connections are refused, as by a stopped API server.
type proxy struct {
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve(ln)
	t.Cleanup(func() { p.setCut(true) })
	return p
}

func (p *proxy) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln {
			p.mu.Unlock()
			_, _ = in.Close(), out.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

// setCut stops listening and drops every open connection (true), or
// listens on the same address again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cut {
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
		return
	}
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		panic(fmt.Sprintf("listening again on %s: %v", p.addr, err))
	}
	p.ln = ln
	go p.serve(ln)
}

func (p *proxy) url() string { return "https://" + p.addr }

// hostPort is host:port of cfg's API server.
func hostPort(t testing.TB, cfg *rest.Config) string {
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Host == "" {
		t.Fatalf("API server address %q: %v", cfg.Host, err)
	}
	return u.Host
}

// kubeconfigFor writes a kubeconfig reaching cfg's API server at server.
func kubeconfigFor(t testing.TB, cfg *rest.Config, server string) []byte {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["member"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["member"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["member"] = &clientcmdapi.Context{Cluster: "member", AuthInfo: "member"}
	kc.CurrentContext = "member"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fleet is one test's hub (its own hub id and MemberClusters) over the
// shared API servers.
type fleet struct {
	t       testing.TB
	ctx     context.Context
	id      string
	ns      string
	clock   *clocktesting.FakeClock
	proxyA  *proxy // the hub's way to A
	proxyB  *proxy // the hub's way to B
	a, b    string // MemberCluster names
	hubStop func()
	opts    hub.Options
}

const (
	testLease     = 15 * time.Second
	testLostAfter = 30 * time.Second
)

// newFleet starts a hub (fake clock, lease 15s, lost after 30s, heartbeat
// every 200ms) over members A (through the proxy) and B; tune changes the
// hub's options (benchmarks use the real clock and shorter times).
func newFleet(t testing.TB, tune ...func(*hub.Options)) *fleet {
	id := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(id) > 40 {
		id = id[:40]
	}
	f := &fleet{t: t, ctx: context.Background(), id: id, ns: hubEnv.Namespace(t),
		clock: clocktesting.NewFakeClock(time.Now()), a: id + "-a", b: id + "-b"}
	f.proxyA = newProxy(t, hostPort(t, envA.Config))
	f.proxyB = newProxy(t, hostPort(t, envB.Config))
	f.addMember(f.a, kubeconfigFor(t, envA.Config, f.proxyA.url()), map[string]string{"env": "prod", "region": "a"})
	f.addMember(f.b, kubeconfigFor(t, envB.Config, f.proxyB.url()), map[string]string{"env": "prod", "region": "b"})
	f.opts = hub.Options{
		HubID: id, Lease: testLease, LostAfter: testLostAfter,
		HeartbeatInterval: 200 * time.Millisecond, GCInterval: time.Second, Clock: f.clock,
	}
	for _, change := range tune {
		change(&f.opts)
	}
	f.hubStop = hubEnv.StartManager(t, func(mgr manager.Manager) error {
		controllers, err := hub.Controllers(mgr, f.opts)
		if err != nil {
			return err
		}
		for _, c := range controllers {
			if err := c.Register(mgr); err != nil {
				return err
			}
		}
		return nil
	})
	return f
}

func (f *fleet) addMember(name string, kubeconfig []byte, labels map[string]string) {
	f.t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, Data: map[string][]byte{"kubeconfig": kubeconfig}}
	if err := hubEnv.Client.Create(f.ctx, secret); err != nil {
		f.t.Fatal(err)
	}
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       v1alpha1.MemberClusterSpec{KubeconfigSecretRef: v1alpha1.SecretKeyReference{Namespace: f.ns, Name: name}, Weight: 100},
	}
	if err := hubEnv.Client.Create(f.ctx, mc); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = hubEnv.Client.Delete(context.Background(), mc) })
}

// startMemberOperator runs the ordinary sparkapplication controller on a
// member, with the fleet's clock (the lease gate reads it).
func (f *fleet) startMemberOperator(member *testenv.Env) (stop func()) {
	return member.StartManager(f.t, func(mgr manager.Manager) error {
		return sparkapplication.NewController(nil, nil, sparkapplication.Options{Clock: f.opts.Clock, DriverPendingTimeout: -1}).Register(mgr)
	})
}

// app creates an application on the hub.
func (f *fleet) app(name string, restart v1alpha1.RestartPolicyType) *v1alpha1.SparkApplication {
	f.t.Helper()
	app := f.newApp(name, restart)
	if err := hubEnv.Client.Create(f.ctx, app); err != nil {
		f.t.Fatal(err)
	}
	return app
}

// newApp is a small Scala application in the fleet's namespace, not created.
func (f *fleet) newApp(name string, restart v1alpha1.RestartPolicyType) *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.SparkApplicationSpec{
			Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
			Driver:              v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}},
			Executor:            v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}, Instances: ptr.To[int32](2)},
			RestartPolicy:       v1alpha1.RestartPolicy{Type: restart},
		},
	}
}

func (f *fleet) hubApp(name string) *v1alpha1.SparkApplication {
	f.t.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := hubEnv.Client.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, app); err != nil {
		f.t.Fatal(err)
	}
	return app
}

func (f *fleet) member(name string) *v1alpha1.MemberCluster {
	f.t.Helper()
	mc := &v1alpha1.MemberCluster{}
	if err := hubEnv.Client.Get(f.ctx, types.NamespacedName{Name: name}, mc); err != nil {
		f.t.Fatal(err)
	}
	return mc
}

func (f *fleet) waitMemberState(name string, want v1alpha1.MemberState) {
	f.t.Helper()
	testenv.Eventually(f.t, testenv.Timeout, "member state", func() string {
		mc := f.member(name)
		if got := mc.Status.State; got != want {
			reachable := meta.FindStatusCondition(mc.Status.Conditions, v1alpha1.MemberConditionReachable)
			return fmt.Sprintf("member %s is %q, want %q (Reachable: %+v)", name, got, want, reachable)
		}
		return ""
	})
}

func (f *fleet) patchMember(name string, mutate func(*v1alpha1.MemberCluster)) {
	f.t.Helper()
	mc := f.member(name)
	base := mc.DeepCopy()
	mutate(mc)
	if err := hubEnv.Client.Patch(f.ctx, mc, client.MergeFrom(base)); err != nil {
		f.t.Fatal(err)
	}
}

// copies lists this fleet's copies on a member.
func (f *fleet) copies(member *testenv.Env) []v1alpha1.SparkApplication {
	f.t.Helper()
	list := &v1alpha1.SparkApplicationList{}
	if err := member.Client.List(f.ctx, list, client.InNamespace(f.ns), client.MatchingLabels{v1alpha1.LabelHubID: f.id}); err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// drivers lists the driver pods in the fleet's namespace on a member.
func (f *fleet) drivers(member *testenv.Env) []corev1.Pod {
	f.t.Helper()
	list := &corev1.PodList{}
	if err := member.Client.List(f.ctx, list, client.InNamespace(f.ns), client.MatchingLabels{spark.LabelRole: spark.RoleDriver}); err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// finishDrivers marks every driver pod in the fleet's namespace on member
// as Succeeded, as the kubelet would.
func (f *fleet) finishDrivers(member *testenv.Env) {
	f.t.Helper()
	for _, pod := range f.drivers(member) {
		pod.Status.Phase = corev1.PodSucceeded
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: spark.DriverContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}
		if err := member.Client.Status().Update(f.ctx, &pod); err != nil {
			f.t.Fatal(err)
		}
	}
}

// partitionA cuts the hub off member A and waits until the hub declares
// A Lost: Unreachable first, then the clock moves past lost-after.
func (f *fleet) partitionA() {
	f.t.Helper()
	f.proxyA.setCut(true)
	f.waitMemberState(f.a, v1alpha1.MemberUnreachable)
	f.clock.Step(testLostAfter + time.Second)
	f.waitMemberState(f.a, v1alpha1.MemberLost)
}

func condition(app *v1alpha1.SparkApplication, t string) string {
	if c := meta.FindStatusCondition(app.Status.Conditions, t); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return "none"
}

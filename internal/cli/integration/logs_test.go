package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// stubKubelet serves the kubelet's container log endpoint on loopback, and a
// Node whose address and kubelet port point at it, so the real API server
// proxies pods/log of pods on that node to it as it does to a kubelet.
type stubKubelet struct {
	node string
	mu   sync.Mutex
	logs map[string]string // "namespace/pod/container" → log
	seen []string          // request URIs
}

func newStubKubelet(t *testing.T) *stubKubelet {
	t.Helper()
	k := &stubKubelet{node: "kubelet-stub-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), logs: map[string]string{}}
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.seen = append(k.seen, r.URL.RequestURI())
		log, ok := k.logs[strings.TrimPrefix(r.URL.Path, "/containerLogs/")]
		k.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, log)
	}))
	t.Cleanup(server.Close)
	_, portText, _ := net.SplitHostPort(server.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.node}}
	if err := env.Client.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, node) })
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if err := env.Client.Status().Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	return k
}

// driver creates the application's driver pod on the stub's node, with log,
// and records it in the application's status as the operator does.
func (k *stubKubelet) driver(t *testing.T, ns, app, log string) string {
	t.Helper()
	ctx := context.Background()
	name := app + "-1-driver"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		NodeName: k.node, Containers: []corev1.Container{{Name: spark.DriverContainerName, Image: "apache/spark:3.5.3"}}}}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	k.logs[ns+"/"+name+"/"+spark.DriverContainerName] = log
	k.mu.Unlock()
	a := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, a); err != nil {
		t.Fatal(err)
	}
	a.Status.DriverInfo.PodName = name
	if err := env.Client.Status().Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestLogsThroughTheAPIServer: `logs` reads the driver's log through the API
// server's pods/log, which proxies to the node's kubelet (here a stub on
// loopback), with --tail passed on; --executor ID --since reads that
// executor's log from that long ago.
func TestLogsThroughTheAPIServer(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	kubelet := newStubKubelet(t)
	if r := sparkplane(t, kc, application("logged"), "submit", "-f", "-"); r.err != nil {
		t.Fatal(r.err)
	}
	kubelet.driver(t, ns, "logged", "Pi is roughly 3.14159\n")
	r := sparkplane(t, kc, "", "logs", "logged", "--tail", "100")
	if r.err != nil {
		t.Fatalf("logs: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "Pi is roughly 3.14159") {
		t.Errorf("logs printed %q", r.stdout)
	}
	kubelet.mu.Lock()
	if len(kubelet.seen) == 0 || !strings.Contains(kubelet.seen[len(kubelet.seen)-1], "tailLines=100") {
		t.Errorf("the kubelet saw %v, want a request with tailLines=100", kubelet.seen)
	}
	kubelet.mu.Unlock()

	// Executor 3, the last ten minutes.
	ctx := context.Background()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "logged"}, app); err != nil {
		t.Fatal(err)
	}
	app.Status.SparkApplicationID = "spark-0123"
	if err := env.Client.Status().Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	exec := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "logged-1-exec-3", Labels: map[string]string{
		spark.LabelAppSelector: "spark-0123", spark.LabelRole: spark.RoleExecutor, spark.LabelExecID: "3"}},
		Spec: corev1.PodSpec{NodeName: kubelet.node, Containers: []corev1.Container{{Name: spark.ExecutorContainerName, Image: "apache/spark:3.5.3"}}}}
	if err := env.Client.Create(ctx, exec); err != nil {
		t.Fatal(err)
	}
	kubelet.mu.Lock()
	kubelet.logs[ns+"/logged-1-exec-3/"+spark.ExecutorContainerName] = "Executor 3: task 7.0 finished\n"
	kubelet.mu.Unlock()
	r = sparkplane(t, kc, "", "logs", "logged", "--executor", "3", "--since", "10m")
	if r.err != nil || !strings.Contains(r.stdout, "Executor 3: task 7.0 finished") {
		t.Fatalf("logs --executor 3: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	kubelet.mu.Lock()
	defer kubelet.mu.Unlock()
	if last := kubelet.seen[len(kubelet.seen)-1]; !strings.Contains(last, "sinceSeconds=600") {
		t.Errorf("the kubelet saw %s, want sinceSeconds=600", last)
	}
}

// TestSubmitWaitFollowStreamsTheDriverLog: `submit --wait --follow` prints
// the driver's log, read through the API server from the node's kubelet,
// between the state changes, and exits 0 when the application Succeeded.
func TestSubmitWaitFollowStreamsTheDriverLog(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	kubelet := newStubKubelet(t)
	var out, errs syncBuffer
	ctx := context.Background()
	_, done := background(t, kc, &out, &errs, "submit", "-f", writeFile(t, "followed.yaml", application("followed")), "--wait", "--follow", "--timeout=60s")
	testenv.Eventually(t, testenv.Timeout, "the application to be created", func() bool {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "followed"}, &v1alpha1.SparkApplication{}) == nil
	})
	setState(t, ns, "followed", v1alpha1.StatePending, "")
	kubelet.driver(t, ns, "followed", "INFO SparkContext: Running Spark version 3.5.3\nPi is roughly 3.1417\n")
	setState(t, ns, "followed", v1alpha1.StateRunning, "")
	testenv.Eventually(t, testenv.Timeout, "the driver's log on standard output", func() bool {
		return strings.Contains(out.String(), "Pi is roughly 3.1417")
	})
	setState(t, ns, "followed", v1alpha1.StateSucceeded, "")
	if err := <-done; err != nil {
		t.Fatalf("submit --wait --follow: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "INFO SparkContext: Running Spark version 3.5.3") || !strings.Contains(errs.String(), "sparkapplication.sparkplane.io/followed Succeeded") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
	}
}

//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// operatorProcess is `bin/sparkplane operator` running as a separate
// process, as it runs for real: killable, and measurable through /proc.
type operatorProcess struct {
	cmd     *exec.Cmd
	logPath string
	probe   string
	// metricsAddr is where /metrics answers; "" when started without.
	metricsAddr string
	done        chan struct{}
}

// sparkplaneScheme knows core kinds and sparkplane's.
func sparkplaneScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

func sparkplaneClient(t testing.TB, c *framework.Cluster) client.Client {
	t.Helper()
	cfg := *c.Config
	cfg.QPS, cfg.Burst = 2000, 4000
	cl, err := client.New(&cfg, client.Options{Scheme: sparkplaneScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// impersonatingKubeconfig writes a copy of kubeconfig whose user acts as the
// operator's ServiceAccount, so the operator runs with exactly the RBAC
// `sparkplane install` grants it.
func impersonatingKubeconfig(t testing.TB, kubeconfig string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = "system:serviceaccount:" + install.Namespace + ":" + install.ServiceAccount
		auth.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + install.Namespace, "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeLoopbackAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startOperator starts bin/sparkplane operator against kubeconfig and waits
// until /readyz answers 200. It is killed when the test ends.
func startOperator(t testing.TB, kubeconfig string, extraArgs ...string) *operatorProcess {
	t.Helper()
	probe := freeLoopbackAddress(t)
	p := startProcess(t, append([]string{"operator", "--kubeconfig", kubeconfig,
		"--metrics-bind-address", "0", "--health-probe-bind-address", probe}, extraArgs...)...)
	p.probe = probe
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("operator exited before it was ready:\n%s", p.logTail(40))
		default:
		}
		resp, err := http.Get("http://" + probe + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("operator not ready after 90s:\n%s", p.logTail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startProcess runs bin/sparkplane args in the background, as a user's `&`
// does, its output in a file whose last lines are shown when the test
// fails; it is killed when the test ends.
func startProcess(t testing.TB, args ...string) *operatorProcess {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), args[0]+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(framework.Binary(t), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &operatorProcess{cmd: cmd, logPath: logFile.Name(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("sparkplane %s log (last lines):\n%s", strings.Join(args, " "), p.logTail(40))
		}
	})
	return p
}

// kill sends SIGKILL, as a node failure or an OOM kill would, and waits.
func (p *operatorProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the operator to shut down cleanly and waits.
func (p *operatorProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

// memory reads the process's resident set (VmRSS) and its peak (VmHWM) in
// bytes from /proc.
func (p *operatorProcess) memory() (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kib * 1024
		case "VmHWM:":
			peak = kib * 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	return rss, peak, nil
}

func (p *operatorProcess) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// installSparkplane runs `sparkplane install` as a user would, without the
// in-cluster Deployment (the tests run the operator as a local process), and
// creates the PriorityClasses the built-in profiles name (the platform bundle
// installs them on a real cluster; without them every application earns two
// warning events).
func installSparkplane(t testing.TB, c *framework.Cluster) {
	t.Helper()
	framework.MustRun(t, "install", "--kubeconfig", c.Kubeconfig(), "--skip-operator-deployment")
	standInPlatform(t, c)
}

// standInPlatform creates what the platform bundle would on a real cluster
// and the local one lacks: the shuffle StorageClass and the PriorityClasses.
func standInPlatform(t testing.TB, c *framework.Cluster) {
	t.Helper()
	// Applications on the default profile keep shuffle on PVCs of the
	// platform bundle's StorageClass, and fail at once when it is missing.
	shuffle := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: profile.DefaultShuffleStorageClass}, Provisioner: "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	if err := c.Client.Create(context.Background(), shuffle); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]int32{v1alpha1.PriorityClassDriver: 1000000, v1alpha1.PriorityClassExecutor: 100} {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
		if err := c.Client.Create(context.Background(), pc); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
}

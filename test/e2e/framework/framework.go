// Package framework starts local sparkplane clusters (internal/devcluster) for
// end-to-end tests: a unique cluster per test, stopped in the test's cleanup,
// with clients from its kubeconfig; and helpers to run the built
// bin/sparkplane the way a user does.
package framework

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// Cluster is a running local cluster with clients for a test.
type Cluster struct {
	*devcluster.Cluster
	Config    *rest.Config
	Client    client.Client
	Clientset kubernetes.Interface
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

// UniqueName returns a cluster name made from the test's name and a random
// suffix, valid for devcluster.ValidateName.
func UniqueName(t testing.TB) string {
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 24 {
		base = strings.Trim(base[:24], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "e2e-" + base + "-" + hex.EncodeToString(b)
}

// Up starts a cluster through the library with opts (a unique name when
// opts.Name is empty) and stops it when the test ends. When the test failed,
// the state folder is kept and the last lines of every component log are
// written to the test log.
func Up(t testing.TB, opts devcluster.Options) *Cluster {
	t.Helper()
	if opts.Name == "" {
		opts.Name = UniqueName(t)
	}
	if opts.Progress == nil {
		opts.Progress = testWriter{t}
	}
	if opts.SparkplaneBinary == "" {
		// The shuffle volume provisioner, as `sparkplane dev up` runs it.
		opts.SparkplaneBinary = Binary(t)
	}
	c, err := devcluster.Up(context.Background(), opts)
	if err != nil {
		t.Fatalf("dev up: %v", err)
	}
	t.Logf("cluster %q up in %.1fs", c.Name, c.ReadyAfter.Seconds())
	t.Cleanup(func() { Down(t, c.Name) })
	return Wrap(t, c)
}

// Down stops cluster name, keeping its state (and showing its logs) when the
// test failed. A cluster already gone is fine.
func Down(t testing.TB, name string) {
	t.Helper()
	keep := t.Failed()
	if keep {
		if c, err := devcluster.Load(name); err == nil {
			for _, comp := range c.Components {
				var buf bytes.Buffer
				_ = c.Tail(&buf, comp.Name, 20)
				t.Logf("last lines of %s:\n%s", comp.Name, buf.String())
			}
			t.Logf("state of cluster %q kept in %s", name, c.Dir)
		}
	}
	if err := devcluster.Down(name, keep); err != nil && !errors.Is(err, devcluster.ErrNotFound) {
		t.Errorf("dev down %s: %v", name, err)
	}
}

// Wrap adds clients to a running cluster.
func Wrap(t testing.TB, c *devcluster.Cluster) *Cluster {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Cluster: c, Config: cfg, Client: cl, Clientset: cs}
}

// Namespace creates a namespace for the test and waits for its default
// service account, which pods need before they can be created.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	ctx := context.Background()
	if err := c.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	testenv.Eventually(t, 30*time.Second, "default service account in "+ns.Name, func() (bool, error) {
		err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, nil
	})
	return ns.Name
}

// RepoRoot is the folder holding the product's go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/sparkplane/sparkplane\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no github.com/sparkplane/sparkplane go.mod above the working folder")
		}
		dir = parent
	}
}

// Binary is the path of the built bin/sparkplane; the test fails, naming
// `make build`, when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "bin", "sparkplane")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make build` first (make test and make e2e do)", path)
	}
	return path
}

// Result is the outcome of a command.
type Result struct {
	Stdout, Stderr string
	Err            error
	Took           time.Duration
}

// Run runs bin/sparkplane with args and env (added to this process's) and
// returns its output; it does not fail the test when the command fails.
func Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err, Took: time.Since(start)}
	t.Logf("$ sparkplane %s (%.1fs, %v)\n%s%s", strings.Join(args, " "), r.Took.Seconds(), err, r.Stdout, r.Stderr)
	return r
}

// MustRun is Run that fails the test when the command fails.
func MustRun(t testing.TB, args ...string) Result {
	t.Helper()
	r := Run(t, nil, args...)
	if r.Err != nil {
		t.Fatalf("sparkplane %s: %v\n%s", strings.Join(args, " "), r.Err, r.Stderr)
	}
	return r
}

// UpCLI starts a cluster with `bin/sparkplane dev up --name NAME args...`,
// stops it when the test ends, and returns it with clients.
func UpCLI(t testing.TB, name string, args ...string) *Cluster {
	t.Helper()
	MustRun(t, append([]string{"dev", "up", "--name", name}, args...)...)
	t.Cleanup(func() { Down(t, name) })
	c, err := devcluster.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return Wrap(t, c)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ReliabilityEnv is set by `make reliability` (which CI runs after make test).
const ReliabilityEnv = "SPARKPLANE_RELIABILITY"

// Reliability marks a long scenario (soak, chaos), named TestReliability*:
// make test leaves it out, and the skip message says why; `make
// reliability` runs it. Every other end-to-end test runs in make test.
func Reliability(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(ReliabilityEnv) == "" {
		t.Skipf("long scenario (%s): runs in `make reliability`, which CI runs after make test", why)
	}
}

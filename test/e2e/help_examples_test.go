//go:build e2e

package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/eventsource/eventsourcetest"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/internal/toolchain"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// exampleMode says how an example is run and what counts as working.
type exampleMode int

const (
	// exits0: runs to the end and exits 0.
	exits0 exampleMode = iota
	// serves: a server the rest of the run uses (the operator, the driver
	// emulator); up once its output shows want, stopped with Ctrl-C at the end.
	serves
	// blocks: watches or waits until Ctrl-C; still running, with want in its
	// output, after a few seconds, and ends on Ctrl-C.
	blocks
	// verdict: a check whose exit status is its verdict (doctor on this
	// cluster, a network plan that does not fit); it prints its report
	// (want) and exits 0 or 1.
	verdict
	// elsewhere: not run here; why names the reason and the test that runs it.
	elsewhere
)

// exampleStep is one --help example line and how it runs, or a setup step
// (setup set, line empty) that does what a user would have done before.
type exampleStep struct {
	line  string
	mode  exampleMode
	want  string
	why   string
	env   func() []string
	setup func()
}

// helpRun is the shell the examples run in: bin/sparkplane and the pinned
// kubectl first in PATH, a working folder where examples/ is the checkout's,
// and SPARKPLANE_CACHE of its own, so `sparkplane dev up` makes the default
// local cluster without touching the user's.
type helpRun struct {
	t   *testing.T
	dir string
	env []string
	// stops end the serving examples (Ctrl-C), in start order.
	stops []func()
	// failed lists what went wrong, one line per failed example, for the
	// summary the test logs last: CI keeps only the end of a long log.
	failed []string
}

// errorf fails the test for an example (the message names its line) and
// remembers the message's first line for the summary.
func (h *helpRun) errorf(format string, args ...any) {
	h.t.Helper()
	msg := fmt.Sprintf(format, args...)
	h.t.Error(msg)
	first, _, _ := strings.Cut(msg, "\n")
	h.failed = append(h.failed, first)
}

// stopServers ends the serving examples now (an example about to run
// another operator needs the ports the first one holds).
func (h *helpRun) stopServers() {
	for _, stop := range h.stops {
		stop()
	}
	h.stops = nil
}

func (h *helpRun) command(line string, extra []string) (*exec.Cmd, *testenv.SyncBuffer) {
	cmd := exec.Command("bash", "-o", "pipefail", "-c", line)
	cmd.Dir = h.dir
	cmd.Env = append(append(os.Environ(), h.env...), extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// sh runs a setup command line and fails the test when it fails.
func (h *helpRun) sh(line string) string {
	h.t.Helper()
	cmd, out := h.command(line, nil)
	if err := cmd.Run(); err != nil {
		h.failed = append(h.failed, fmt.Sprintf("setup `%s`: %v", line, err))
		h.t.Fatalf("setup `%s`: %v\n%s", line, err, out.String())
	}
	return out.String()
}

// interrupt sends Ctrl-C to the example's process group and waits for it.
func interrupt(cmd *exec.Cmd, done <-chan error) error {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("still running 30 s after Ctrl-C")
	}
}

// waitFor waits until out shows want or the command ends.
func waitFor(out *testenv.SyncBuffer, want string, done <-chan error, timeout time.Duration) (ended bool, err error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return true, err
		default:
		}
		if want == "" || strings.Contains(out.String(), want) {
			return false, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false, nil
}

func (h *helpRun) run(step exampleStep) {
	t := h.t
	t.Helper()
	var extra []string
	if step.env != nil {
		extra = step.env()
	}
	cmd, out := h.command(step.line, extra)
	start := time.Now()
	switch step.mode {
	case exits0, verdict:
		err := cmd.Run()
		t.Logf("$ %s (%.1fs, %v)\n%s", step.line, time.Since(start).Seconds(), err, out.String())
		code := cmd.ProcessState.ExitCode()
		switch {
		case step.mode == exits0 && err != nil:
			h.errorf("`%s` failed: %v", step.line, err)
		case step.mode == verdict && code != 0 && code != 1:
			h.errorf("`%s` exited %d: want 0 or 1 (the check's verdict)", step.line, code)
		case step.want != "" && !strings.Contains(out.String(), step.want):
			h.errorf("`%s` did not print %q", step.line, step.want)
		}
	case serves, blocks:
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		ended, err := waitFor(out, step.want, done, 90*time.Second)
		if !ended && step.mode == blocks {
			time.Sleep(3 * time.Second) // it keeps running
			select {
			case err = <-done:
				ended = true
			default:
			}
		}
		if ended || !strings.Contains(out.String(), step.want) {
			if !ended {
				err = interrupt(cmd, done)
			}
			h.errorf("`%s` ended or never printed %q (%v):\n%s", step.line, step.want, err, out.String())
			return
		}
		if step.mode == serves {
			var once sync.Once
			stop := func() {
				once.Do(func() {
					if err := interrupt(cmd, done); err != nil && !strings.Contains(err.Error(), "signal") && !strings.Contains(err.Error(), "exit status") {
						h.errorf("`%s` on Ctrl-C: %v", step.line, err)
					}
					if t.Failed() {
						tail := out.String()
						if len(tail) > 4000 {
							tail = tail[len(tail)-4000:]
						}
						t.Logf("`%s` output (last part):\n%s", step.line, tail)
					}
				})
			}
			h.stops = append(h.stops, stop)
			t.Cleanup(stop)
			t.Logf("$ %s & (serving after %.1fs)", step.line, time.Since(start).Seconds())
			return
		}
		before := out.String()
		err = interrupt(cmd, done)
		t.Logf("$ %s (Ctrl-C after %.1fs: %v)\n%s", step.line, time.Since(start).Seconds(), err, out.String())
		if strings.Contains(before, "error:") {
			h.errorf("`%s` printed an error before Ctrl-C", step.line)
		}
	}
}

// TestHelpExamplesRunAsWritten runs every example of every command's --help,
// as written, in a shell on a local cluster that `sparkplane dev up` (the
// first example) makes: sparkplane installed by its example, the operator
// and the driver emulator run by theirs, and the objects the examples name
// (spark-pi, the namespaces spark and analytics, the schedule nightly)
// made by the examples before them or by a setup step a user would have
// done. An example that cannot run on this machine is listed with the
// reason (and the test that runs it, where one does); a new example not
// listed here fails the test until it is.
func TestHelpExamplesRunAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("starts local clusters")
	}
	root := framework.RepoRoot(t)
	binary := framework.Binary(t)
	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		t.Fatal(err)
	}
	// A cache of its own (the built tools linked in), so the default
	// cluster name is free and nothing of the user's is touched.
	cache := t.TempDir()
	if err := os.Symlink(filepath.Join(toolchain.CacheDir(), "bin"), filepath.Join(cache, "bin")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPARKPLANE_CACHE", cache)
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(work, "examples")); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(cache, "dev", devcluster.DefaultName, "kubeconfig")
	h := &helpRun{t: t, dir: work, env: []string{
		"PATH=" + filepath.Dir(binary) + ":" + filepath.Dir(kubectl) + ":" + os.Getenv("PATH"),
		"KUBECONFIG=" + kubeconfig,
	}}
	// Registered first, so it runs last: the summary ends the test's output.
	t.Cleanup(func() {
		if len(h.failed) > 0 {
			t.Logf("%d examples failed:\n  %s", len(h.failed), strings.Join(h.failed, "\n  "))
		}
	})
	t.Cleanup(func() {
		for _, name := range []string{"scale", "a", "b", "hub", devcluster.DefaultName} {
			if err := devcluster.Down(name, false); err != nil && !strings.Contains(err.Error(), "no such cluster") {
				t.Errorf("dev down %s: %v", name, err)
			}
		}
	})
	var c *framework.Cluster
	cluster := func() *framework.Cluster {
		if c == nil {
			dc, err := devcluster.Load(devcluster.DefaultName)
			if err != nil {
				t.Fatal(err)
			}
			c = framework.Wrap(t, dc)
		}
		return c
	}
	history := func() []string {
		server := httptest.NewServer(eventsourcetest.NewHistory(filepath.Join(root, "examples", "event-logs")))
		t.Cleanup(server.Close)
		// spark-history:18080 is reached through a proxy that is the
		// History Server's REST API over examples/event-logs.
		return []string{"HTTP_PROXY=" + server.URL, "http_proxy=" + server.URL}
	}
	steps := helpExampleSteps(t, h, root, work, cluster, history)
	checkHelpExamplesPlanned(t, steps)
	if t.Failed() {
		t.FailNow()
	}

	ran, notHere := 0, 0
	for _, s := range steps {
		switch {
		case s.setup != nil:
			s.setup()
		case s.mode == elsewhere:
			notHere++
			t.Logf("not run here: `%s`: %s", s.line, s.why)
		default:
			ran++
			h.run(s)
		}
		if t.Failed() && s.line == "sparkplane dev up" {
			t.FailNow()
		}
	}
	t.Logf("%d examples run as written, %d run by other tests (reasons above)", ran, notHere)
}

// nightlySchedule is the schedule the `schedule` examples name: spark-pi at
// 02:00 every day.
const nightlySchedule = `apiVersion: sparkplane.io/v1alpha1
kind: ScheduledSparkApplication
metadata:
  name: nightly
spec:
  schedule: "0 2 * * *"
  template:
    type: Scala
    sparkVersion: "3.5.3"
    image: apache/spark:3.5.3
    mainClass: org.apache.spark.examples.SparkPi
    mainApplicationFile: local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar
    driver:
      cores: 1
      memory: 1g
    executor:
      instances: 2
      cores: 2
      memory: 4g
`

// TestHelpExamplesArePlanned: every --help example is in
// TestHelpExamplesRunAsWritten's plan, once, and the plan names no example
// that is gone. It needs no cluster, so adding an example without planning
// it fails here in a second.
func TestHelpExamplesArePlanned(t *testing.T) {
	h := &helpRun{t: t}
	checkHelpExamplesPlanned(t, helpExampleSteps(t, h, "", "", nil, nil))
}

// checkHelpExamplesPlanned: every example is in the plan, once, and the
// plan has no stale line.
func checkHelpExamplesPlanned(t *testing.T, steps []exampleStep) {
	t.Helper()
	inHelp := map[string]string{}
	for _, ex := range cli.HelpExamples(cli.NewRootCommand()) {
		inHelp[ex.Line] = ex.Command
	}
	planned := map[string]bool{}
	for _, s := range steps {
		if s.setup != nil {
			continue
		}
		if planned[s.line] {
			t.Errorf("`%s` is planned twice", s.line)
		}
		planned[s.line] = true
		if _, ok := inHelp[s.line]; !ok {
			t.Errorf("`%s` is planned but is no --help example (any more)", s.line)
		}
	}
	for line, command := range inHelp {
		if !planned[line] {
			t.Errorf("`%s --help` shows `%s`, which this test does not run: add it to the plan", command, line)
		}
	}
}

// helpExampleSteps is the plan: every --help example in the order that
// lets it run, with the setup a user would have done before it. The setup
// closures and env functions run only when the plan is run.
func helpExampleSteps(t *testing.T, h *helpRun, root, work string, cluster func() *framework.Cluster, history func() []string) []exampleStep {
	const noKubelet = "kwok's nodes have no kubelet, so the API server has no address to reach a pod's log or port on (\"no preferred addresses found\")"
	return []exampleStep{
		{line: "sparkplane dev up", want: `cluster "sparkplane" is up`},
		{line: "export KUBECONFIG=$(sparkplane dev kubeconfig)"},
		{line: "sparkplane dev logs kube-apiserver --tail 50"},
		{line: "sparkplane version", want: "sparkplane"},
		{line: "sparkplane version -o json", want: `"version"`},
		{line: "sparkplane --version", want: "sparkplane"},
		{line: "sparkplane platform plan-network --nodes 800 --executors 12000"},
		{line: "sparkplane platform plan-network --nodes 3000 --executors 60000 --cidr 10.0.0.0/16 --subnets 3", mode: verdict, want: "verdict: DOES NOT FIT"},
		{line: "sparkplane platform render --provider aws --out ./platform"},
		{line: "sparkplane platform render --provider kwok --out ./platform-local"},
		{line: "kubectl apply --server-side -k ./platform", mode: elsewhere,
			why: "the aws bundle is EKS's (Karpenter's EC2NodeClass, the Prometheus operator's monitors), whose CRDs the local cluster does not serve; TestInstallOnLocalCluster applies the kwok bundle"},
		{line: "sparkplane install --dry-run", want: "kind: CustomResourceDefinition"},
		{line: `sparkplane install --kubeconfig "$(sparkplane dev kubeconfig)" --skip-operator-deployment`},
		// What the platform bundle makes on a real cluster: the shuffle
		// StorageClass, PriorityClasses, and volumes its provisioner would.
		{setup: func() {
			standInPlatform(t, cluster())
			shuffleVolumes(t, sparkplaneClient(t, cluster()), "help-shuffle", 40)
		}},
		{line: `sparkplane operator --kubeconfig "$(sparkplane dev kubeconfig)"`, mode: serves, want: "Starting operator"},
		{line: "sparkplane dev driver-emulator -A --event-log-dir ./events", mode: serves, want: "driver emulator running"},
		{line: "sparkplane submit -f examples/spark-pi.yaml --dry-run=server", want: "(server dry run)"},
		{line: "sparkplane submit -f examples/spark-pi.yaml", want: "spark-pi created"},
		{line: "sparkplane wait spark-pi --for=condition=Running"},
		{line: "sparkplane get spark-pi", want: "spark-pi"},
		{line: "sparkplane get spark-pi -o wide", want: "spark-pi"},
		{line: "sparkplane get spark-pi -o jsonpath='{.status.state}'"},
		{line: "sparkplane get spark-pi -w", mode: blocks, want: "spark-pi"},
		{line: "sparkplane list", want: "spark-pi"},
		{line: "sparkplane list -A -o wide", want: "spark-pi"},
		{line: "sparkplane list -w -o custom-columns=NAME:.metadata.name,STATE:.status.state", mode: blocks, want: "spark-pi"},
		{line: "sparkplane describe spark-pi", want: "spark-pi"},
		{line: "sparkplane explain spark-pi", want: "spark-pi"},
		{line: "sparkplane logs spark-pi", mode: elsewhere, why: noKubelet},
		{line: "sparkplane logs spark-pi -f --tail 100", mode: elsewhere, why: noKubelet},
		{line: "sparkplane logs spark-pi --executor 3 --since 10m", mode: elsewhere, why: noKubelet},
		{line: "sparkplane logs spark-pi --previous", mode: elsewhere, why: noKubelet},
		{line: "sparkplane ui spark-pi", mode: elsewhere, why: noKubelet},
		{line: "sparkplane ui spark-pi --port 8080", mode: elsewhere, why: noKubelet},
		{line: "sparkplane wait spark-pi --for=state=Succeeded --timeout=10m"},
		{line: "sparkplane delete spark-pi", want: "deleted"},
		{line: "sparkplane wait spark-pi --for=delete --timeout=1m"},
		{line: "sparkplane delete spark-pi --ignore-not-found"},
		{line: "cat examples/spark-pi.yaml | sparkplane submit -f -", want: "spark-pi created"},
		{setup: func() { h.sh("sparkplane submit -f examples/dynamic-allocation.yaml") }},
		{line: "sparkplane delete -f examples/dynamic-allocation.yaml", want: "deleted"},
		{setup: func() {
			h.sh("kubectl create namespace spark && sparkplane submit -n spark -f examples/spark-pi.yaml && kubectl label -n spark sparkapplication spark-pi schedule=nightly")
		}},
		{line: "sparkplane submit -n spark -f examples/dynamic-allocation.yaml", want: "created"},
		{line: "sparkplane get spark-pi -n spark -o yaml", want: "kind: SparkApplication"},
		{line: "sparkplane describe spark-pi -n spark", want: "spark-pi"},
		{line: "sparkplane explain spark-pi -n spark -o json", want: "{"},
		{line: "sparkplane list -n spark -l schedule=nightly -o json", want: "spark-pi"},
		{line: "sparkplane delete -n spark -l schedule=nightly", want: "spark-pi"},
		{line: "sparkplane delete --all", want: "deleted"},
		{setup: func() {
			h.sh("kubectl apply -f - <<'EOF'\n" + nightlySchedule + "EOF")
		}},
		{line: "sparkplane schedule list", want: "nightly"},
		{line: "sparkplane schedule list -A -o wide", want: "nightly"},
		{line: "sparkplane schedule get nightly", want: "nightly"},
		{line: "sparkplane schedule get nightly -o yaml", want: "ScheduledSparkApplication"},
		{line: "sparkplane schedule suspend nightly"},
		{line: "sparkplane schedule resume nightly"},
		{line: "sparkplane schedule trigger nightly"},
		{line: "sparkplane convert -f examples/kubeflow/spark-pi.yaml | kubectl apply -f -", want: "spark-pi"},
		{line: "cat examples/kubeflow/spark-pi.yaml | sparkplane convert -f -", want: "sparkplane.io/v1alpha1"},
		{setup: func() {
			h.sh("sparkplane delete spark-pi-kubeflow && sparkplane wait spark-pi-kubeflow --for=delete --timeout=1m")
		}},
		{line: "sparkplane submit -f examples/spark-pi.yaml --profile cost-optimized --wait --follow", want: "Succeeded"},
		{line: "sparkplane advise examples/event-logs/", want: "spark-1234"},
		{line: "sparkplane advise -o json examples/event-logs/spark-1234 examples/event-logs/app-20261201-0001.zstd", want: `"app-20261201-0001"`},
		{line: "sparkplane advise --emit-conf examples/event-logs/app-20261201-0001.zstd >> spark.properties"},
		{setup: func() {
			eventsourcetest.S3(t, "my-bucket", "spark-events", filepath.Join(root, "examples", "event-logs"))
		}},
		{line: "sparkplane advise s3a://my-bucket/spark-events/", want: "spark-1234"},
		{line: "cat examples/event-logs/spark-1234 | sparkplane advise -", want: "spark-1234"},
		{line: "sparkplane advise --history-server http://spark-history:18080 --since 24h --limit 20", env: history, want: "spark-1234"},
		{line: "sparkplane advise -o html examples/event-logs/ > report.html"},
		{setup: func() { h.sh("kubectl create namespace analytics") }},
		// On this cluster doctor's verdict is ✗ (no Karpenter; the operator
		// runs on the host, without a Deployment or Lease): exit 1.
		{line: "sparkplane doctor", mode: verdict, want: "✓ api-server"},
		{line: "sparkplane doctor -n analytics", mode: verdict, want: "✓ api-server"},
		{line: "sparkplane doctor -o json", mode: verdict, want: "{"},
		{line: "sparkplane dev interrupt arm64-spot-us-east-1a-0 amd64-spot-us-east-1b-0", mode: blocks, want: "Ctrl-C leaves them tainted"},
		{line: "sparkplane dev interrupt --notice 10s arm64-spot-us-east-1b-0", want: "removing 1 node(s)"},
		{line: "sparkplane dev interrupt --random 3 --seed 7 --via nth --detach", mode: elsewhere,
			why: "needs three spot nodes running executors at once, which the static local cluster's one node per tier and zone rarely has; TestDevInterrupt* and the demo run --random"},
		// One operator at a time: they share the default probe port.
		{setup: h.stopServers},
		{line: "sparkplane operator", mode: blocks, want: "Starting operator"},
		{line: `sparkplane operator --kubeconfig "$(sparkplane dev kubeconfig)" --metrics-bind-address 127.0.0.1:9090`, mode: blocks, want: "Starting operator"},
		{line: "sparkplane operator --leader-elect --metrics-bind-address :8080 --health-probe-bind-address :8081", mode: elsewhere,
			why: "listens on every interface, as in a pod; servers on this shared host listen on 127.0.0.1 only (the in-cluster Deployment install makes runs it)"},
		{line: "sparkplane dev driver-emulator -n spark-jobs --time-scale 10 --duration 2m", mode: blocks, want: "driver emulator running"},
		{setup: func() { h.sh("kubectl create namespace team-a && kubectl create namespace team-b") }},
		{line: "sparkplane install --job-namespaces team-a,team-b"},
		{line: "sparkplane install"},
		{line: "sparkplane install --image registry.example.com/sparkplane:v0.1.0 --timeout 10m"},
		{line: "sparkplane uninstall"},
		{line: "sparkplane uninstall --crds --yes"},
		{line: "sparkplane dev up --name scale --karpenter --zones 3", want: `cluster "scale" is up`},
		{line: "sparkplane dev logs karpenter --name scale"},
		{setup: func() { h.sh("sparkplane dev down --name scale") }},
		{line: "sparkplane demo", mode: elsewhere, why: "starts a cluster of its own and runs 12 applications for minutes; TestDemoReport runs the demo in full (4 applications)"},
		{line: "sparkplane demo --apps 4 --keep --report-dir /tmp/demo", mode: elsewhere, why: "TestDemoReport runs this demo (--apps 4 --keep --report-dir, plus --seed and --name) in full"},
		{line: "sparkplane demo --ablate interruption", mode: elsewhere, why: "the demo twice over, for minutes; only its flags are tested (TestDemoValidate)"},
		{line: "sparkplane demo --ablate interruption --notice-via nth", mode: elsewhere, why: "as --ablate interruption; only its flags are tested (TestDemoValidate)"},
		{line: "sparkplane demo --clusters 2", mode: elsewhere, why: "a hub and two member clusters for minutes; TestDemoClusters runs `demo --clusters 2 --apps 6` in full"},
		// The hub examples: the local cluster is no longer needed, so its
		// servers and it go first; the members and the hub are what the
		// example's comment says a user made.
		// install's hub examples: the local cluster (with nodes, so the hub
		// operator's Deployment becomes available) is the hub, member a
		// the member; the files are the ones the examples name.
		{setup: func() {
			h.stopServers()
			h.sh(`sparkplane dev up --name a --zones 1 && cp "$(sparkplane dev kubeconfig)" hub.kubeconfig && cp "$(sparkplane dev kubeconfig --name a)" prod-a.kubeconfig`)
		}},
		{line: "sparkplane install --hub --kubeconfig hub.kubeconfig", want: "sparkplane-hub"},
		{line: "sparkplane clusters add prod-a --kubeconfig prod-a.kubeconfig --label env=prod", want: "prod-a added",
			env: func() []string { return []string{"KUBECONFIG=" + filepath.Join(work, "hub.kubeconfig")} }},
		// The clusters command's example: a light local hub (dev up --hub)
		// with members a and b.
		{setup: func() {
			h.sh("sparkplane dev down")
			h.sh("sparkplane dev up --hub && sparkplane dev up --name b --zones 1")
		}},
		{line: `sparkplane clusters add a --kubeconfig "$(sparkplane dev kubeconfig --name a)" --hub-kubeconfig "$(sparkplane dev kubeconfig --name hub)" --label env=prod --label region=a`, want: "a"},
		{line: "sparkplane dev stop b"},
		{line: "sparkplane dev start b"},
	}
}

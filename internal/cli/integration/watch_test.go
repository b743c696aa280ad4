package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// syncBuffer is what the commands under test write to while the test reads.
type syncBuffer = testenv.SyncBuffer

// background runs a command until it returns or cancel is called; done
// delivers its error.
func background(t *testing.T, kubeconfig string, stdout, stderr *syncBuffer, args ...string) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := cli.NewRootCommand()
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
	errc := make(chan error, 1)
	go func() { errc <- cmd.ExecuteContext(ctx) }()
	return cancel, errc
}

// setState writes what the operator would: a state and, when it ends, the
// Completed condition.
func setState(t *testing.T, ns, name string, state v1alpha1.ApplicationState, message string) {
	t.Helper()
	ctx := context.Background()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		t.Fatal(err)
	}
	app.Status.State = state
	if state.IsTerminal() {
		meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionCompleted, Status: metav1.ConditionTrue, Reason: string(state), Message: message})
	}
	if err := env.Client.Status().Update(ctx, app); err != nil {
		t.Fatal(err)
	}
}

func TestListAndGetWatch(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	if r := sparkplane(t, kc, application("watched"), "submit", "-f", "-"); r.err != nil {
		t.Fatal(r.err)
	}
	var listOut, getOut, errs syncBuffer
	stopList, listDone := background(t, kc, &listOut, &errs, "list", "-w", "-o", "custom-columns=NAME:.metadata.name,STATE:.status.state", "--no-headers")
	stopGet, getDone := background(t, kc, &getOut, &errs, "get", "watched", "-w")
	testenv.Eventually(t, testenv.Timeout, "the initial list", func() string {
		if !strings.Contains(listOut.String(), "watched") || !strings.Contains(getOut.String(), "watched") {
			return listOut.String() + getOut.String()
		}
		return ""
	})
	setState(t, ns, "watched", v1alpha1.StateRunning, "")
	setState(t, ns, "watched", v1alpha1.StateSucceeded, "the driver exited 0")
	testenv.Eventually(t, testenv.Timeout, "both watches to print Running and Succeeded", func() string {
		l, g := listOut.String(), getOut.String()
		if strings.Contains(l, "Running") && strings.Contains(l, "Succeeded") && strings.Contains(g, "Running") && strings.Contains(g, "Succeeded") {
			return ""
		}
		return "list -w:\n" + l + "get -w:\n" + g
	})
	stopList()
	stopGet()
	for what, done := range map[string]<-chan error{"list -w": listDone, "get -w": getDone} {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s ended with %v", what, err)
		}
	}
	if n := strings.Count(getOut.String(), "NAME"); n != 1 {
		t.Errorf("get -w printed the header %d times:\n%s", n, getOut.String())
	}
	if strings.Contains(listOut.String(), "NAME") {
		t.Errorf("list -w --no-headers printed a header:\n%s", listOut.String())
	}
}

func TestWait(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	for _, name := range []string{"ok", "broken", "slow"} {
		if r := sparkplane(t, kc, application(name), "submit", "-f", "-"); r.err != nil {
			t.Fatal(r.err)
		}
	}
	var out, errs syncBuffer
	_, done := background(t, kc, &out, &errs, "wait", "ok", "--for=state=Succeeded", "--timeout=30s")
	setState(t, ns, "ok", v1alpha1.StateRunning, "")
	setState(t, ns, "ok", v1alpha1.StateSucceeded, "the driver exited 0")
	if err := <-done; err != nil {
		t.Fatalf("wait --for=state=Succeeded: %v\n%s", err, errs.String())
	}
	if want := "sparkapplication.sparkplane.io/ok state Succeeded\n"; out.String() != want {
		t.Errorf("wait printed %q, want %q", out.String(), want)
	}

	setState(t, ns, "broken", v1alpha1.StateFailed, "driver container exited with code 1: java.lang.OutOfMemoryError")
	r := sparkplane(t, kc, "", "wait", "broken", "--for=state=Succeeded", "--timeout=30s")
	if r.err == nil || !strings.Contains(r.stderr, `sparkapplication "broken" ended Failed, not state Succeeded`) || !strings.Contains(r.stderr, "OutOfMemoryError") {
		t.Errorf("waiting for a failed application to succeed: err %v\n%s", r.err, r.stderr)
	}

	r = sparkplane(t, kc, "", "wait", "slow", "--for=state=Succeeded", "--timeout=1s")
	if r.err == nil || !strings.Contains(r.stderr, `timed out after 1s waiting for sparkapplication "slow" to reach state Succeeded`) {
		t.Errorf("a timeout: err %v\n%s", r.err, r.stderr)
	}

	r = sparkplane(t, kc, "", "wait", "ok", "--for=condition=Completed")
	if r.err != nil || r.stdout != "sparkapplication.sparkplane.io/ok condition met\n" {
		t.Errorf("--for=condition=Completed: err %v, stdout %q\n%s", r.err, r.stdout, r.stderr)
	}

	_, done = background(t, kc, &out, &errs, "wait", "slow", "--for=delete", "--timeout=30s")
	if r := sparkplane(t, kc, "", "delete", "slow"); r.err != nil {
		t.Fatal(r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("--for=delete: %v\n%s", err, errs.String())
	}

	for args, want := range map[string]string{
		"wait ok":                       "--for is required",
		"wait ok --for=state=Done":      "--for=state=Done: not a state",
		"wait ok --for=phase=Done":      "--for=phase=Done is not understood",
		"wait --for=state=Running":      "you must specify the SparkApplications to wait for",
		"wait nope --for=state=Running": `"nope" not found`,
	} {
		r := sparkplane(t, kc, "", strings.Fields(args)...)
		if r.err == nil || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: err %v, want an error containing %q:\n%s", args, r.err, want, r.stderr)
		}
	}
}

func TestSubmitWait(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	for name, tc := range map[string]struct {
		final   v1alpha1.ApplicationState
		message string
		wantErr string
	}{
		"wait-ok":     {final: v1alpha1.StateSucceeded},
		"wait-failed": {final: v1alpha1.StateFailed, message: "driver container exited with code 1", wantErr: "driver container exited with code 1"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errs syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := cli.NewRootCommand()
			cmd.SetOut(&out)
			cmd.SetErr(&errs)
			cmd.SetIn(strings.NewReader(application(name)))
			cmd.SetArgs([]string{"submit", "-f", "-", "--wait", "--timeout=60s", "--kubeconfig", kc})
			done := make(chan error, 1)
			go func() { done <- cmd.ExecuteContext(ctx) }()
			testenv.Eventually(t, testenv.Timeout, "the application to be created", func() bool {
				return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &v1alpha1.SparkApplication{}) == nil
			})
			setState(t, ns, name, v1alpha1.StatePending, "")
			setState(t, ns, name, v1alpha1.StateRunning, "")
			setState(t, ns, name, tc.final, tc.message)
			err := <-done
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("submit --wait: %v\n%s", err, errs.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("submit --wait: got %v, want an error containing %q", err, tc.wantErr)
			}
			for _, want := range []string{"Running", string(tc.final)} {
				if !strings.Contains(errs.String(), fmt.Sprintf("sparkapplication.sparkplane.io/%s %s", name, want)) {
					t.Errorf("submit --wait did not print state %s:\n%s", want, errs.String())
				}
			}
		})
	}
}

func TestDeleteBySelectorAndAll(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	for name, tier := range map[string]string{"a1": "a", "a2": "a", "b1": "b"} {
		doc := strings.Replace(application(name), "metadata:\n", "metadata:\n  labels: {tier: "+tier+"}\n", 1)
		if r := sparkplane(t, kc, doc, "submit", "-f", "-"); r.err != nil {
			t.Fatal(r.err)
		}
	}
	r := sparkplane(t, kc, "", "delete", "-l", "tier=a", "--dry-run=server")
	if r.err != nil || strings.Count(r.stdout, "(server dry run)") != 2 {
		t.Fatalf("delete -l --dry-run=server: %v\n%s", r.err, r.stdout)
	}
	r = sparkplane(t, kc, "", "delete", "-l", "tier=a")
	if r.err != nil || r.stdout != "sparkapplication.sparkplane.io \"a1\" deleted\nsparkapplication.sparkplane.io \"a2\" deleted\n" {
		t.Fatalf("delete -l tier=a: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = sparkplane(t, kc, "", "delete", "--all")
	if r.err != nil || r.stdout != "sparkapplication.sparkplane.io \"b1\" deleted\n" {
		t.Fatalf("delete --all: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = sparkplane(t, kc, "", "delete", "--all")
	if r.err != nil || r.stderr != fmt.Sprintf("No resources found in %s namespace.\n", ns) {
		t.Errorf("delete --all with nothing left: %v, stderr %q", r.err, r.stderr)
	}
	r = sparkplane(t, kc, "", "delete", "x", "--all")
	if r.err == nil || !strings.Contains(r.stderr, "give only one of NAMEs, -f FILE, -l SELECTOR and --all") {
		t.Errorf("delete NAME --all: %v\n%s", r.err, r.stderr)
	}
}

func TestDryRun(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	for _, mode := range []string{"client", "server"} {
		r := sparkplane(t, kc, application("dry-"+mode), "submit", "-f", "-", "--dry-run="+mode)
		if want := fmt.Sprintf("sparkapplication.sparkplane.io/dry-%s created (%s dry run)\n", mode, mode); r.err != nil || r.stdout != want {
			t.Errorf("--dry-run=%s: %v, printed %q, want %q", mode, r.err, r.stdout, want)
		}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dry-" + mode}, &v1alpha1.SparkApplication{}); err == nil {
			t.Errorf("--dry-run=%s created the application", mode)
		}
	}
	// The server validates: a malformed size fails a server dry run.
	r := sparkplane(t, kc, strings.Replace(application("bad"), "memory: 2g", "memory: 2 gigabytes", 1), "submit", "-f", "-", "--dry-run=server")
	if r.err == nil || !strings.Contains(r.stderr, "spec.executor.memory") {
		t.Errorf("--dry-run=server of an invalid manifest: %v\n%s", r.err, r.stderr)
	}
	r = sparkplane(t, kc, application("x"), "submit", "-f", "-", "--dry-run=maybe")
	if r.err == nil || !strings.Contains(r.stderr, `invalid --dry-run value "maybe"`) {
		t.Errorf("--dry-run=maybe: %v\n%s", r.err, r.stderr)
	}
}

func TestOutputFormatsAgainstTheServer(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	if r := sparkplane(t, kc, application("fmt"), "submit", "-f", "-"); r.err != nil {
		t.Fatal(r.err)
	}
	setState(t, ns, "fmt", v1alpha1.StateRunning, "")
	for args, want := range map[string]string{
		"get fmt -o jsonpath={.status.state}":                        "Running",
		"get fmt -o name":                                            "sparkapplication.sparkplane.io/fmt\n",
		"list -o custom-columns=NAME:.metadata.name,TYPE:.spec.type": "NAME   TYPE\nfmt    Scala\n",
		"list -o go-template={{.kind}}":                              "List",
	} {
		r := sparkplane(t, kc, "", strings.Fields(args)...)
		if r.err != nil || r.stdout != want {
			t.Errorf("%s: %v, printed %q, want %q", args, r.err, r.stdout, want)
		}
	}
}

// TestCompletion drives cobra's completion entry point as a shell does.
func TestCompletion(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	for _, name := range []string{"complete-a", "complete-b", "other"} {
		if r := sparkplane(t, kc, application(name), "submit", "-f", "-"); r.err != nil {
			t.Fatal(r.err)
		}
	}
	for args, want := range map[string][]string{
		"__complete get complete":               {"complete-a\n", "complete-b\n", ":4\n"},
		"__complete delete complete-a complete": {"complete-b\n"},
		"__complete list -n " + ns[:3]:          {ns + "\n"},
		"__complete list -o custom":             {"custom-columns\n", "custom-columns-file\n"},
		"__complete submit --dry-run=":          {"server\n", "client\n"},
	} {
		// The word being completed is the last: the kubeconfig goes first.
		words := strings.Fields(args)
		cmd := cli.NewRootCommand()
		var stdout, stderr bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		cmd.SetArgs(append([]string{"__complete", "--kubeconfig", kc}, words[1:]...))
		err := cmd.ExecuteContext(context.Background())
		r := result{stdout.String(), stderr.String(), err}
		if r.err != nil {
			t.Errorf("%s: %v", args, r.err)
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: completions lack %q:\n%s", args, w, r.stdout)
			}
		}
		if strings.HasPrefix(args, "__complete get") && strings.Contains(r.stdout, "other") {
			t.Errorf("%s offered a name without the prefix:\n%s", args, r.stdout)
		}
		if strings.HasPrefix(args, "__complete delete") && strings.Contains(r.stdout, "complete-a\n") {
			t.Errorf("%s offered a name already given:\n%s", args, r.stdout)
		}
	}
}

package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/spf13/cobra"
)

// run executes the command tree as the binary would and returns what the
// user sees.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCommand("sparkplane")
	var out, errs bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errs)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&errs, FormatError(err))
	}
	return out.String(), errs.String(), err
}

// writeKubeconfig writes a kubeconfig whose context "ctx-under-test" points at
// server.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: server}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	kc.Contexts["ctx-under-test"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: "spark"}
	kc.CurrentContext = "ctx-under-test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConnectionRefusedNamesTheKubeconfig: a server that is down is named
// as such, with the kubeconfig file and context the address came from.
func TestConnectionRefusedNamesTheKubeconfig(t *testing.T) {
	kubeconfig := writeKubeconfig(t, "http://127.0.0.1:1")
	for _, args := range [][]string{{"get", "x"}, {"list"}, {"delete", "x"}} {
		_, stderr, err := run(t, "", append(args, "--kubeconfig", kubeconfig, "--request-timeout", "5s")...)
		if err == nil {
			t.Fatalf("%v succeeded against a closed port", args)
		}
		for _, want := range []string{"connection refused by the API server at 127.0.0.1:1", `context "ctx-under-test"`, kubeconfig, "sparkplane dev up"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
	}
}

func TestKubeconfigFlagsArePersistent(t *testing.T) {
	// kubectl plugins get the global flags before the command.
	kubeconfig := writeKubeconfig(t, "http://127.0.0.1:1")
	_, stderr, err := run(t, "", "--kubeconfig", kubeconfig, "--context", "ctx-under-test", "list")
	if err == nil || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("err %v, stderr:\n%s", err, stderr)
	}
	_, stderr, err = run(t, "", "--kubeconfig", kubeconfig, "--context", "nope", "list")
	if err == nil || !strings.Contains(stderr, `context "nope" does not exist`) {
		t.Fatalf("an unknown context: err %v, stderr:\n%s", err, stderr)
	}
}

func testApplication(name, ns string, state v1alpha1.ApplicationState) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}}
	app.Spec.Type = "Scala"
	app.Status.State = state
	app.Status.Executors = v1alpha1.ExecutorCounts{Running: 2, Pending: 1}
	return app
}

func TestPrintFlags(t *testing.T) {
	apps := []runtime.Object{testApplication("pi", "spark", v1alpha1.StateRunning), testApplication("etl", "spark", v1alpha1.StateSucceeded)}
	cases := map[string]struct {
		args   []string
		single bool
		want   string
	}{
		"jsonpath":              {args: []string{"-o", "jsonpath={.status.state}"}, single: true, want: "Running"},
		"jsonpath over a list":  {args: []string{"-o", "jsonpath={range .items[*]}{.metadata.name}={.status.state} {end}"}, want: "pi=Running etl=Succeeded "},
		"go-template":           {args: []string{"-o", "go-template={{.metadata.name}}"}, single: true, want: "pi"},
		"--template":            {args: []string{"--template", "{{.kind}}"}, single: true, want: "SparkApplication"},
		"custom-columns":        {args: []string{"-o", "custom-columns=NAME:.metadata.name,STATE:.status.state"}, want: "NAME   STATE\npi     Running\netl    Succeeded\n"},
		"custom-columns no hdr": {args: []string{"-o", "custom-columns=NAME:.metadata.name", "--no-headers"}, want: "pi\netl\n"},
		"name":                  {args: []string{"-o", "name"}, want: "sparkapplication.sparkplane.io/pi\nsparkapplication.sparkplane.io/etl\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := &cobra.Command{Use: "x"}
			p := newPrintFlags()
			p.addFlags(cmd)
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := p.validate(); err != nil {
				t.Fatal(err)
			}
			objs := apps
			if tc.single {
				objs = apps[:1]
			}
			var out bytes.Buffer
			if err := p.printObjects(&out, objs, tc.single); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("printed %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestPrintFlagsErrors(t *testing.T) {
	for args, want := range map[string]string{
		"-o toml":                 `unable to match a printer suitable for the output format "toml", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,template,templatefile,wide,yaml`,
		"-o jsonpath={.status":    "-o jsonpath={.status: error parsing jsonpath {.status, unclosed action",
		"-o custom-columns=":      "custom-columns format specified but no custom columns given",
		"-o go-template={{.nope}": "-o go-template={{.nope}: error parsing template",
	} {
		cmd := &cobra.Command{Use: "x"}
		p := newPrintFlags()
		p.addFlags(cmd)
		if err := cmd.Flags().Parse(strings.SplitN(args, " ", 2)); err != nil {
			t.Fatal(err)
		}
		err := p.validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", args, err, want)
		}
	}
}

func TestApplicationTable(t *testing.T) {
	pi, etl := testApplication("pi", "spark", v1alpha1.StateRunning), testApplication("etl", "batch", v1alpha1.StateNew)
	cases := map[string]struct {
		options printers.PrintOptions
		want    string
	}{
		"table": {want: "NAME   STATE     ATTEMPTS   EXECUTORS   AGE\npi     Running   0          2/3         90s\netl    New       0          2/3         90s\n"},
		"-A":    {options: printers.PrintOptions{WithNamespace: true}, want: "NAMESPACE   NAME   STATE     ATTEMPTS   EXECUTORS   AGE\nspark       pi     Running   0          2/3         90s\nbatch       etl    New       0          2/3         90s\n"},
		"wide":  {options: printers.PrintOptions{Wide: true}, want: "NAME   STATE     ATTEMPTS   EXECUTORS   AGE   TYPE    PROFILE   DRIVER   APP-ID\npi     Running   0          2/3         90s   Scala   <none>    <none>   <none>\netl    New       0          2/3         90s   Scala   <none>    <none>   <none>\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := newApplicationTablePrinter(tc.options)
			now := pi.CreationTimestamp.Add(90 * time.Second)
			p.now = func() time.Time { return now }
			var out bytes.Buffer
			if err := p.printApplications(&out, pi, etl); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("printed:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
	// A watch prints the header once.
	p := newApplicationTablePrinter(printers.PrintOptions{})
	var out bytes.Buffer
	_ = p.printApplications(&out, pi)
	_ = p.printApplications(&out, etl)
	if n := strings.Count(out.String(), "NAME"); n != 1 {
		t.Errorf("two prints showed %d headers:\n%s", n, out.String())
	}
}

func TestPluginName(t *testing.T) {
	if got := displayName("/usr/local/bin/kubectl-sparkplane"); got != "kubectl sparkplane" {
		t.Errorf("displayName(kubectl-sparkplane) = %q", got)
	}
	if got := displayName("./sparkplane"); got != "sparkplane" {
		t.Errorf("displayName(sparkplane) = %q", got)
	}
	cmd := newRootCommand("kubectl sparkplane")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"submit", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl sparkplane submit -f examples/spark-pi.yaml") || !strings.Contains(out.String(), "kubectl sparkplane submit -f FILE [flags]") {
		t.Errorf("help as a kubectl plugin does not name it so:\n%s", out.String())
	}
}

// TestEveryCommandCompletesValidateRun: no command is left registering
// itself; every one is reachable from the root.
func TestCommandTree(t *testing.T) {
	root := newRootCommand("sparkplane")
	var names []string
	for _, c := range root.Commands() {
		names = append(names, c.Name())
	}
	for _, want := range []string{"submit", "get", "list", "describe", "logs", "delete", "explain", "advise", "install", "operator", "platform", "dev", "demo"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("command %q missing from the tree %v", want, names)
		}
	}
	_ = os.Stdout
}

func TestNextStepErrors(t *testing.T) {
	kubeconfig := writeKubeconfig(t, "https://127.0.0.1:6443")
	flags := newConfigFlags()
	flags.KubeConfig = &kubeconfig
	noKind := &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "sparkplane.io", Kind: "SparkApplication"}, SearchedVersions: []string{"v1alpha1"}}
	urlErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: err}
	}
	cases := map[string]struct {
		err  error
		want []string
	}{
		"CRDs missing":            {noKind, []string{"sparkplane is not installed on this cluster at https://127.0.0.1:6443", `context "ctx-under-test" in ` + kubeconfig, "run `sparkplane install`"}},
		"the resource not served": {apierrors.NewNotFound(schema.GroupResource{Group: "sparkplane.io", Resource: "sparkapplications"}, ""), []string{"sparkplane is not installed"}},
		"unknown authority":       {urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), []string{"the API server at 127.0.0.1:6443 presented a certificate this kubeconfig does not trust", kubeconfig}},
		"not TLS":                 {urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), []string{"does not speak TLS", kubeconfig}},
		"unauthorized":            {apierrors.NewUnauthorized("Unauthorized"), []string{"rejected the credentials (Unauthorized)", `context "ctx-under-test"`}},
		"no such host":            {urlErr(&net.DNSError{Name: "api.example", Err: "no such host"}), []string{"cannot resolve the API server's host api.example"}},
	}
	for name, tc := range cases {
		got := explainError(tc.err, flags)
		for _, want := range tc.want {
			if !strings.Contains(FormatError(got), want) {
				t.Errorf("%s: %q lacks %q", name, FormatError(got), want)
			}
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: the cause is lost", name)
		}
	}
	// Another group's missing kind (Karpenter's NodePool on a cluster
	// without its CRDs) is not sparkplane missing.
	karpenter := &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "karpenter.sh", Kind: "NodePool"}, SearchedVersions: []string{"v1"}}
	if got := explainError(karpenter, flags); got != error(karpenter) {
		t.Errorf("a missing karpenter.sh kind rewritten to %v", got)
	}
	// A named application that is not found is the server's NotFound, as is.
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "sparkplane.io", Resource: "sparkapplications"}, "x")
	if got := explainError(notFound, flags); got != notFound {
		t.Errorf("NotFound of a name rewritten to %v", got)
	}
}

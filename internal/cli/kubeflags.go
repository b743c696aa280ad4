package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeFlags are kubectl's connection flags: --kubeconfig, --context and, for
// commands that work in a namespace, -n/--namespace and (for lists) -A.
// Complete resolves them once; commands then read config and namespace.
type kubeFlags struct {
	kubeconfig    string
	context       string
	namespace     string
	allNamespaces bool

	// Set by complete.
	config         *rest.Config
	namespaceInUse string
}

// addConnectionFlags adds --kubeconfig and --context.
func (f *kubeFlags) addConnectionFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)")
	fs.StringVar(&f.context, "context", "", "The name of the kubeconfig context to use")
}

// addNamespaceFlag adds -n/--namespace.
func (f *kubeFlags) addNamespaceFlag(fs *pflag.FlagSet) {
	fs.StringVarP(&f.namespace, "namespace", "n", "", "If present, the namespace scope for this request (default: the context's namespace, else \"default\")")
}

// addAllNamespacesFlag adds -A/--all-namespaces.
func (f *kubeFlags) addAllNamespacesFlag(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "If present, list across all namespaces. The namespace in the current context is ignored even if given with --namespace")
}

// clientConfig is client-go's loader with kubectl's precedence: --kubeconfig,
// else $KUBECONFIG, else ~/.kube/config; in a pod with none of those, the
// in-cluster service account.
func (f *kubeFlags) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.context}
	if f.namespace != "" {
		overrides.Context.Namespace = f.namespace
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// complete loads the REST config and the namespace in use.
func (f *kubeFlags) complete() error {
	if f.kubeconfig != "" {
		if _, err := os.Stat(f.kubeconfig); err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", f.kubeconfig, errors.Unwrap(err))
		}
	}
	cc := f.clientConfig()
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return errors.New("no Kubernetes configuration found: pass --kubeconfig, set $KUBECONFIG, or create ~/.kube/config (for the local cluster: `sparkplane dev kubeconfig`)")
		}
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	// kubectl's defaults (5 QPS) are far too low for a CLI that submits a few
	// thousand applications from one file.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	cfg.UserAgent = "sparkplane"
	f.config = cfg
	ns, _, err := cc.Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	f.namespaceInUse = ns
	return nil
}

// listNamespace is the namespace a list works in: "" for -A.
func (f *kubeFlags) listNamespace() string {
	if f.allNamespaces {
		return ""
	}
	return f.namespaceInUse
}

// FormatError renders err the way kubectl does: a failure the API server
// reported reads `Error from server (NotFound): ...`; anything else
// `error: ...`.
func FormatError(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		reason := string(s.Reason)
		if reason == "" {
			reason = fmt.Sprintf("%d", s.Code)
		}
		// err.Error() keeps the context a command added (the file and
		// document), as kubectl does for `apply -f`.
		return fmt.Sprintf("Error from server (%s): %s", reason, err.Error())
	}
	return "error: " + err.Error()
}

// parseSelector parses a -l label selector, naming the flag on error.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-l/--selector %q: %w", s, err)
	}
	return sel, nil
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

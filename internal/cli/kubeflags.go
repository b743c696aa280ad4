package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// newConfigFlags returns kubectl's connection flags (--kubeconfig, --context,
// -n, --as, --token, --request-timeout, ...), from k8s.io/cli-runtime so they
// mean exactly what they mean to kubectl. The root command adds them as
// persistent flags, so `kubectl sparkplane --context prod list` works as a
// plugin must.
func newConfigFlags() *genericclioptions.ConfigFlags {
	return genericclioptions.NewConfigFlags(true).WithDiscoveryQPS(50)
}

// kubeFlags is a command's view of the connection flags: complete resolves
// them once into the REST config and the namespace in use.
type kubeFlags struct {
	flags         *genericclioptions.ConfigFlags
	allNamespaces bool

	// Set by complete.
	config         *rest.Config
	namespaceInUse string
	// enforceNamespace is true when -n was given: a manifest naming another
	// namespace is then an error, as with kubectl.
	enforceNamespace bool
}

// kubeFlagsFor returns flags that use the given kubeconfig file, for commands
// that find their cluster themselves (the local cluster's dev commands).
func kubeFlagsFor(kubeconfig string) kubeFlags {
	flags := newConfigFlags()
	flags.KubeConfig = &kubeconfig
	return kubeFlags{flags: flags}
}

// addAllNamespacesFlag adds -A/--all-namespaces.
func (f *kubeFlags) addAllNamespacesFlag(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "If present, list across all namespaces. The namespace in the current context is ignored even if given with --namespace")
}

// complete loads the REST config and the namespace in use.
func (f *kubeFlags) complete() error {
	if f.flags == nil {
		f.flags = newConfigFlags()
	}
	if path := ptrValue(f.flags.KubeConfig); path != "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", path, errors.Unwrap(err))
		}
	}
	cfg, err := f.flags.ToRESTConfig()
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
	ns, explicit, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	f.namespaceInUse, f.enforceNamespace = ns, explicit && ptrValue(f.flags.Namespace) != ""
	return nil
}

// listNamespace is the namespace a list works in: "" for -A.
func (f *kubeFlags) listNamespace() string {
	if f.allNamespaces {
		return ""
	}
	return f.namespaceInUse
}

func ptrValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

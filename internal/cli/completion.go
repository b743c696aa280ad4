package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// completionTimeout bounds the API call behind one shell completion, so a
// slow or unreachable cluster never hangs the user's shell.
const completionTimeout = 5 * time.Second

// completeNames returns a cobra completion function that offers the names of
// the objects of a list kind (in the namespace the flags select when
// namespaced), each once, those already on the command line left out
// (cobra's ValidArgsFunction; also used for flag values).
func completeNames(kube *genericclioptions.ConfigFlags, newList func() client.ObjectList, namespaced bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		failed := cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		flags := kubeFlags{flags: kube}
		if err := flags.complete(); err != nil {
			return nil, failed
		}
		c, err := newClient(flags.config)
		if err != nil {
			return nil, failed
		}
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		list := newList()
		var opts []client.ListOption
		if namespaced {
			opts = append(opts, client.InNamespace(flags.namespaceInUse))
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return nil, failed
		}
		var out []string
		err = meta.EachListItem(list, func(obj runtime.Object) error {
			name := obj.(client.Object).GetName()
			if strings.HasPrefix(name, toComplete) && !slices.Contains(args, name) {
				out = append(out, name)
			}
			return nil
		})
		if err != nil {
			return nil, failed
		}
		slices.Sort(out)
		return slices.Compact(out), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeApplicationNames completes SparkApplication names.
func completeApplicationNames(kube *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(kube, func() client.ObjectList { return &v1alpha1.SparkApplicationList{} }, true)
}

// completeProfileNames completes SparkProfile names (cluster-scoped).
func completeProfileNames(kube *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(kube, func() client.ObjectList { return &v1alpha1.SparkProfileList{} }, false)
}

// completeNamespaceNames completes namespace names, for -n.
func completeNamespaceNames(kube *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return completeNames(kube, func() client.ObjectList { return &corev1.NamespaceList{} }, false)
}

// completeContexts completes --context from the kubeconfig's contexts.
func completeContexts(kube *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		raw, err := kube.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []string
		for name := range raw.Contexts {
			if strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

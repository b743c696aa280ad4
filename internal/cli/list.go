package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type listOptions struct {
	kube     kubeFlags
	print    printFlags
	selector string

	client client.Client
	out    io.Writer
	errs   io.Writer
}

func init() { register(newListCommand) }

func newListCommand() *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List SparkApplications",
		Long: `List prints the SparkApplications of a namespace (or of all namespaces with -A)
as a table, or as a List with -o yaml or -o json.`,
		Example: `  # Applications in the context's namespace
  sparkplane list

  # Applications in every namespace, with driver pod and Spark application id
  sparkplane list -A -o wide

  # Only the nightly ones, as JSON
  sparkplane list -n spark -l schedule=nightly -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out, o.errs = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := o.print.validate(); err != nil {
				return err
			}
			if err := o.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.kube.addConnectionFlags(cmd.Flags())
	o.kube.addNamespaceFlag(cmd.Flags())
	o.kube.addAllNamespacesFlag(cmd.Flags())
	o.print.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Label selector to filter on, e.g. -l key1=value1,key2=value2")
	return cmd
}

func (o *listOptions) complete() error {
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *listOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := []client.ListOption{}
	if ns := o.kube.listNamespace(); ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if o.selector != "" {
		sel, err := parseSelector(o.selector)
		if err != nil {
			return err
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	list := &v1alpha1.SparkApplicationList{}
	if err := o.client.List(ctx, list, opts...); err != nil {
		return err
	}
	apps := list.Items
	sort.Slice(apps, func(i, j int) bool {
		if apps[i].Namespace != apps[j].Namespace {
			return apps[i].Namespace < apps[j].Namespace
		}
		return apps[i].Name < apps[j].Name
	})
	if len(apps) == 0 && (o.print.output == outputTable || o.print.output == outputWide) {
		if o.kube.allNamespaces {
			fmt.Fprintln(o.errs, "No resources found")
		} else {
			fmt.Fprintf(o.errs, "No resources found in %s namespace.\n", o.kube.namespaceInUse)
		}
		return nil
	}
	return printApplications(o.out, apps, o.print.output, o.kube.allNamespaces, false, time.Now())
}

package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type listOptions struct {
	kube     kubeFlags
	print    *printFlags
	selector string
	watch    bool

	query  applicationQuery
	client client.WithWatch
	out    io.Writer
	errs   io.Writer
}

func newListCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &listOptions{kube: kubeFlags{flags: kube}, print: newPrintFlags()}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List SparkApplications",
		Long: `List prints the SparkApplications of a namespace (or of all namespaces with -A)
as a table, or as a List with -o yaml or -o json (and -o jsonpath=,
go-template=, custom-columns=, name as kubectl has them). With -w it keeps
printing each change, as "kubectl get -w" does.`,
		Example: `  # Applications in the context's namespace
  sparkplane list

  # Applications in every namespace, with driver pod and Spark application id
  sparkplane list -A -o wide

  # Only the nightly ones, as JSON
  sparkplane list -n spark -l schedule=nightly -o json

  # Name and state of each, and then every change, until Ctrl-C
  sparkplane list -w -o custom-columns=NAME:.metadata.name,STATE:.status.state`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	o.kube.addAllNamespacesFlag(cmd.Flags())
	o.print.addFlags(cmd)
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Label selector to filter on, e.g. -l key1=value1,key2=value2")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "After listing the applications, watch them and print each change")
	return cmd
}

func (o *listOptions) complete(cmd *cobra.Command, _ []string) error {
	o.out, o.errs = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newWatchClient(o.kube.config)
	return err
}

func (o *listOptions) validate() error {
	o.query = applicationQuery{namespace: o.kube.listNamespace(), selector: labels.Everything()}
	if o.selector != "" {
		sel, err := parseSelector(o.selector)
		if err != nil {
			return err
		}
		o.query.selector = sel
	}
	return o.print.validate()
}

func (o *listOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	list, err := o.query.list(ctx, o.client)
	if err != nil {
		return err
	}
	apps := make([]*v1alpha1.SparkApplication, len(list.Items))
	for i := range list.Items {
		apps[i] = &list.Items[i]
	}
	sort.Slice(apps, func(i, j int) bool {
		if apps[i].Namespace != apps[j].Namespace {
			return apps[i].Namespace < apps[j].Namespace
		}
		return apps[i].Name < apps[j].Name
	})
	table := newApplicationTablePrinter(printers.PrintOptions{WithNamespace: o.kube.allNamespaces, Wide: o.print.format() == outputWide, NoHeaders: o.print.noHeaders})
	switch {
	case len(apps) == 0 && o.print.human():
		if o.kube.allNamespaces {
			fmt.Fprintln(o.errs, "No resources found")
		} else {
			fmt.Fprintf(o.errs, "No resources found in %s namespace.\n", o.kube.namespaceInUse)
		}
	case o.print.human():
		err = table.printApplications(o.out, apps...)
	case o.watch:
		// As kubectl get -w: each object on its own, not a List.
		for _, app := range apps {
			if err = o.print.printObjects(o.out, []runtime.Object{app}, true); err != nil {
				break
			}
		}
	default:
		objs := make([]runtime.Object, len(apps))
		for i, app := range apps {
			objs[i] = app
		}
		err = o.print.printObjects(o.out, objs, false)
	}
	if err != nil || !o.watch {
		return err
	}
	return untilStopped(o.query.watch(ctx, o.client, list.ResourceVersion, func(_ watch.EventType, app *v1alpha1.SparkApplication) (bool, error) {
		if o.print.human() {
			return false, table.printApplications(o.out, app)
		}
		return false, o.print.printObjects(o.out, []runtime.Object{app}, true)
	}))
}

package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type getOptions struct {
	kube  kubeFlags
	print *printFlags
	watch bool
	names []string

	client client.WithWatch
	out    io.Writer
	errs   io.Writer
}

func newGetCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &getOptions{kube: kubeFlags{flags: kube}, print: newPrintFlags()}
	cmd := &cobra.Command{
		Use:   "get NAME [NAME...]",
		Short: "Show one or more SparkApplications",
		Long: `Get prints the named SparkApplications as a table (state, attempts, running and
total executors, age), or in full with -o yaml or -o json, or any part of them
with -o jsonpath=, -o go-template= or -o custom-columns=, as kubectl does. With
-w it keeps printing each change. To see every application in a namespace use
"sparkplane list".`,
		Example: `  # One application as a table
  sparkplane get spark-pi

  # With its type, profile, driver pod and Spark application id
  sparkplane get spark-pi -o wide

  # In full, as stored by the API server
  sparkplane get spark-pi -n spark -o yaml

  # Only its state
  sparkplane get spark-pi -o jsonpath='{.status.state}'

  # Print each change until Ctrl-C
  sparkplane get spark-pi -w`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE:              runE(o),
	}
	o.print.addFlags(cmd)
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "After printing the applications, watch them and print each change")
	return cmd
}

func (o *getOptions) complete(cmd *cobra.Command, args []string) error {
	o.out, o.errs, o.names = cmd.OutOrStdout(), cmd.ErrOrStderr(), args
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newWatchClient(o.kube.config)
	return err
}

func (o *getOptions) validate() error {
	if len(o.names) == 0 {
		return errors.New("you must specify the name of a SparkApplication; use \"sparkplane list\" to see them all")
	}
	if o.watch && len(o.names) > 1 {
		return errors.New("-w watches one application: give one NAME, or watch several with \"sparkplane list -w -l SELECTOR\"")
	}
	return o.print.validate()
}

func (o *getOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var apps []*v1alpha1.SparkApplication
	var failures []error
	for _, name := range o.names {
		app := &v1alpha1.SparkApplication{}
		if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name}, app); err != nil {
			failures = append(failures, err)
			continue
		}
		apps = append(apps, app)
	}
	table := newApplicationTablePrinter(printers.PrintOptions{Wide: o.print.format() == outputWide, NoHeaders: o.print.noHeaders})
	if len(apps) > 0 {
		if err := o.printApplications(table, apps, len(o.names) == 1); err != nil {
			return err
		}
	}
	if err := reportFailures(o.errs, failures); err != nil || !o.watch {
		return err
	}
	query := applicationQuery{namespace: o.kube.namespaceInUse, name: o.names[0]}
	return untilStopped(query.watch(ctx, o.client, apps[0].ResourceVersion, func(_ watch.EventType, app *v1alpha1.SparkApplication) (bool, error) {
		return false, o.printApplications(table, []*v1alpha1.SparkApplication{app}, true)
	}))
}

func (o *getOptions) printApplications(table *applicationTablePrinter, apps []*v1alpha1.SparkApplication, single bool) error {
	if o.print.human() {
		return table.printApplications(o.out, apps...)
	}
	objs := make([]runtime.Object, len(apps))
	for i, app := range apps {
		objs[i] = app
	}
	return o.print.printObjects(o.out, objs, single)
}

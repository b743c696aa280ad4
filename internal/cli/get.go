package cli

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type getOptions struct {
	kube  kubeFlags
	print printFlags
	names []string

	client client.Client
	out    io.Writer
	errs   io.Writer
}

func init() { register(newGetCommand) }

func newGetCommand() *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get NAME [NAME...]",
		Short: "Show one or more SparkApplications",
		Long: `Get prints the named SparkApplications as a table (state, attempts, running and
total executors, age), or in full with -o yaml or -o json. To see every
application in a namespace use "sparkplane list".`,
		Example: `  # One application as a table
  sparkplane get spark-pi

  # With its type, profile, driver pod and Spark application id
  sparkplane get spark-pi -o wide

  # In full, as stored by the API server
  sparkplane get spark-pi -n spark -o yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out, o.errs, o.names = cmd.OutOrStdout(), cmd.ErrOrStderr(), args
			if err := o.validate(); err != nil {
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
	o.print.addFlags(cmd.Flags())
	return cmd
}

func (o *getOptions) validate() error {
	if len(o.names) == 0 {
		return errors.New("you must specify the name of a SparkApplication; use \"sparkplane list\" to see them all")
	}
	return o.print.validate()
}

func (o *getOptions) complete() error {
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *getOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var apps []v1alpha1.SparkApplication
	var failures []error
	for _, name := range o.names {
		app := v1alpha1.SparkApplication{}
		if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name}, &app); err != nil {
			failures = append(failures, err)
			continue
		}
		apps = append(apps, app)
	}
	if len(apps) > 0 {
		if err := printApplications(o.out, apps, o.print.output, false, len(o.names) == 1, time.Now()); err != nil {
			return err
		}
	}
	return reportFailures(o.errs, failures)
}

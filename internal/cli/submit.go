package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type submitOptions struct {
	kube      kubeFlags
	filenames []string
	dryRun    bool

	manifests []manifest
	client    client.Client
	in        io.Reader
	out, errs io.Writer
}

func init() { register(newSubmitCommand) }

func newSubmitCommand() *cobra.Command {
	o := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit -f FILE",
		Short: "Submit SparkApplications from YAML or JSON files",
		Long: `Submit creates the SparkApplications in the given files (YAML or JSON, one or
many documents per file, "-" for standard input). The operator then builds
each application's driver objects natively: no spark-submit, no JVM.

A Kubeflow spark-operator manifest (apiVersion sparkoperator.k8s.io/v1beta2)
moves over by changing its apiVersion to sparkplane.io/v1alpha1: the spec
fields are the same. Submit refuses the old apiVersion with that advice
rather than guessing.

Each created application prints one line; an application that already
exists is an error (delete it first, or change metadata.name), and the other
documents are still submitted. The exit code is 1 when any failed.`,
		Example: `  # Submit one application into the context's namespace
  sparkplane submit -f examples/spark-pi.yaml

  # Submit every application in a file into namespace "spark"
  sparkplane submit -n spark -f examples/dynamic-allocation.yaml

  # Submit from standard input
  cat examples/spark-pi.yaml | sparkplane submit -f -

  # Check the manifests against the API server's schema without creating anything
  sparkplane submit -f examples/spark-pi.yaml --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.in, o.out, o.errs = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := o.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.kube.addConnectionFlags(cmd.Flags())
	o.kube.addNamespaceFlag(cmd.Flags())
	cmd.Flags().StringSliceVarP(&o.filenames, "filename", "f", nil, "Files that contain the SparkApplications to submit (\"-\" for standard input); repeat for several")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "Have the API server validate the applications without creating them")
	return cmd
}

func (o *submitOptions) complete() error {
	if len(o.filenames) == 0 {
		return errors.New("must specify -f FILE: the SparkApplication manifests to submit")
	}
	manifests, err := readManifests(o.filenames, o.in)
	if err != nil {
		return err
	}
	o.manifests = manifests
	if err := o.kube.complete(); err != nil {
		return err
	}
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *submitOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var failures []error
	for _, m := range o.manifests {
		if err := o.submitOne(ctx, m); err != nil {
			failures = append(failures, err)
		}
	}
	return reportFailures(o.errs, failures)
}

func (o *submitOptions) submitOne(ctx context.Context, m manifest) error {
	namespace, err := namespaceFor(m, &o.kube)
	if err != nil {
		return err
	}
	obj := m.object.DeepCopy()
	obj.SetNamespace(namespace)
	opts := []client.CreateOption{client.FieldValidation("Strict")}
	suffix := "created"
	if o.dryRun {
		opts = append(opts, client.DryRunAll)
		suffix = "created (server dry run)"
	}
	if err := o.client.Create(ctx, obj, opts...); err != nil {
		return fmt.Errorf("error when creating %q: %w", m.source, err)
	}
	fmt.Fprintf(o.out, "%s/%s %s\n", resourceName, obj.GetName(), suffix)
	return nil
}

// reportFailures prints every failure but the last in kubectl's style on
// errs and returns the last, which the root command prints; so each failure
// shows once and the exit code is 1 when any failed.
func reportFailures(errs io.Writer, failures []error) error {
	if len(failures) == 0 {
		return nil
	}
	for _, err := range failures[:len(failures)-1] {
		fmt.Fprintln(errs, FormatError(err))
	}
	return failures[len(failures)-1]
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type deleteOptions struct {
	kube           kubeFlags
	manifests      manifestFlags
	selector       string
	all            bool
	ignoreNotFound bool
	dryRun         dryRunFlag
	names          []string

	targets []client.ObjectKey
	client  client.Client
	in      io.Reader
	out     io.Writer
	errs    io.Writer
}

func newDeleteCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &deleteOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "delete (NAME... | -f FILE | -l SELECTOR | --all)",
		Short: "Delete SparkApplications by name, label selector, or the files that created them",
		Long: `Delete removes SparkApplications. Everything the application owns goes with it:
the driver pod, and through the driver its executors, service and config maps
(Kubernetes' garbage collector removes them in the background).`,
		Example: `  # Delete one application
  sparkplane delete spark-pi

  # Delete every application a file submitted
  sparkplane delete -f examples/dynamic-allocation.yaml

  # Delete the nightly applications of namespace "spark"
  sparkplane delete -n spark -l schedule=nightly

  # Delete every application in the context's namespace
  sparkplane delete --all

  # Delete, and succeed also when it is already gone
  sparkplane delete spark-pi --ignore-not-found`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.in, o.out, o.errs, o.names = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.complete(cmd.Context()); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.manifests.addFlags(cmd, "The SparkApplications to delete")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Delete the applications whose labels match this selector, e.g. -l key1=value1,key2=value2")
	cmd.Flags().BoolVar(&o.all, "all", false, "Delete every application in the namespace")
	cmd.Flags().BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat \"application not found\" as a successful delete")
	o.dryRun.addFlag(cmd)
	return cmd
}

// validate is called before complete here: which applications to delete must
// be clear before anything is read or listed.
func (o *deleteOptions) validate() error {
	ways := 0
	for _, given := range []bool{len(o.names) > 0, len(o.manifests.filenames) > 0, o.selector != "", o.all} {
		if given {
			ways++
		}
	}
	switch {
	case ways == 0:
		return errors.New("you must specify the SparkApplications to delete: by NAME, with -f FILE, with -l SELECTOR, or --all")
	case ways > 1:
		return errors.New("give only one of NAMEs, -f FILE, -l SELECTOR and --all")
	}
	if o.selector != "" {
		if _, err := parseSelector(o.selector); err != nil {
			return err
		}
	}
	return o.dryRun.validate()
}

func (o *deleteOptions) complete(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var manifests []manifest
	if len(o.manifests.filenames) > 0 {
		var err error
		if manifests, err = readManifests(o.kube.flags, o.manifests, o.in); err != nil {
			return err
		}
	}
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	if o.client, err = newClient(o.kube.config); err != nil {
		return err
	}
	for _, name := range o.names {
		o.targets = append(o.targets, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name})
	}
	for _, m := range manifests {
		if m.object.GetName() == "" {
			return fmt.Errorf("%s: has only metadata.generateName; delete the generated application by its name", m.source)
		}
		ns, err := namespaceFor(m, &o.kube)
		if err != nil {
			return err
		}
		o.targets = append(o.targets, client.ObjectKey{Namespace: ns, Name: m.object.GetName()})
	}
	if o.selector != "" || o.all {
		selector := labels.Everything()
		if o.selector != "" {
			selector, _ = parseSelector(o.selector) // checked by validate
		}
		list, err := applicationQuery{namespace: o.kube.namespaceInUse, selector: selector}.list(ctx, o.client)
		if err != nil {
			return err
		}
		for _, app := range list.Items {
			o.targets = append(o.targets, client.ObjectKey{Namespace: app.Namespace, Name: app.Name})
		}
		if len(o.targets) == 0 {
			fmt.Fprintf(o.errs, "No resources found in %s namespace.\n", o.kube.namespaceInUse)
		}
	}
	return nil
}

func (o *deleteOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := []client.DeleteOption{client.PropagationPolicy(metav1.DeletePropagationBackground)}
	if o.dryRun.server() {
		opts = append(opts, client.DryRunAll)
	}
	var failures []error
	for _, key := range o.targets {
		if o.dryRun.client() {
			fmt.Fprintf(o.out, "%s %q deleted%s\n", resourceName, key.Name, o.dryRun.suffix())
			continue
		}
		app := &v1alpha1.SparkApplication{}
		app.Namespace, app.Name = key.Namespace, key.Name
		err := o.client.Delete(ctx, app, opts...)
		if err != nil && !(o.ignoreNotFound && isNotFound(err)) {
			failures = append(failures, err)
			continue
		}
		if err == nil {
			fmt.Fprintf(o.out, "%s %q deleted%s\n", resourceName, key.Name, o.dryRun.suffix())
		}
	}
	return reportFailures(o.errs, failures)
}

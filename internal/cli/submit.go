package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type submitOptions struct {
	kube      kubeFlags
	manifests manifestFlags
	dryRun    dryRunFlag
	profile   string
	wait      bool
	follow    bool
	timeout   time.Duration

	documents []manifest
	client    client.WithWatch
	clientset kubernetes.Interface
	created   []client.ObjectKey
	in        io.Reader
	out, errs io.Writer
}

func newSubmitCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &submitOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "submit -f FILE",
		Short: "Submit SparkApplications from YAML or JSON files",
		Long: `Submit creates the SparkApplications in the given files (YAML or JSON, one or
many documents per file, folders of them with -R, "-" for standard input). The
operator then builds each application's driver objects natively: no
spark-submit, no JVM.

A Kubeflow spark-operator manifest (apiVersion sparkoperator.k8s.io/v1beta2)
moves over by changing its apiVersion to sparkplane.io/v1alpha1: the spec
fields are the same. Submit refuses the old apiVersion with that advice
rather than guessing.

Each created application prints one line; an application that already
exists is an error (delete it first, or change metadata.name), and the other
documents are still submitted. The exit code is 1 when any failed.

With --wait, submit then blocks until every application ends, printing each
state change, as spark-submit does in cluster mode with
spark.kubernetes.submission.waitAppCompletion=true; --follow also streams the
driver's log. The exit code is then 0 only if every application Succeeded;
otherwise the failure message is printed.`,
		Example: `  # Submit one application into the context's namespace
  sparkplane submit -f examples/spark-pi.yaml

  # Submit every application in a file into namespace "spark"
  sparkplane submit -n spark -f examples/dynamic-allocation.yaml

  # Submit from standard input
  cat examples/spark-pi.yaml | sparkplane submit -f -

  # Check the manifests against the API server's schema without creating anything
  sparkplane submit -f examples/spark-pi.yaml --dry-run=server

  # Submit on the cost-optimized profile, wait until it ends and stream the driver's log
  sparkplane submit -f examples/spark-pi.yaml --profile cost-optimized --wait --follow`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	o.manifests.addFlags(cmd, "The SparkApplications to submit")
	o.dryRun.addFlag(cmd)
	cmd.Flags().StringVar(&o.profile, "profile", "", "Set spec.profile of every submitted application to this SparkProfile")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "Wait until the applications end; exit 0 only if all Succeeded")
	cmd.Flags().BoolVar(&o.follow, "follow", false, "With --wait: stream the driver's log (one application only)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "With --wait: give up after this long (default: no limit)")
	_ = cmd.RegisterFlagCompletionFunc("profile", completeProfileNames(kube))
	return cmd
}

func (o *submitOptions) complete(cmd *cobra.Command, _ []string) error {
	o.in, o.out, o.errs = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(o.manifests.filenames) == 0 {
		return errors.New("must specify -f FILE: the SparkApplication manifests to submit")
	}
	documents, err := readManifests(o.kube.flags, o.manifests, o.in)
	if err != nil {
		return err
	}
	o.documents = documents
	if err := o.kube.complete(); err != nil {
		return err
	}
	if o.dryRun.client() {
		return nil // nothing is sent to the server
	}
	if o.client, err = newWatchClient(o.kube.config); err != nil {
		return err
	}
	o.clientset, err = kubernetes.NewForConfig(o.kube.config)
	return err
}

func (o *submitOptions) validate() error {
	switch {
	case o.follow && !o.wait:
		return errors.New("--follow streams the driver's log while waiting: add --wait")
	case o.follow && len(o.documents) != 1:
		return fmt.Errorf("--follow streams one driver's log, but the files hold %d applications: submit them one by one, or drop --follow", len(o.documents))
	case o.wait && !o.dryRun.none():
		return errors.New("--wait waits for applications to end, and --dry-run creates none: use one or the other")
	case o.timeout < 0:
		return fmt.Errorf("--timeout %s is negative", o.timeout)
	case o.timeout > 0 && !o.wait:
		return errors.New("--timeout applies to --wait: add --wait")
	}
	return o.dryRun.validate()
}

func (o *submitOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var failures []error
	for _, m := range o.documents {
		if err := o.submitOne(ctx, m); err != nil {
			failures = append(failures, err)
		}
	}
	if o.wait {
		for _, key := range o.created {
			if err := o.waitForEnd(ctx, key); err != nil {
				failures = append(failures, err)
			}
		}
	}
	return reportFailures(o.errs, failures)
}

// waitForEnd prints the application's state changes until it ends and, with
// --follow, streams its driver's log (each attempt's driver in turn).
func (o *submitOptions) waitForEnd(ctx context.Context, key client.ObjectKey) error {
	timeout := o.timeout
	if timeout == 0 {
		timeout = 365 * 24 * time.Hour
	}
	follow := newLogFollower(ctx, o.clientset, o.out, o.errs)
	defer follow.stop()
	var last v1alpha1.ApplicationState = "-"
	ended, _ := parseWaitFor("state=" + string(v1alpha1.StateSucceeded))
	err := waitForApplication(ctx, o.client, key, timeout, ended, func(app *v1alpha1.SparkApplication) {
		if app.Status.State != last {
			last = app.Status.State
			fmt.Fprintf(o.errs, "%s/%s %s\n", resourceName, app.Name, stateOf(app))
		}
		if o.follow && app.Status.State == v1alpha1.StateRunning && app.Status.DriverInfo.PodName != "" {
			follow.start(app.Namespace, app.Status.DriverInfo.PodName)
		}
	})
	follow.drain()
	return err
}

func (o *submitOptions) submitOne(ctx context.Context, m manifest) error {
	namespace, err := namespaceFor(m, &o.kube)
	if err != nil {
		return err
	}
	obj := m.object.DeepCopy()
	obj.SetNamespace(namespace)
	if o.profile != "" {
		if err := unstructured.SetNestedField(obj.Object, o.profile, "spec", "profile"); err != nil {
			return fmt.Errorf("%s: setting spec.profile: %w", m.source, err)
		}
	}
	if o.dryRun.client() {
		fmt.Fprintf(o.out, "%s/%s created%s\n", resourceName, obj.GetName(), o.dryRun.suffix())
		return nil
	}
	opts := []client.CreateOption{client.FieldValidation("Strict")}
	if o.dryRun.server() {
		opts = append(opts, client.DryRunAll)
	}
	if err := o.client.Create(ctx, obj, opts...); err != nil {
		return fmt.Errorf("error when creating %q: %w", m.source, err)
	}
	if o.dryRun.none() {
		o.created = append(o.created, client.ObjectKey{Namespace: obj.GetNamespace(), Name: obj.GetName()})
	}
	fmt.Fprintf(o.out, "%s/%s created%s\n", resourceName, obj.GetName(), o.dryRun.suffix())
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

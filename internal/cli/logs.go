package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

type logsOptions struct {
	kube      kubeFlags
	follow    bool
	tail      int64
	since     time.Duration
	previous  bool
	container string
	executor  string
	name      string

	client    client.Client
	clientset kubernetes.Interface
	out       io.Writer
}

func newLogsCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &logsOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print the logs of a SparkApplication's driver or of one of its executors",
		Long: `Logs prints the log of the driver container (` + spark.DriverContainerName + `) of the
application's current driver pod, or with --executor ID that of the executor
with that Spark executor id (the spark-exec-id label; "sparkplane describe
NAME" lists the pods). With -f it follows the log until the container ends.`,
		Example: `  # The driver's log so far
  sparkplane logs spark-pi

  # Follow it, starting from the last 100 lines
  sparkplane logs spark-pi -f --tail 100

  # The last ten minutes of executor 3's log
  sparkplane logs spark-pi --executor 3 --since 10m

  # The log of the driver's previous container, after a restart
  sparkplane logs spark-pi --previous`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE:              runE(o),
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "Specify if the logs should be streamed")
	cmd.Flags().Int64Var(&o.tail, "tail", -1, "Lines of recent log to display; -1 shows all")
	cmd.Flags().DurationVar(&o.since, "since", 0, "Only return logs newer than a relative duration like 5s, 2m, or 3h (default: all)")
	cmd.Flags().BoolVarP(&o.previous, "previous", "p", false, "Print the log of the previous instance of the container")
	cmd.Flags().StringVarP(&o.container, "container", "c", "", "Container of the pod to print, e.g. a sidecar (default: Spark's driver or executor container)")
	cmd.Flags().StringVar(&o.executor, "executor", "", "Print the log of the executor with this Spark executor id instead of the driver's")
	return cmd
}

func (o *logsOptions) complete(cmd *cobra.Command, args []string) error {
	o.out = cmd.OutOrStdout()
	if len(args) != 1 {
		return errors.New("you must specify exactly one SparkApplication name: sparkplane logs NAME")
	}
	o.name = args[0]
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	if o.client, err = newClient(o.kube.config); err != nil {
		return err
	}
	o.clientset, err = kubernetes.NewForConfig(o.kube.config)
	return err
}

func (o *logsOptions) validate() error {
	if o.since < 0 {
		return fmt.Errorf("--since %s is negative: give how far back to start, e.g. --since 10m", o.since)
	}
	if o.tail < -1 {
		return fmt.Errorf("--tail %d: give a number of lines, or -1 for all", o.tail)
	}
	return nil
}

func (o *logsOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	app := &v1alpha1.SparkApplication{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: o.name}, app); err != nil {
		return err
	}
	pod, container, err := o.pod(ctx, app)
	if err != nil {
		return err
	}
	return streamLogs(ctx, o.clientset, app.Namespace, pod, o.logOptions(container), o.out)
}

func (o *logsOptions) logOptions(container string) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{Container: container, Follow: o.follow, Previous: o.previous}
	if o.container != "" {
		opts.Container = o.container
	}
	if o.tail >= 0 {
		opts.TailLines = ptr.To(o.tail)
	}
	if o.since > 0 {
		opts.SinceSeconds = ptr.To(int64(o.since.Round(time.Second) / time.Second))
	}
	return opts
}

// pod names the pod and default container whose log is wanted.
func (o *logsOptions) pod(ctx context.Context, app *v1alpha1.SparkApplication) (string, string, error) {
	if o.executor == "" {
		pod := app.Status.DriverInfo.PodName
		if pod == "" {
			return "", "", fmt.Errorf("sparkapplication %q has no driver pod yet (state %s); see why with: sparkplane describe %s -n %s",
				app.Name, stateOf(app), app.Name, app.Namespace)
		}
		return pod, spark.DriverContainerName, nil
	}
	id := app.Status.SparkApplicationID
	if id == "" {
		return "", "", fmt.Errorf("sparkapplication %q has no executors yet (state %s)", app.Name, stateOf(app))
	}
	pods := &corev1.PodList{}
	if err := o.client.List(ctx, pods, client.InNamespace(app.Namespace), client.MatchingLabels{
		spark.LabelAppSelector: id, spark.LabelRole: spark.RoleExecutor, spark.LabelExecID: o.executor,
	}); err != nil {
		return "", "", err
	}
	if len(pods.Items) == 0 {
		return "", "", fmt.Errorf("sparkapplication %q has no executor %q (now or still kept); list its pods with: sparkplane describe %s -n %s",
			app.Name, o.executor, app.Name, app.Namespace)
	}
	return pods.Items[0].Name, spark.ExecutorContainerName, nil
}

// streamLogs copies a pod's log to out until it ends (or, following, until
// the container ends or ctx is cancelled).
func streamLogs(ctx context.Context, clientset kubernetes.Interface, namespace, pod string, opts *corev1.PodLogOptions, out io.Writer) error {
	stream, err := clientset.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(out, stream)
	if ctx.Err() != nil {
		return nil // stopped by the user or by the caller: not a failure
	}
	return err
}

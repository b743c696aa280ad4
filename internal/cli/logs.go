package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
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
	previous  bool
	container string
	name      string

	client    client.Client
	clientset kubernetes.Interface
	out       io.Writer
}

func init() { register(newLogsCommand) }

func newLogsCommand() *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print the logs of a SparkApplication's driver",
		Long: `Logs prints the log of the driver container (` + spark.DriverContainerName + `) of the
application's current driver pod. With -f it follows the log until the driver
ends. Executor logs are in the executor pods: "sparkplane describe NAME" lists
them.`,
		Example: `  # The driver's log so far
  sparkplane logs spark-pi

  # Follow it, starting from the last 100 lines
  sparkplane logs spark-pi -f --tail 100

  # The log of the driver's previous container, after a restart
  sparkplane logs spark-pi --previous`,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			if o.clientset, err = kubernetes.NewForConfig(o.kube.config); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.kube.addConnectionFlags(cmd.Flags())
	o.kube.addNamespaceFlag(cmd.Flags())
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "Specify if the logs should be streamed")
	cmd.Flags().Int64Var(&o.tail, "tail", -1, "Lines of recent log to display; -1 shows all")
	cmd.Flags().BoolVarP(&o.previous, "previous", "p", false, "Print the log of the previous instance of the driver container")
	cmd.Flags().StringVarP(&o.container, "container", "c", spark.DriverContainerName, "Container of the driver pod to print (e.g. a sidecar)")
	return cmd
}

func (o *logsOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	app := &v1alpha1.SparkApplication{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: o.name}, app); err != nil {
		return err
	}
	pod := app.Status.DriverInfo.PodName
	if pod == "" {
		return fmt.Errorf("sparkapplication %q has no driver pod yet (state %s); see why with: sparkplane describe %s -n %s",
			app.Name, stateOf(app), app.Name, app.Namespace)
	}
	opts := &corev1.PodLogOptions{Container: o.container, Follow: o.follow, Previous: o.previous}
	if o.tail >= 0 {
		opts.TailLines = ptr.To(o.tail)
	}
	stream, err := o.clientset.CoreV1().Pods(app.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(o.out, stream)
	return err
}

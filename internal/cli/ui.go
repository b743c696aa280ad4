package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

type uiOptions struct {
	kube      kubeFlags
	name      string
	localPort int
	address   string

	client client.Client
	out    io.Writer
	errs   io.Writer
}

func newUICommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &uiOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "ui APP",
		Short: "Port-forward to an application's Spark UI and print its local URL",
		Long: `UI forwards a local port to the Spark UI of the application's current driver
pod (as kubectl port-forward does) and prints the URL to open. It runs until
interrupted (Ctrl-C) or until the driver pod goes away. When the operator
gave the application an Ingress (--ingress-url-format), its address is
printed too.`,
		Example: `  # Open http://127.0.0.1:4040/ for spark-pi
  sparkplane ui spark-pi

  # On another local port
  sparkplane ui spark-pi --port 8080`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplicationNames(kube),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out, o.errs, o.name = cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0]
			if o.localPort < 0 || o.localPort > 65535 {
				return fmt.Errorf("--port must be a port number (0 picks a free one), got %d", o.localPort)
			}
			if err := o.kube.complete(); err != nil {
				return err
			}
			var err error
			if o.client, err = newClient(o.kube.config); err != nil {
				return err
			}
			ctx, stop := untilInterrupted(cmd.Context())
			defer stop()
			return o.run(ctx)
		},
	}
	cmd.Flags().IntVar(&o.localPort, "port", submit.DefaultUIPort, "Local port to listen on (0 picks a free one)")
	cmd.Flags().StringVar(&o.address, "address", "127.0.0.1", "Local address to listen on")
	return cmd
}

// uiTarget is the driver pod and port the application's UI is served from,
// or an error saying why there is none yet.
func uiTarget(app *v1alpha1.SparkApplication, driver *corev1.Pod) (int32, error) {
	if driver.Status.Phase != corev1.PodRunning {
		return 0, fmt.Errorf("the driver pod %s of %s is %s, not Running; the Spark UI is served while the driver runs (see sparkplane describe %s)",
			driver.Name, app.Name, orNone(string(driver.Status.Phase)), app.Name)
	}
	for _, c := range driver.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == submit.UIPortName {
				return p.ContainerPort, nil
			}
		}
	}
	return submit.DefaultUIPort, nil
}

func (o *uiOptions) run(ctx context.Context) error {
	app := &v1alpha1.SparkApplication{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: o.name}, app); err != nil {
		return err
	}
	podName := app.Status.DriverInfo.PodName
	if podName == "" {
		return fmt.Errorf("%s has no driver pod yet (state %s); wait until it runs", o.name, stateOf(app))
	}
	driver := &corev1.Pod{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: podName}, driver); err != nil {
		return err
	}
	remotePort, err := uiTarget(app, driver)
	if err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(o.kube.config)
	if err != nil {
		return err
	}
	transport, upgrader, err := spdy.RoundTripperFor(o.kube.config)
	if err != nil {
		return err
	}
	req := clientset.CoreV1().RESTClient().Post().Resource("pods").Namespace(driver.Namespace).Name(driver.Name).SubResource("portforward")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, req.URL())
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{o.address}, []string{fmt.Sprintf("%d:%d", o.localPort, remotePort)}, ctx.Done(), ready, io.Discard, o.errs)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case err := <-done:
		return fmt.Errorf("port-forwarding to %s: %w", driver.Name, err)
	case <-ready:
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		return errors.Join(errors.New("port-forwarding started without a local port"), err)
	}
	local := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", hostForURL(o.address), ports[0].Local), Path: "/"}
	fmt.Fprintf(o.out, "Spark UI of %s (driver pod %s, port %d): %s\n", app.Name, driver.Name, remotePort, local.String())
	if addr := app.Status.DriverInfo.WebUIIngressAddress; addr != "" {
		fmt.Fprintf(o.out, "Through the Ingress: %s\n", addr)
	}
	fmt.Fprintln(o.out, "Forwarding until interrupted (Ctrl-C).")
	return <-done
}

func hostForURL(address string) string {
	if strings.Contains(address, ":") {
		return "[" + address + "]"
	}
	return address
}

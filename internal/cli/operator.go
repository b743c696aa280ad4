package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sparkplane/sparkplane/internal/controller"
	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/operator"
	"github.com/sparkplane/sparkplane/internal/submit"
)

type operatorOptions struct {
	kube                    kubeFlags
	metricsAddr             string
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	qps                     float32
	burst                   int
	verbosity               int
	workers                 int
	driverPendingTimeout    time.Duration
	ingressURLFormat        string
	pendingThreshold        time.Duration
	imagePlatformTimeout    time.Duration
	imagePlatformTTL        time.Duration
	readImagePullSecrets    bool
	pprofAddr               string
	// Zone choice of the profile resolver.
	nodesOnDemand bool
	zones         []string
	// Signals the interruption controller acts on (interruption.ParseSignals).
	interruptionSignals []string
	watchNamespaces     []string
	hub                 hubOperatorOptions
}

func newOperatorCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &operatorOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Run the sparkplane operator (every controller in one manager)",
		Long: `Operator runs sparkplane's controllers in one controller-runtime manager: native
submission and lifecycle of SparkApplications, Spot-interruption handling and
the others. It serves Prometheus metrics on --metrics-bind-address and the
/healthz and /readyz probes on --health-probe-bind-address.

By default both listen on loopback, for the local case where the operator
runs on your machine against a cluster (e.g. the local dev cluster). The
in-cluster Deployment that "sparkplane install" creates binds them on all
interfaces and turns on leader election, so several replicas may run and one
works at a time. The operator keeps all its state in the API server: it may be
killed at any moment and resumes where it stopped, never submitting an
application twice.`,
		Example: `  # Run against the current kubeconfig context
  sparkplane operator

  # Run against the local cluster, metrics on :9090
  sparkplane operator --kubeconfig "$(sparkplane dev kubeconfig)" --metrics-bind-address 127.0.0.1:9090

  # As in the cluster: on all interfaces, with leader election
  sparkplane operator --leader-elect --metrics-bind-address :8080 --health-probe-bind-address :8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.kube.complete(); err != nil {
				return err
			}
			ctx, stop := untilInterrupted(cmd.Context())
			defer stop()
			return o.run(ctx)
		},
	}
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:8080", "Address the Prometheus metrics endpoint binds to; \"0\" turns it off")
	cmd.Flags().StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Address the /healthz and /readyz probes bind to; \"0\" turns them off")
	cmd.Flags().BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader among replicas so one works at a time (the Lease "+install.LeaderElectionID+")")
	cmd.Flags().StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace in a cluster, else "+install.Namespace+")")
	cmd.Flags().DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby waits after the leader's last renewal before it takes over")
	cmd.Flags().DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it stops working (less than the lease duration)")
	cmd.Flags().DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease")
	cmd.Flags().Float32Var(&o.qps, "kube-api-qps", 500, "Queries per second the operator may send the API server (client-side limit)")
	cmd.Flags().IntVar(&o.burst, "kube-api-burst", 1000, "Burst of queries above --kube-api-qps the operator may send")
	cmd.Flags().IntVar(&o.workers, "max-concurrent-reconciles", 0, "SparkApplications reconciled at once (0: the controller's default)")
	cmd.Flags().BoolVar(&o.nodesOnDemand, "nodes-on-demand", false, "Nodes are created on demand (Karpenter): spread applications over zones instead of choosing the zone with free capacity for their executors")
	cmd.Flags().StringSliceVar(&o.zones, "zones", nil, "Zones applications may be placed in besides those of existing nodes (with --nodes-on-demand: the NodePools' zones)")
	cmd.Flags().StringSliceVar(&o.interruptionSignals, "interruption-signals", []string{"default"}, "Node signals whose executors are decommissioned: \"default\" (all of "+strings.Join(interruption.SignalNames(), ", ")+"), a list of those names, or taint:KEY[:EFFECT] for a custom taint")
	cmd.Flags().StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address Go's /debug/pprof endpoints bind to, for profiling; \"0\" (the default) turns them off")
	cmd.Flags().StringVar(&o.ingressURLFormat, "ingress-url-format", "", "Give every application's Spark UI a Service and an Ingress at this address: a host ({{$appName}}.{{$appNamespace}}.example.com) or a host and path (example.com/{{$appNamespace}}/{{$appName}}, which sets spark.ui.proxyBase and ingress-nginx's rewrite-target); empty: no Ingress")
	cmd.Flags().DurationVar(&o.driverPendingTimeout, "driver-pending-timeout", sparkapplication.DefaultDriverPendingTimeout, "Fail an attempt whose driver pod stays Pending this long (a negative value never fails it)")
	o.hub.addFlags(cmd.Flags())
	cmd.Flags().DurationVar(&o.pendingThreshold, "pending-threshold", sparkapplication.DefaultPendingThreshold, "Say why (condition ExecutorsPending, event, metric) once executors or the driver have waited this long to run")
	cmd.Flags().StringSliceVar(&o.watchNamespaces, "watch-namespaces", nil, "Namespaces whose SparkApplications and pods the operator watches (default: all); nodes and profiles are cluster-wide either way")
	cmd.Flags().DurationVar(&o.imagePlatformTimeout, "image-platform-timeout", imageplatforms.DefaultTimeout, "Longest a submission waits for an image's registry to say which platforms the image has (placement then leaves out architectures it lacks); on timeout the application is submitted with its profile's placement and condition ImagePlatformsUnknown. 0 turns the lookups off")
	cmd.Flags().DurationVar(&o.imagePlatformTTL, "image-platform-cache-ttl", imageplatforms.DefaultTTL, "How long a tag's digest is trusted before its registry is asked again; for one more TTL submissions get the old answer while it is read in the background (a digest's platforms are kept for good)")
	cmd.Flags().BoolVar(&o.readImagePullSecrets, "read-image-pull-secrets", false, "Read each application's spec.imagePullSecrets to look its images up in private registries (needs get on secrets, which the installed role does not grant; see docs/profiles.md)")
	cmd.Flags().IntVarP(&o.verbosity, "v", "v", 0, "Log verbosity (klog levels: 0 quiet, 2 per-application, 4 per-reconcile)")
	return cmd
}

func (o *operatorOptions) validate() error {
	if err := o.hub.validate(); err != nil {
		return err
	}
	if o.qps <= 0 {
		return fmt.Errorf("--kube-api-qps must be positive, got %v", o.qps)
	}
	if o.workers < 0 {
		return fmt.Errorf("--max-concurrent-reconciles must not be negative, got %d", o.workers)
	}
	if o.ingressURLFormat != "" {
		if err := submit.ValidateIngressURLFormat(o.ingressURLFormat); err != nil {
			return fmt.Errorf("--ingress-url-format: %w", err)
		}
	}
	if o.pendingThreshold <= 0 {
		return fmt.Errorf("--pending-threshold %s: give a positive duration (e.g. 60s)", o.pendingThreshold)
	}
	if o.driverPendingTimeout == 0 {
		return errors.New("--driver-pending-timeout must not be 0: give a duration (e.g. 10m), or a negative one to never fail pending drivers")
	}
	if o.retryPeriod <= 0 || float64(o.renewDeadline) <= 1.2*float64(o.retryPeriod) || o.leaseDuration <= o.renewDeadline {
		return fmt.Errorf("leader election: want --leader-elect-lease-duration (%s) > --leader-elect-renew-deadline (%s) > 1.2 × --leader-elect-retry-period (%s) > 0", o.leaseDuration, o.renewDeadline, o.retryPeriod)
	}
	if o.burst < int(o.qps) {
		return fmt.Errorf("--kube-api-burst (%d) must be at least --kube-api-qps (%v)", o.burst, o.qps)
	}
	return nil
}

func (o *operatorOptions) run(ctx context.Context) error {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", fmt.Sprint(o.verbosity))
	ctrl.SetLogger(klog.NewKlogr())
	log := ctrl.Log.WithName("operator")

	leaseNamespace := o.leaderElectionNamespace
	if leaseNamespace == "" {
		leaseNamespace = os.Getenv("POD_NAMESPACE")
	}
	if leaseNamespace == "" {
		leaseNamespace = install.Namespace
	}
	signals, err := interruption.ParseSignals(o.interruptionSignals)
	if err != nil {
		return fmt.Errorf("--interruption-signals: %w", err)
	}
	op, err := operator.New(o.kube.config, operator.Options{
		Scheme:      Scheme(),
		MetricsAddr: o.metricsAddr, ProbeAddr: o.probeAddr, PprofAddr: o.pprofAddr,
		LeaderElection: o.leaderElect, LeaderElectionID: leaderElectionID(o.hub.enabled), LeaderElectionNamespace: leaseNamespace,
		LeaseDuration: o.leaseDuration, RenewDeadline: o.renewDeadline, RetryPeriod: o.retryPeriod,
		Hub: o.hub.options(),
		QPS: o.qps, Burst: o.burst,
		WatchNamespaces: o.watchNamespaces,
		Controllers: controller.Options{
			SparkApplication: sparkapplication.Options{
				MaxConcurrentReconciles: o.workers,
				DriverPendingTimeout:    o.driverPendingTimeout,
				IngressURLFormat:        o.ingressURLFormat,
				PendingThreshold:        o.pendingThreshold,
			},
			Profiles:     sparkprofile.ResolverOptions{NodesOnDemand: o.nodesOnDemand, Zones: o.zones, Images: o.imageOptions()},
			Interruption: interruption.Options{Signals: signals},
		},
	})
	if err != nil {
		return err
	}
	log.Info("Starting operator", "apiServer", o.kube.config.Host, "controllers", op.Controllers, "metrics", o.metricsAddr,
		"probes", o.probeAddr, "leaderElection", o.leaderElect, "qps", o.qps, "burst", o.burst)
	return op.Start(ctx)
}

// imageOptions are the image platform lookups the flags ask for.
func (o *operatorOptions) imageOptions() sparkprofile.ImageOptions {
	if o.imagePlatformTimeout <= 0 {
		return sparkprofile.ImageOptions{}
	}
	return sparkprofile.ImageOptions{
		Lookup: imageplatforms.New(imageplatforms.Options{
			Timeout: o.imagePlatformTimeout, TTL: o.imagePlatformTTL, Keychain: imageplatforms.DefaultKeychain(),
		}),
		ReadPullSecrets: o.readImagePullSecrets,
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/internal/install"
)

type installOptions struct {
	kube                   kubeFlags
	image                  string
	skipOperatorDeployment bool
	wait                   bool
	timeout                time.Duration
	dryRun                 bool
	jobNamespaces          []string
	readImagePullSecrets   bool
	hub                    bool
	out                    io.Writer
}

func newInstallCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &installOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install or upgrade sparkplane's CRDs, namespace, RBAC, profiles and operator on a cluster",
		Long: `Install applies, with server-side apply, everything sparkplane needs on a cluster:
the CustomResourceDefinitions (waiting until the API server serves them), the
built-in SparkProfiles and the PriorityClasses sparkplane-driver and
sparkplane-executor they use, the ` + install.Namespace + ` namespace (Pod Security
"restricted"), the operator's least-privilege RBAC (no access to secrets), roles
that let namespace editors and viewers use SparkApplications, the admission
policy ` + install.SubmitterPolicy + ` (who creates a SparkApplication must be
allowed to create its pods and use its ServiceAccount), the metrics
Service, and the operator Deployment running this binary's own version of the
image. It then waits until the operator is available (--wait, --timeout) and,
when it is not, says why in one line: an image that cannot be pulled, a pod
that cannot be scheduled, or a crash with its last log line.

Installing again upgrades in place, CRDs included: run the new version's
install. ` + "`kubectl apply -k config/default`" + ` and the Helm chart
charts/sparkplane install the same objects. The shuffle StorageClass comes from
the platform bundle (` + "`sparkplane platform render`" + `): its provisioner is
your cluster's CSI driver. ` + "`sparkplane doctor`" + ` checks everything.`,
		Example: `  # Install (or upgrade) on the cluster of the current kubeconfig context and wait
  sparkplane install

  # Print what would be applied
  sparkplane install --dry-run

  # Run an image you pushed yourself (make image-push IMAGE=...)
  sparkplane install --image registry.example.com/sparkplane:v0.1.0 --timeout 10m

  # Install on the local cluster, where the operator runs on the host
  sparkplane install --kubeconfig "$(sparkplane dev kubeconfig)" --skip-operator-deployment
  sparkplane operator --kubeconfig "$(sparkplane dev kubeconfig)"

  # Also create the drivers' ServiceAccount in two job namespaces ahead of time
  sparkplane install --job-namespaces team-a,team-b

  # A hub for several clusters (docs/multi-cluster.md), then its members
  sparkplane install --hub --kubeconfig hub.kubeconfig
  sparkplane clusters add prod-a --kubeconfig prod-a.kubeconfig --label env=prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.validate(); err != nil {
				return err
			}
			if o.dryRun {
				return o.printObjects()
			}
			if err := o.kube.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.image, "image", install.DefaultImage(), "Operator image the Deployment runs (default: this binary's version tag)")
	cmd.Flags().BoolVar(&o.skipOperatorDeployment, "skip-operator-deployment", false, "Do not install the operator Deployment (run `sparkplane operator` elsewhere, e.g. on the host for the local cluster)")
	cmd.Flags().BoolVar(&o.wait, "wait", true, "Wait until the operator Deployment is available")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long --wait waits")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "Print the objects install would apply, as YAML, and apply nothing")
	cmd.Flags().BoolVar(&o.readImagePullSecrets, "read-image-pull-secrets", false, "Let the operator get Secrets (ClusterRole "+install.PullSecretsRole+") and read applications' imagePullSecrets, to look their images' platforms up in private registries (docs/profiles.md)")
	cmd.Flags().BoolVar(&o.hub, "hub", false, "Install a hub instead (docs/multi-cluster.md): the CRDs, built-in profiles, the "+install.HubServiceAccount+" account with the hub's RBAC (get on Secrets in "+install.Namespace+" only, for the members' kubeconfigs; nothing of Spark) and the "+install.HubDeployment+" Deployment running `operator --hub --leader-elect`")
	cmd.Flags().StringSliceVar(&o.jobNamespaces, "job-namespaces", nil, "Existing namespaces to give the drivers' ServiceAccount sparkplane-spark (with its Role and RoleBinding) now, for clusters whose policy keeps the operator from creating RBAC (docs/security.md)")
	return cmd
}

func (o *installOptions) validate() error {
	if o.image == "" {
		return errors.New("--image is empty: give an image reference, or leave the flag out for this binary's version")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
	}
	return nil
}

func (o *installOptions) objects() ([]client.Object, error) {
	return install.Objects(install.Options{Image: o.image, SkipOperatorDeployment: o.skipOperatorDeployment, JobNamespaces: o.jobNamespaces, ReadImagePullSecrets: o.readImagePullSecrets, Hub: o.hub})
}

func (o *installOptions) printObjects() error {
	objs, err := o.objects()
	if err != nil {
		return err
	}
	for _, obj := range objs {
		u, err := install.ToUnstructured(obj)
		if err != nil {
			return err
		}
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.out, "---\n%s", data)
	}
	return nil
}

func (o *installOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	objs, err := o.objects()
	if err != nil {
		return err
	}
	c, err := newClient(o.kube.config)
	if err != nil {
		return err
	}
	if err := install.CheckJobNamespaces(ctx, c, o.jobNamespaces); err != nil {
		return err
	}
	if err := install.Apply(ctx, c, objs, o.out); err != nil {
		return err
	}
	if o.skipOperatorDeployment || !o.wait {
		fmt.Fprintf(o.out, "sparkplane installed (%d objects)\n", len(objs))
		return nil
	}
	name, podLabels := install.Deployment, install.PodLabels
	if o.hub {
		name, podLabels = install.HubDeployment, install.HubPodLabels
	}
	fmt.Fprintf(o.out, "waiting up to %s for deployment %s/%s to be available\n", o.timeout, install.Namespace, name)
	cs, err := kubernetes.NewForConfig(o.kube.config)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := install.WaitDeploymentAvailable(ctx, c, install.PodLogs(cs), install.Namespace, name, podLabels, o.timeout); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "sparkplane installed (%d objects); operator %s available after %s\n", len(objs), o.image, time.Since(start).Round(time.Second))
	return nil
}

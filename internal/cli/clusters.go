package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
)

// clustersManagedLabel marks the kubeconfig Secrets `clusters add` writes,
// so `clusters remove` deletes only what add made.
const clustersManagedLabel = "sparkplane.io/member-kubeconfig"

func newClustersCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "clusters",
		Aliases: []string{"cluster", "members"},
		Short:   "Manage the member clusters of a hub (sparkplane operator --hub)",
		Long: `Clusters manages the MemberClusters of a hub: the clusters the hub operator
places SparkApplications on. Run these against the hub (--kubeconfig/--context
name the hub; for "add", --kubeconfig names the member's file and
--hub-kubeconfig the hub's).`,
	}
	cmd.AddCommand(newClustersAddCommand(), newClustersListCommand(kube),
		newClustersDrainCommand(kube, true), newClustersDrainCommand(kube, false), newClustersRemoveCommand(kube))
	return cmd
}

type clustersAddOptions struct {
	hub           kubeFlags
	hubKubeconfig string
	hubContext    string
	name          string
	kubeconfig    string
	memberContext string
	labels        []string
	weight        int32
	noVerify      bool

	parsedLabels   map[string]string
	kubeconfigData []byte
}

func newClustersAddCommand() *cobra.Command {
	o := &clustersAddOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME --kubeconfig FILE [--label k=v]...",
		Short: "Register a member cluster with the hub",
		Long: `Add stores the member's kubeconfig (its context flattened, certificates
embedded) in a Secret in the ` + install.Namespace + ` namespace of the hub and creates
a MemberCluster NAME pointing at it, with the given labels (selected by an
application's spec.clusterSelector) and weight. The member must answer before
anything is written, unless --no-verify.`,
		Example: `  # Two local members (sparkplane dev up --name a / --name b) on a local hub
  sparkplane clusters add a --kubeconfig "$(sparkplane dev kubeconfig --name a)" \
    --hub-kubeconfig "$(sparkplane dev kubeconfig --name hub)" --label env=prod --label region=a`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			// The hub is named by --hub-kubeconfig/--hub-context here:
			// --kubeconfig is the member's.
			o.hub = kubeFlagsFor(o.hubKubeconfig)
			o.hub.flags.Context = &o.hubContext
			if err := o.hub.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "The member's kubeconfig file (required)")
	cmd.Flags().StringVar(&o.memberContext, "member-context", "", "Context of the member's kubeconfig to use (default: its current context)")
	cmd.Flags().StringVar(&o.hubKubeconfig, "hub-kubeconfig", "", "The hub's kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	cmd.Flags().StringVar(&o.hubContext, "hub-context", "", "Context of the hub's kubeconfig to use")
	cmd.Flags().StringArrayVar(&o.labels, "label", nil, "A label k=v of the member (repeatable), e.g. --label env=prod")
	cmd.Flags().Int32Var(&o.weight, "weight", 100, "Weight among otherwise equal members (0 to 10000, higher first)")
	cmd.Flags().BoolVar(&o.noVerify, "no-verify", false, "Do not check that the member answers before adding it")
	_ = cmd.MarkFlagRequired("kubeconfig")
	return cmd
}

func (o *clustersAddOptions) validate() error {
	if errs := validation.IsDNS1123Label(o.name); len(errs) > 0 {
		return fmt.Errorf("cluster name %q: %s", o.name, strings.Join(errs, "; "))
	}
	if o.weight < 0 || o.weight > 10000 {
		return fmt.Errorf("--weight must be between 0 and 10000, got %d", o.weight)
	}
	o.parsedLabels = map[string]string{}
	for _, l := range o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("--label %q: write it as key=value (e.g. env=prod)", l)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("--label %q: key: %s", l, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("--label %q: value: %s", l, strings.Join(errs, "; "))
		}
		o.parsedLabels[k] = v
	}
	raw, err := clientcmd.LoadFromFile(o.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
	}
	if o.memberContext != "" {
		if _, ok := raw.Contexts[o.memberContext]; !ok {
			return fmt.Errorf("--member-context %q is not in %s", o.memberContext, o.kubeconfig)
		}
		raw.CurrentContext = o.memberContext
	}
	if raw.CurrentContext == "" {
		return fmt.Errorf("--kubeconfig %s has no current context: pass --member-context", o.kubeconfig)
	}
	if err := clientcmdapi.MinifyConfig(raw); err != nil {
		return fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
	}
	if err := clientcmdapi.FlattenConfig(raw); err != nil {
		return fmt.Errorf("--kubeconfig %s: embedding its files: %w", o.kubeconfig, err)
	}
	o.kubeconfigData, err = clientcmd.Write(*raw)
	return err
}

func (o *clustersAddOptions) run(ctx context.Context, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !o.noVerify {
		cfg, err := clientcmd.RESTConfigFromKubeConfig(o.kubeconfigData)
		if err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
		}
		cfg.Timeout = 5 * time.Second
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return err
		}
		if _, err := dc.ServerVersion(); err != nil {
			return fmt.Errorf("member %s does not answer at %s: %w (start it, or pass --no-verify to add it anyway)", o.name, cfg.Host, err)
		}
	}
	c, err := newClient(o.hub.config)
	if err != nil {
		return err
	}
	existing := &v1alpha1.MemberCluster{}
	if err := c.Get(ctx, client.ObjectKey{Name: o.name}, existing); err == nil {
		return fmt.Errorf("member cluster %s already exists: remove it first (sparkplane clusters remove %s)", o.name, o.name)
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: install.Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s on the hub: %w", install.Namespace, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: install.Namespace, Name: "member-" + o.name, Labels: map[string]string{clustersManagedLabel: o.name}},
		Data:       map[string][]byte{v1alpha1.DefaultKubeconfigKey: o.kubeconfigData},
	}
	if err := c.Create(ctx, secret); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("storing the member's kubeconfig: %w", err)
		}
		if err := c.Update(ctx, secret); err != nil {
			return fmt.Errorf("storing the member's kubeconfig: %w", err)
		}
	}
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: o.name, Labels: o.parsedLabels},
		Spec: v1alpha1.MemberClusterSpec{
			KubeconfigSecretRef: v1alpha1.SecretKeyReference{Namespace: install.Namespace, Name: secret.Name, Key: v1alpha1.DefaultKubeconfigKey},
			Weight:              o.weight,
		},
	}
	if err := c.Create(ctx, mc); err != nil {
		_ = c.Delete(ctx, secret) // leave nothing behind
		return fmt.Errorf("creating member cluster %s: %w", o.name, err)
	}
	fmt.Fprintf(out, "membercluster.%s/%s added\n", v1alpha1.GroupVersion.Group, o.name)
	return nil
}

type clustersListOptions struct {
	kube   kubeFlags
	output string
}

func newClustersListCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &clustersListOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the member clusters with their state, heartbeat age, free capacity and applications",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "" && o.output != outputJSON && o.output != outputYAML {
				return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", o.output)
			}
			ctx, c, err := connectHub(cmd, &o.kube)
			if err != nil {
				return err
			}
			list := &v1alpha1.MemberClusterList{}
			if err := c.List(ctx, list); err != nil {
				return err
			}
			return printMembers(cmd.OutOrStdout(), list.Items, o.output, time.Now())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json|yaml (default: a table)")
	return cmd
}

// printMembers writes members as a table (or a List in json or yaml).
func printMembers(w io.Writer, members []v1alpha1.MemberCluster, format string, now time.Time) error {
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	if format == outputJSON || format == outputYAML {
		items := make([]*v1alpha1.MemberCluster, len(members))
		for i := range members {
			m := members[i].DeepCopy()
			m.APIVersion, m.Kind, m.ManagedFields = v1alpha1.GroupVersion.String(), "MemberCluster", nil
			items[i] = m
		}
		doc := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items}
		var data []byte
		var err error
		if format == outputJSON {
			data, err = json.MarshalIndent(doc, "", "    ")
			data = append(data, '\n')
		} else {
			data, err = yaml.Marshal(doc)
		}
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tHEARTBEAT\tFREE CPU\tFREE MEMORY\tRUNNING\tPLACED\tPENDING DRIVERS\tOPERATOR\tWEIGHT\tLABELS")
	for _, m := range members {
		heartbeat := "<never>"
		if m.Status.LastHeartbeatTime != nil {
			heartbeat = age(*m.Status.LastHeartbeatTime, now) + " ago"
		}
		cpu, memory := freeOf(m.Status.Capacity.Tiers)
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
			labels = append(labels, k+"="+m.Labels[k])
		}
		state := string(m.Status.State)
		if state == "" {
			state = "Unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", m.Name, state, heartbeat, cpu, memory,
			m.Status.Capacity.RunningApplications, m.Status.Capacity.PlacedApplications, m.Status.Capacity.PendingDrivers,
			orUnknownVersion(m.Status.Capacity.OperatorVersion), m.Spec.Weight, orNone(strings.Join(labels, ",")))
	}
	return tw.Flush()
}

func orUnknownVersion(v string) string {
	if v == "" {
		return "<unknown>"
	}
	return v
}

// freeOf sums the free capacity over a member's tiers; "unlimited" when a
// tier sets no limit or the member reports no NodePools.
func freeOf(tiers []v1alpha1.TierCapacity) (cpu, memory string) {
	if len(tiers) == 0 {
		return "unlimited", "unlimited"
	}
	var cpuTotal, memTotal resource.Quantity
	cpuLimited, memLimited := true, true
	for _, t := range tiers {
		if t.CPU == nil {
			cpuLimited = false
		} else {
			cpuTotal.Add(*t.CPU)
		}
		if t.Memory == nil {
			memLimited = false
		} else {
			memTotal.Add(*t.Memory)
		}
	}
	cpu, memory = "unlimited", "unlimited"
	if cpuLimited {
		cpu = cpuTotal.String()
	}
	if memLimited {
		memory = memTotal.String()
	}
	return cpu, memory
}

func newClustersDrainCommand(configFlags *genericclioptions.ConfigFlags, drain bool) *cobra.Command {
	kube := kubeFlags{flags: configFlags}
	use, short, done := "drain NAME", "Stop placing new applications on a member (placed ones run to their end)", "drained"
	if !drain {
		use, short, done = "uncordon NAME", "Let the hub place new applications on a drained member again", "uncordoned"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, c, err := connectHub(cmd, &kube)
			if err != nil {
				return err
			}
			mc := &v1alpha1.MemberCluster{}
			if err := c.Get(ctx, client.ObjectKey{Name: args[0]}, mc); err != nil {
				return memberNotFound(err, args[0])
			}
			base := mc.DeepCopy()
			mc.Spec.Draining = drain
			if err := c.Patch(ctx, mc, client.MergeFrom(base)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "membercluster.%s/%s %s\n", v1alpha1.GroupVersion.Group, args[0], done)
			return nil
		},
	}
	return cmd
}

// connectHub completes the hub's connection flags and returns the
// command's context and a hub client.
func connectHub(cmd *cobra.Command, kube *kubeFlags) (context.Context, client.Client, error) {
	if err := kube.complete(); err != nil {
		return nil, nil, err
	}
	c, err := newClient(kube.config)
	if err != nil {
		return nil, nil, err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return ctx, c, nil
}

func memberNotFound(err error, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("member cluster %s not found (sparkplane clusters list shows them)", name)
	}
	return err
}

func newClustersRemoveCommand(configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	kube := kubeFlags{flags: configFlags}
	var force bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a member cluster (refused while applications are placed there, unless --force)",
		Long: `Remove deletes the MemberCluster and the kubeconfig Secret "clusters add" made
for it. While unfinished applications are placed on the member it refuses,
unless --force: the hub then treats those applications as on a Lost member
(never started: placed elsewhere; possibly started: ClusterLost and
spec.restartPolicy). Drain the member first to let them finish.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, c, err := connectHub(cmd, &kube)
			if err != nil {
				return err
			}
			name := args[0]
			mc := &v1alpha1.MemberCluster{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, mc); err != nil {
				return memberNotFound(err, name)
			}
			apps := &v1alpha1.SparkApplicationList{}
			if err := c.List(ctx, apps); err != nil {
				return err
			}
			var placed []string
			for _, app := range apps.Items {
				if p := app.Status.Placement; p != nil && p.Cluster == name && !app.Status.State.IsTerminal() {
					placed = append(placed, app.Namespace+"/"+app.Name)
				}
			}
			if len(placed) > 0 && !force {
				shown := placed
				if len(shown) > 5 {
					shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(placed)-5))
				}
				return fmt.Errorf("%d unfinished applications are placed on %s (%s): drain it (sparkplane clusters drain %s) and wait, or pass --force to move them", len(placed), name, strings.Join(shown, ", "), name)
			}
			if err := c.Delete(ctx, mc); client.IgnoreNotFound(err) != nil {
				return err
			}
			ref := mc.Spec.KubeconfigSecretRef
			secret := &corev1.Secret{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err == nil && secret.Labels[clustersManagedLabel] == name {
				if err := c.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
					return err
				}
			} else if err != nil && !apierrors.IsNotFound(err) {
				return errors.Join(fmt.Errorf("member cluster %s removed, but its Secret %s/%s was not", name, ref.Namespace, ref.Name), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "membercluster.%s/%s removed\n", v1alpha1.GroupVersion.Group, name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "Remove even while applications are placed there (the hub moves them as from a Lost member)")
	return cmd
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

type explainOptions struct {
	kube   kubeFlags
	output string
	name   string

	client client.Client
	out    io.Writer
}

func newExplainCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &explainOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "explain NAME",
		Short: "Show every effective setting of a SparkApplication, where it came from, its zone and its pods' placement",
		Long: `Explain resolves a SparkApplication against its SparkProfile as the operator
does and prints every effective setting with its source (the application,
profile X at generation N, or the built-in default), the zone the application
is pinned to and why, and the placement of its driver and executor pods as the
scheduler sees it: required and preferred node affinity, node selector,
tolerations, priority class and grace period. Once the application is
submitted, placement is read from the driver pod and the executor pod template
the operator wrote.

Run it first when a job lands somewhere unexpected.`,
		Example: `  # Where will spark-pi's executors go, and why?
  sparkplane explain spark-pi

  # The same as JSON
  sparkplane explain spark-pi -n spark -o json`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.complete(args); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json (default: text)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputJSON}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *explainOptions) complete(args []string) error {
	if len(args) != 1 {
		return errors.New("you must specify exactly one SparkApplication name; use \"sparkplane list\" to see them all")
	}
	o.name = args[0]
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *explainOptions) validate() error {
	if o.output != "" && o.output != outputJSON {
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json", o.output)
	}
	return nil
}

// Explanation is what explain prints; -o json prints it as is.
type Explanation struct {
	Namespace   string `json:"namespace"`
	Application string `json:"application"`
	// Profile is the profile resolved from now, ProfileVia how it was picked.
	Profile    *v1alpha1.ProfileReference `json:"profile,omitempty"`
	ProfileVia string                     `json:"profileVia,omitempty"`
	// Recorded is the profile the current attempt was submitted with
	// (status.profile), when it was.
	Recorded   *v1alpha1.ProfileReference `json:"recordedProfile,omitempty"`
	Zone       string                     `json:"zone,omitempty"`
	ZoneReason string                     `json:"zoneReason"`
	// Resolved says what the operator decided at the current attempt's
	// submission: the profile, zone and reason (status.resolution).
	Resolved string `json:"resolvedAtSubmission,omitempty"`
	// Resolution is status.resolution as the operator wrote it.
	Resolution *v1alpha1.Resolution `json:"resolution,omitempty"`
	Warnings   []string             `json:"warnings,omitempty"`
	// Images are the driver's and executors' images with the platforms
	// their registry gives now; ExcludedTiers the executor tiers left out
	// for an architecture the executor image lacks.
	Images        []v1alpha1.ImagePlatforms `json:"images,omitempty"`
	ExcludedTiers []string                  `json:"excludedTiers,omitempty"`
	Settings      []profile.Setting         `json:"settings"`
	Driver        profile.Placement         `json:"driver"`
	Executor      profile.Placement         `json:"executor"`
}

func (o *explainOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns := o.kube.namespaceInUse
	app := &v1alpha1.SparkApplication{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.name}, app); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %q not found in namespace %q; use \"sparkplane list\" to see the applications there", resourceName, o.name, ns)
		}
		return err
	}
	ex, err := o.explain(ctx, app)
	if err != nil {
		return err
	}
	if o.output == outputJSON {
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(ex)
	}
	return writeExplanation(o.out, ex)
}

// explain resolves app as the operator does and reads its pods' placement.
func (o *explainOptions) explain(ctx context.Context, app *v1alpha1.SparkApplication) (*Explanation, error) {
	ex := &Explanation{Namespace: app.Namespace, Application: app.Name, Recorded: app.Status.Profile}

	// The resolver's own input: the recorded zone is kept, as the operator
	// keeps it; before submission the zone is the one an operator would
	// pick now (nodes on demand when Karpenter's NodePools exist).
	opts := sparkprofile.GuessOptions(ctx, o.client)
	// The images' platforms, read as the operator reads them, with the
	// user's own credentials (docker config, AWS) and, where the user may
	// read them, the application's pull secrets.
	opts.Images = sparkprofile.ImageOptions{
		Lookup:  imageplatforms.New(imageplatforms.Options{Keychain: imageplatforms.DefaultKeychain()}),
		Secrets: o.client,
	}
	in, err := sparkprofile.Input(ctx, o.client, sparkprofile.APIView{Reader: o.client}, opts, app)
	if err != nil {
		return nil, fmt.Errorf("reading what %s/%s resolves against: %w", app.Namespace, app.Name, err)
	}
	res, err := profile.Resolve(in)
	if err != nil {
		return nil, fmt.Errorf("resolving %s/%s: %w", app.Namespace, app.Name, err)
	}
	ex.Profile, ex.ProfileVia = res.Profile, res.ProfileVia
	ex.Zone, ex.ZoneReason, ex.Settings = res.Zone, res.ZoneReason, res.Settings
	ex.Warnings = append(ex.Warnings, res.Warnings...)
	ex.Images, ex.ExcludedTiers = res.Images, res.ExcludedTiers
	if rec := app.Status.Resolution; rec != nil {
		for _, was := range rec.Images {
			for _, now := range res.Images {
				if was.Image == now.Image && was.Digest != "" && now.Digest != "" && was.Digest != now.Digest {
					ex.Warnings = append(ex.Warnings, fmt.Sprintf("image %s was %s at submission and is %s now; the pods keep the placement of the digest they were submitted with", now.Image, was.Digest, now.Digest))
				}
			}
		}
	}
	if rec, now := app.Status.Profile, res.Profile; rec != nil && (now == nil || rec.Name != now.Name || rec.Generation != now.Generation) {
		current := "no profile"
		if now != nil {
			current = fmt.Sprintf("profile %s at generation %d", now.Name, now.Generation)
		}
		ex.Warnings = append(ex.Warnings, fmt.Sprintf(
			"the current attempt was submitted with profile %s at generation %d and keeps what it got then; the settings below are from %s, the placement from the pods themselves",
			rec.Name, rec.Generation, current))
	}

	if r := app.Status.Resolution; r != nil {
		ex.Resolution = r
		ex.Resolved = profile.ResolutionNote(app.Status.Profile, r, app.Name)
	}
	ex.Driver = profile.EffectivePlacement(res.Application, "driver")
	ex.Executor = profile.EffectivePlacement(res.Application, "executor")
	if app.Status.Attempts > 0 {
		if err := o.submittedPlacement(ctx, app, ex); err != nil {
			ex.Warnings = append(ex.Warnings, err.Error())
		}
	}
	return ex, nil
}

// submittedPlacement reads the placement from the driver pod and the
// executor pod template of the current attempt.
func (o *explainOptions) submittedPlacement(ctx context.Context, app *v1alpha1.SparkApplication, ex *Explanation) error {
	names := submit.NamesFor(app, app.Status.Attempts)
	driverName := app.Status.DriverInfo.PodName
	if driverName == "" {
		driverName = names.DriverPod
	}
	driver := &corev1.Pod{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: driverName}, driver); err == nil {
		ex.Driver = profile.PlacementOf("driver pod "+driver.Name, driver.Annotations, driver.Spec)
		if driver.Spec.NodeName != "" {
			node := &corev1.Node{}
			if err := o.client.Get(ctx, client.ObjectKey{Name: driver.Spec.NodeName}, node); err == nil {
				ex.Driver.NodeLabels = placementLabels(node.Labels)
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading driver pod %s: %v", driverName, err)
	}
	cm := &corev1.ConfigMap{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: names.PodTemplateConfigMap}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading executor pod template %s: %v", names.PodTemplateConfigMap, err)
	}
	template := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(cm.Data[submit.PodTemplateKey]), template); err != nil {
		return fmt.Errorf("decoding executor pod template in ConfigMap %s: %v", cm.Name, err)
	}
	ex.Executor = profile.PlacementOf("executor pod template in ConfigMap "+cm.Name, template.Annotations, template.Spec)
	return nil
}

// placementLabels keeps the node labels placement is about.
func placementLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{corev1.LabelTopologyZone, corev1.LabelArchStable, karpv1.CapacityTypeLabelKey, karpv1.NodePoolLabelKey, v1alpha1.LabelNodeRole, corev1.LabelInstanceTypeStable} {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

func writeExplanation(w io.Writer, ex *Explanation) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Application:\t%s/%s\n", ex.Namespace, ex.Application)
	switch {
	case ex.Profile != nil:
		fmt.Fprintf(tw, "Profile:\t%s at generation %d (by %s)\n", ex.Profile.Name, ex.Profile.Generation, ex.ProfileVia)
	default:
		fmt.Fprintf(tw, "Profile:\tnone: built-in defaults only (no spec.profile, no namespace default, no cluster default)\n")
	}
	if ex.Recorded != nil {
		fmt.Fprintf(tw, "Submitted with:\t%s at generation %d\n", ex.Recorded.Name, ex.Recorded.Generation)
	}
	zone := ex.Zone
	if zone == "" {
		zone = "(none)"
	}
	fmt.Fprintf(tw, "Zone:\t%s\n", zone)
	fmt.Fprintf(tw, "  why:\t%s\n", ex.ZoneReason)
	if ex.Resolved != "" {
		fmt.Fprintf(tw, "At submission:\t%s\n", ex.Resolved)
	}
	writeImages(tw, ex)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warning := range ex.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warning)
	}

	fmt.Fprintln(w, "\nSettings:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  FIELD\tVALUE\tSOURCE")
	for _, s := range ex.Settings {
		source := s.Source.String()
		if s.Policy != "" {
			source += " (" + s.Policy + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Field, s.Value, source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writePlacement(w, "Driver", ex.Driver)
	writePlacement(w, "Executors", ex.Executor)
	return nil
}

func writePlacement(w io.Writer, title string, p profile.Placement) {
	fmt.Fprintf(w, "\n%s placement (%s):\n", title, p.Source)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	list := func(label string, items []string) {
		if len(items) == 0 {
			fmt.Fprintf(tw, "  %s:\t(none)\n", label)
			return
		}
		for i, item := range items {
			if i == 0 {
				fmt.Fprintf(tw, "  %s:\t%s\n", label, item)
			} else {
				fmt.Fprintf(tw, "  \t%s\n", item)
			}
		}
	}
	required := p.Required
	if len(required) > 1 {
		required = make([]string, len(p.Required))
		for i, t := range p.Required {
			required[i] = fmt.Sprintf("term %d (any one term must match): %s", i, t)
		}
	}
	list("required", required)
	list("preferred", p.Preferred)
	var selector []string
	for _, k := range sortedMapKeys(p.NodeSelector) {
		selector = append(selector, k+"="+p.NodeSelector[k])
	}
	list("node selector", selector)
	list("tolerations", p.Tolerations)
	priority := p.PriorityClassName
	if priority == "" {
		priority = "(none)"
	}
	fmt.Fprintf(tw, "  priority class:\t%s\n", priority)
	if p.TerminationGracePeriodSeconds != nil {
		fmt.Fprintf(tw, "  termination grace:\t%ds\n", *p.TerminationGracePeriodSeconds)
	}
	if p.DoNotDisrupt {
		fmt.Fprintf(tw, "  karpenter:\tdo-not-disrupt\n")
	}
	if p.Node != "" {
		var labels []string
		for _, k := range sortedMapKeys(p.NodeLabels) {
			labels = append(labels, k+"="+p.NodeLabels[k])
		}
		fmt.Fprintf(tw, "  running on:\t%s %s\n", p.Node, strings.Join(labels, " "))
	}
	_ = tw.Flush()
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeImages prints each image with the platforms its registry gave and
// the executor tiers its architectures rule out.
func writeImages(tw io.Writer, ex *Explanation) {
	for _, img := range ex.Images {
		fmt.Fprintf(tw, "Image (%s):\t%s\n", strings.Join(img.Roles, ", "), img.Image)
		if img.UnknownReason != "" {
			fmt.Fprintf(tw, "  platforms:\tunknown (%s): %s; placement is the profile's unchanged\n", img.UnknownReason, img.Message)
			continue
		}
		fmt.Fprintf(tw, "  digest:\t%s\n", img.Digest)
		fmt.Fprintf(tw, "  platforms:\t%s\n", strings.Join(img.Platforms, " "))
	}
	if len(ex.ExcludedTiers) > 0 {
		fmt.Fprintf(tw, "Tiers left out:\t%s (the executor image lacks their architecture)\n", strings.Join(ex.ExcludedTiers, ", "))
	}
}

package cli

import (
	"context"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Labels Spark puts on the pods of an application (spark-submit's contract,
// which sparkplane's native submission keeps).
const (
	// describePodLimit bounds the pods describe lists: an application may
	// have thousands of executors.
	describePodLimit = 20
)

type describeOptions struct {
	kube  kubeFlags
	names []string

	client client.Client
	out    io.Writer
	errs   io.Writer
}

func newDescribeCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &describeOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "describe NAME [NAME...]",
		Short: "Show a SparkApplication in detail: spec summary, status, conditions, pods and events",
		Long: `Describe prints what you need to understand an application: what it runs, its
state, attempts and times, the driver pod and web UI, executor counts, every
condition with its reason and message, the application's pods (the first
` + fmt.Sprint(describePodLimit) + `, driver first) and the events recorded about it.`,
		Example: `  # Why is my application still pending?
  sparkplane describe spark-pi

  # In another namespace
  sparkplane describe spark-pi -n spark`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE:              runE(o),
	}
	return cmd
}

func (o *describeOptions) complete(cmd *cobra.Command, args []string) error {
	o.out, o.errs, o.names = cmd.OutOrStdout(), cmd.ErrOrStderr(), args
	if len(o.names) == 0 {
		return nil // validate says what is missing
	}
	if err := o.kube.complete(); err != nil {
		return err
	}
	var err error
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *describeOptions) validate() error {
	if len(o.names) == 0 {
		return errors.New("you must specify the name of a SparkApplication; use \"sparkplane list\" to see them all")
	}
	return nil
}

func (o *describeOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var failures []error
	for i, name := range o.names {
		if i > 0 {
			fmt.Fprintln(o.out)
		}
		if err := o.describeOne(ctx, name); err != nil {
			failures = append(failures, err)
		}
	}
	return reportFailures(o.errs, failures)
}

func (o *describeOptions) describeOne(ctx context.Context, name string) error {
	app := &v1alpha1.SparkApplication{}
	if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name}, app); err != nil {
		return err
	}
	pods, more, err := o.pods(ctx, app)
	if err != nil {
		return fmt.Errorf("listing the pods of %s: %w", name, err)
	}
	events := &corev1.EventList{}
	if err := o.client.List(ctx, events, client.InNamespace(app.Namespace), client.MatchingFields{"involvedObject.uid": string(app.UID)}); err != nil {
		return fmt.Errorf("listing the events of %s: %w", name, err)
	}
	return writeDescription(o.out, app, pods, more, events.Items, time.Now())
}

// pods returns the driver pod and up to describePodLimit of the
// application's pods, and whether more exist.
func (o *describeOptions) pods(ctx context.Context, app *v1alpha1.SparkApplication) ([]corev1.Pod, bool, error) {
	var pods []corev1.Pod
	if id := app.Status.SparkApplicationID; id != "" {
		list := &corev1.PodList{}
		if err := o.client.List(ctx, list, client.InNamespace(app.Namespace), client.MatchingLabels{spark.LabelAppSelector: id}, client.Limit(describePodLimit)); err != nil {
			return nil, false, err
		}
		pods = list.Items
		more := list.Continue != ""
		if driver := app.Status.DriverInfo.PodName; driver != "" && !containsPod(pods, driver) {
			pod := corev1.Pod{}
			if err := o.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: driver}, &pod); err == nil {
				pods = append(pods, pod)
			}
		}
		return pods, more, nil
	}
	if driver := app.Status.DriverInfo.PodName; driver != "" {
		pod := corev1.Pod{}
		if err := o.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: driver}, &pod); err == nil {
			pods = append(pods, pod)
		}
	}
	return pods, false, nil
}

func containsPod(pods []corev1.Pod, name string) bool {
	for _, p := range pods {
		if p.Name == name {
			return true
		}
	}
	return false
}

// writeDescription renders describe's text, kubectl describe style: aligned
// "Key:  value" lines, sections indented by two spaces.
func writeDescription(w io.Writer, app *v1alpha1.SparkApplication, pods []corev1.Pod, morePods bool, events []corev1.Event, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	line := func(indent int, key string, value any) {
		fmt.Fprintf(tw, "%s%s:\t%v\n", strings.Repeat("  ", indent), key, value)
	}
	str := func(p *string) string {
		if p == nil || *p == "" {
			return "<none>"
		}
		return *p
	}
	line(0, "Name", app.Name)
	line(0, "Namespace", app.Namespace)
	line(0, "Labels", mapLine(app.Labels))
	line(0, "Annotations", mapLine(withoutLastApplied(app.Annotations)))
	line(0, "Created", app.CreationTimestamp.UTC().Format(time.RFC1123Z))
	line(0, "Type", app.Spec.Type)
	line(0, "Spark Version", app.Spec.SparkVersion)
	line(0, "Image", str(app.Spec.Image))
	if app.Spec.MainClass != nil {
		line(0, "Main Class", *app.Spec.MainClass)
	}
	line(0, "Main Application File", str(app.Spec.MainApplicationFile))
	if len(app.Spec.Arguments) > 0 {
		line(0, "Arguments", strings.Join(app.Spec.Arguments, " "))
	}
	line(0, "Profile", orNone(profileOf(app)))
	restart := string(app.Spec.RestartPolicy.Type)
	line(0, "Restart Policy", orNone(restart))
	line(0, "State", stateOf(app))
	line(0, "Spark Application ID", orNone(app.Status.SparkApplicationID))
	line(0, "Attempts", app.Status.Attempts)
	line(0, "Submission Attempts", app.Status.SubmissionAttempts)
	line(0, "Start Time", timeLine(app.Status.StartTime))
	line(0, "Termination Time", timeLine(app.Status.TerminationTime))
	fmt.Fprintln(tw, "Driver:")
	line(1, "Pod", orNone(app.Status.DriverInfo.PodName))
	line(1, "Web UI Service", orNone(app.Status.DriverInfo.WebUIServiceName))
	if app.Status.DriverInfo.WebUIAddress != "" {
		line(1, "Web UI", app.Status.DriverInfo.WebUIAddress)
	}
	if app.Status.Zone != "" {
		line(1, "Zone", app.Status.Zone)
	}
	c := app.Status.Executors
	fmt.Fprintln(tw, "Executors:")
	line(1, "Pending", c.Pending)
	line(1, "Running", c.Running)
	line(1, "Succeeded", c.Succeeded)
	line(1, "Failed", c.Failed)
	if p := app.Status.ExecutorsPending; p != nil {
		line(1, "Waiting", fmt.Sprintf("%d since %s (%s)", p.Count, p.Since.UTC().Format(time.RFC1123Z), p.Reason))
		line(1, "Why", p.Cause)
		if p.Message != "" && p.Message != p.Cause {
			line(1, "Message", p.Message)
		}
		pods := strings.Join(p.Pods, ", ")
		if more := int(p.Count) - len(p.Pods); more > 0 {
			pods += fmt.Sprintf(" and %d more", more)
		}
		line(1, "Waiting Pods", pods)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "Conditions:")
	if len(app.Status.Conditions) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		ct := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(ct, "  Type\tStatus\tReason\tAge\tMessage")
		fmt.Fprintln(ct, "  ----\t------\t------\t---\t-------")
		for _, cond := range app.Status.Conditions {
			fmt.Fprintf(ct, "  %s\t%s\t%s\t%s\t%s\n", cond.Type, cond.Status, cond.Reason, age(cond.LastTransitionTime, now), cond.Message)
		}
		if err := ct.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "Pods:")
	if len(pods) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		sort.SliceStable(pods, func(i, j int) bool {
			ri, rj := pods[i].Labels[spark.LabelRole] == "driver", pods[j].Labels[spark.LabelRole] == "driver"
			if ri != rj {
				return ri
			}
			return pods[i].Name < pods[j].Name
		})
		pt := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(pt, "  Name\tRole\tPhase\tNode\tAge")
		fmt.Fprintln(pt, "  ----\t----\t-----\t----\t---")
		for _, p := range pods {
			fmt.Fprintf(pt, "  %s\t%s\t%s\t%s\t%s\n", p.Name, orNone(p.Labels[spark.LabelRole]), p.Status.Phase, orNone(p.Spec.NodeName), age(p.CreationTimestamp, now))
		}
		if err := pt.Flush(); err != nil {
			return err
		}
		if morePods {
			fmt.Fprintf(w, "  (first %d pods shown; list them all with: kubectl get pods -n %s -l %s=%s)\n", describePodLimit, app.Namespace, spark.LabelAppSelector, app.Status.SparkApplicationID)
		}
	}

	fmt.Fprintln(w, "Events:")
	if len(events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return nil
	}
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	et := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(et, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(et, "  ----\t------\t---\t----\t-------")
	for _, e := range events {
		ageText := age(metav1.NewTime(eventTime(e)), now)
		if e.Count > 1 {
			ageText = fmt.Sprintf("%s (x%d)", ageText, e.Count)
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		fmt.Fprintf(et, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, ageText, orNone(from), strings.TrimSpace(e.Message))
	}
	return et.Flush()
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func mapLine(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

func withoutLastApplied(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != corev1.LastAppliedConfigAnnotation {
			out[k] = v
		}
	}
	return out
}

func timeLine(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC1123Z)
}

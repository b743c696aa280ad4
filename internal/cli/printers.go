package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Output formats of get and list, as kubectl spells them.
const (
	outputTable = ""
	outputWide  = "wide"
	outputJSON  = "json"
	outputYAML  = "yaml"
	outputName  = "name"
)

var outputFormats = []string{outputJSON, outputYAML, outputWide, outputName}

// printFlags is -o/--output.
type printFlags struct {
	output string
}

func (p *printFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&p.output, "output", "o", "", "Output format: one of "+strings.Join(outputFormats, "|")+" (default: a table)")
}

func (p *printFlags) validate() error {
	if p.output == outputTable {
		return nil
	}
	for _, f := range outputFormats {
		if p.output == f {
			return nil
		}
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", p.output, strings.Join(outputFormats, ","))
}

// resourceName is how kubectl names the kind in messages:
// sparkapplication.sparkplane.io.
var resourceName = "sparkapplication." + v1alpha1.GroupVersion.Group

// forOutput prepares an application for -o json|yaml: apiVersion and kind
// set (a typed client clears them), managed fields left out as kubectl does.
func forOutput(app *v1alpha1.SparkApplication) *v1alpha1.SparkApplication {
	out := app.DeepCopy()
	out.APIVersion = v1alpha1.GroupVersion.String()
	out.Kind = "SparkApplication"
	out.ManagedFields = nil
	return out
}

// printApplications writes apps in the chosen format. single is true for
// `get NAME`: json and yaml then print the object, not a List.
func printApplications(w io.Writer, apps []v1alpha1.SparkApplication, format string, withNamespace, single bool, now time.Time) error {
	switch format {
	case outputJSON, outputYAML:
		var doc any
		if single && len(apps) == 1 {
			doc = forOutput(&apps[0])
		} else {
			items := make([]*v1alpha1.SparkApplication, len(apps))
			for i := range apps {
				items[i] = forOutput(&apps[i])
			}
			doc = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items}
		}
		if format == outputJSON {
			data, err := json.MarshalIndent(doc, "", "    ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", data)
			return err
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case outputName:
		for _, app := range apps {
			fmt.Fprintf(w, "%s/%s\n", resourceName, app.Name)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := []string{"NAME", "STATE", "ATTEMPTS", "EXECUTORS", "AGE"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if format == outputWide {
		header = append(header, "TYPE", "PROFILE", "DRIVER", "APP-ID")
	}
	// On a hub, the member each application is placed on.
	placed := slices.ContainsFunc(apps, func(a v1alpha1.SparkApplication) bool { return a.Status.Placement != nil })
	if placed {
		header = append(header, "CLUSTER")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, app := range apps {
		row := []string{app.Name, stateOf(&app), fmt.Sprint(app.Status.Attempts), executorSummary(&app), age(app.CreationTimestamp, now)}
		if withNamespace {
			row = append([]string{app.Namespace}, row...)
		}
		if format == outputWide {
			row = append(row, string(app.Spec.Type), orNone(profileOf(&app)), orNone(app.Status.DriverInfo.PodName), orNone(app.Status.SparkApplicationID))
		}
		if placed {
			row = append(row, clusterOf(&app))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// clusterOf is the member an application is placed on, with its epoch
// when it was re-placed.
func clusterOf(app *v1alpha1.SparkApplication) string {
	p := app.Status.Placement
	if p == nil {
		return "<none>"
	}
	if p.Epoch > 1 {
		return fmt.Sprintf("%s (epoch %d)", p.Cluster, p.Epoch)
	}
	return p.Cluster
}

// stateOf is the status summary; an application the operator has not seen
// yet reads "New" rather than an empty column.
func stateOf(app *v1alpha1.SparkApplication) string {
	if app.Status.State == v1alpha1.StateNew {
		return "New"
	}
	return string(app.Status.State)
}

func profileOf(app *v1alpha1.SparkApplication) string {
	if app.Status.Profile != nil && app.Status.Profile.Name != "" {
		return app.Status.Profile.Name
	}
	return app.Spec.Profile
}

// executorSummary is running/total as kubectl shows READY, e.g. "8/10",
// followed by why executors wait when they wait too long (the
// ExecutorsPending condition): `0/24 (pending: StorageClass "sparkplane-shuffle" not found)`.
func executorSummary(app *v1alpha1.SparkApplication) string {
	c := app.Status.Executors
	total := c.Pending + c.Running + c.Succeeded + c.Failed
	summary := fmt.Sprintf("%d/%d", c.Running, total)
	if p := app.Status.ExecutorsPending; p != nil && meta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.ConditionExecutorsPending) {
		summary += fmt.Sprintf(" (pending: %s)", p.Cause)
	}
	return summary
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// age renders a timestamp the way kubectl's AGE column does.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// sortedKeys returns m's keys in order, for stable describe output.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

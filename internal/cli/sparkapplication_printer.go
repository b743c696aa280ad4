package cli

import (
	"fmt"
	"io"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// resourceName is how kubectl names the kind in messages:
// sparkapplication.sparkplane.io.
var resourceName = "sparkapplication." + v1alpha1.GroupVersion.Group

// applicationColumns are the table's columns; Priority 1 ones show with -o
// wide only.
var applicationColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name"},
	{Name: "State", Type: "string"},
	{Name: "Attempts", Type: "integer"},
	{Name: "Executors", Type: "string", Description: "running/total executor pods"},
	{Name: "Age", Type: "string"},
	{Name: "Type", Type: "string", Priority: 1},
	{Name: "Profile", Type: "string", Priority: 1},
	{Name: "Driver", Type: "string", Priority: 1},
	{Name: "App-ID", Type: "string", Priority: 1},
}

// applicationTablePrinter prints SparkApplications as `kubectl get` prints
// a table, through cli-runtime's table printer (so -A's NAMESPACE column,
// --no-headers and a watch's header-once behave the same).
type applicationTablePrinter struct {
	printer printers.ResourcePrinter
	now     func() time.Time
}

func newApplicationTablePrinter(options printers.PrintOptions) *applicationTablePrinter {
	return &applicationTablePrinter{printer: printers.NewTablePrinter(options), now: time.Now}
}

// printApplications writes one table of apps; called again (a watch), it
// prints rows without repeating the header.
func (p *applicationTablePrinter) printApplications(w io.Writer, apps ...*v1alpha1.SparkApplication) error {
	table := &metav1.Table{ColumnDefinitions: applicationColumns}
	// On a hub, the member each application is placed on.
	placed := slices.ContainsFunc(apps, func(a *v1alpha1.SparkApplication) bool { return a.Status.Placement != nil })
	if placed {
		table.ColumnDefinitions = append(slices.Clip(applicationColumns), metav1.TableColumnDefinition{Name: "Cluster", Type: "string"})
	}
	now := p.now()
	for _, app := range apps {
		cells := []any{
			app.Name, stateOf(app), app.Status.Attempts, executorSummary(app), age(app.CreationTimestamp, now),
			string(app.Spec.Type), orNone(profileOf(app)), orNone(app.Status.DriverInfo.PodName), orNone(app.Status.SparkApplicationID),
		}
		if placed {
			cells = append(cells, clusterOf(app))
		}
		table.Rows = append(table.Rows, metav1.TableRow{Object: runtime.RawExtension{Object: app}, Cells: cells})
	}
	return p.printer.PrintObj(table, w)
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

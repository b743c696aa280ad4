package cli

import (
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// scheduleResourceName is how kubectl names the kind in messages.
var scheduleResourceName = "scheduledsparkapplication." + v1alpha1.GroupVersion.Group

// scheduleColumns are the schedule table's columns; Priority 1 ones show
// with -o wide only.
var scheduleColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name"},
	{Name: "Schedule", Type: "string"},
	{Name: "Suspend", Type: "boolean"},
	{Name: "State", Type: "string"},
	{Name: "Last Run", Type: "string"},
	{Name: "Last Run Name", Type: "string"},
	{Name: "Age", Type: "string"},
	{Name: "Next Run", Type: "string", Priority: 1},
	{Name: "Time Zone", Type: "string", Priority: 1},
	{Name: "Concurrency", Type: "string", Priority: 1},
	{Name: "Reason", Type: "string", Priority: 1},
}

// printSchedules writes schedules as -o asks: the table (cli-runtime's table
// printer, -o wide adding columns) or any of kubectl's formats. single is
// true for `schedule get NAME`: the object itself rather than a List.
func printSchedules(w io.Writer, items []v1alpha1.ScheduledSparkApplication, print *printFlags, withNamespace, single bool) error {
	if !print.human() {
		objs := make([]runtime.Object, len(items))
		for i := range items {
			objs[i] = &items[i]
		}
		return print.printObjects(w, objs, single)
	}
	now := time.Now()
	table := &metav1.Table{ColumnDefinitions: scheduleColumns}
	for i := range items {
		s := &items[i]
		state := string(s.Status.ScheduleState)
		if state == "" {
			state = "New"
		}
		lastRun := "<none>"
		if s.Status.LastRun != nil {
			lastRun = age(*s.Status.LastRun, now) + " ago"
		}
		next := "<none>"
		if s.Status.NextRun != nil {
			next = s.Status.NextRun.UTC().Format(time.RFC3339)
		}
		policy := string(s.Spec.ConcurrencyPolicy)
		if policy == "" {
			policy = string(v1alpha1.ConcurrencyAllow)
		}
		table.Rows = append(table.Rows, metav1.TableRow{
			Object: runtime.RawExtension{Object: s},
			Cells: []any{
				s.Name, s.Spec.Schedule, fmt.Sprint(ptr.Deref(s.Spec.Suspend, false)), state, lastRun, orNone(s.Status.LastRunName), age(s.CreationTimestamp, now),
				next, ptr.Deref(s.Spec.TimeZone, "UTC"), policy, orNone(s.Status.Reason),
			},
		})
	}
	printer := printers.NewTablePrinter(printers.PrintOptions{WithNamespace: withNamespace, Wide: print.format() == outputWide, NoHeaders: print.noHeaders})
	return printer.PrintObj(table, w)
}

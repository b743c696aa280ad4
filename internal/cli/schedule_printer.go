package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// scheduleResourceName is how kubectl names the kind in messages.
var scheduleResourceName = "scheduledsparkapplication." + v1alpha1.GroupVersion.Group

// printSchedules writes schedules in the chosen format. single is true for
// `schedule get NAME`: json and yaml then print the object, not a List.
func printSchedules(w io.Writer, items []v1alpha1.ScheduledSparkApplication, format string, withNamespace, single bool, now time.Time) error {
	switch format {
	case outputJSON, outputYAML:
		out := make([]*v1alpha1.ScheduledSparkApplication, len(items))
		for i := range items {
			out[i] = items[i].DeepCopy()
			out[i].APIVersion, out[i].Kind, out[i].ManagedFields = v1alpha1.GroupVersion.String(), "ScheduledSparkApplication", nil
		}
		var doc any = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": out}
		if single && len(out) == 1 {
			doc = out[0]
		}
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
	case outputName:
		for _, s := range items {
			fmt.Fprintf(w, "%s/%s\n", scheduleResourceName, s.Name)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := []string{"NAME", "SCHEDULE", "SUSPEND", "STATE", "LAST RUN", "LAST RUN NAME", "AGE"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if format == outputWide {
		header = append(header, "NEXT RUN", "TIME ZONE", "CONCURRENCY", "REASON")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, s := range items {
		state := string(s.Status.ScheduleState)
		if state == "" {
			state = "New"
		}
		lastRun := "<none>"
		if s.Status.LastRun != nil {
			lastRun = age(*s.Status.LastRun, now) + " ago"
		}
		row := []string{s.Name, s.Spec.Schedule, fmt.Sprint(ptr.Deref(s.Spec.Suspend, false)), state, lastRun, orNone(s.Status.LastRunName), age(s.CreationTimestamp, now)}
		if withNamespace {
			row = append([]string{s.Namespace}, row...)
		}
		if format == outputWide {
			next := "<none>"
			if s.Status.NextRun != nil {
				next = s.Status.NextRun.UTC().Format(time.RFC3339)
			}
			policy := string(s.Spec.ConcurrencyPolicy)
			if policy == "" {
				policy = string(v1alpha1.ConcurrencyAllow)
			}
			row = append(row, next, ptr.Deref(s.Spec.TimeZone, "UTC"), policy, orNone(s.Status.Reason))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

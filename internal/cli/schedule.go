package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/scheduled"
)

// scheduleOptions are shared by the schedule subcommands.
type scheduleOptions struct {
	kube  kubeFlags
	print *printFlags

	client client.Client
	out    io.Writer
	errs   io.Writer
}

func newScheduleCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "List, show, suspend, resume and trigger ScheduledSparkApplications",
		Long: `Schedule works with ScheduledSparkApplications: SparkApplications started on a
cron schedule. Each run is an ordinary SparkApplication named
<schedule>-<scheduled time in Unix seconds>, owned by its schedule ("sparkplane
list -l sparkplane.io/scheduled-by=NAME" lists them).`,
	}
	cmd.AddCommand(newScheduleListCommand(kube), newScheduleGetCommand(kube),
		newScheduleSuspendCommand(kube, true), newScheduleSuspendCommand(kube, false), newScheduleTriggerCommand(kube))
	return cmd
}

func newScheduleOptions(kube *genericclioptions.ConfigFlags) *scheduleOptions {
	return &scheduleOptions{kube: kubeFlags{flags: kube}, print: newPrintFlags()}
}

// bind wires the flags every subcommand has and completes them before run.
func (o *scheduleOptions) bind(cmd *cobra.Command, withPrint bool, run func(ctx context.Context, args []string) error) {
	if withPrint {
		o.print.addFlags(cmd)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o.out, o.errs = cmd.OutOrStdout(), cmd.ErrOrStderr()
		if err := o.print.validate(); err != nil {
			return err
		}
		if err := o.kube.complete(); err != nil {
			return err
		}
		var err error
		if o.client, err = newClient(o.kube.config); err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return run(ctx, args)
	}
}

func newScheduleListCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := newScheduleOptions(kube)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ScheduledSparkApplications",
		Example: `  # Schedules in the current namespace
  sparkplane schedule list

  # In every namespace, with the next run
  sparkplane schedule list -A -o wide`,
		Args: cobra.NoArgs,
	}
	o.bind(cmd, true, func(ctx context.Context, _ []string) error {
		opts := []client.ListOption{}
		if ns := o.kube.listNamespace(); ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		list := &v1alpha1.ScheduledSparkApplicationList{}
		if err := o.client.List(ctx, list, opts...); err != nil {
			return err
		}
		items := list.Items
		sort.Slice(items, func(i, j int) bool {
			if items[i].Namespace != items[j].Namespace {
				return items[i].Namespace < items[j].Namespace
			}
			return items[i].Name < items[j].Name
		})
		if len(items) == 0 && o.print.human() {
			if o.kube.allNamespaces {
				fmt.Fprintln(o.errs, "No resources found")
			} else {
				fmt.Fprintf(o.errs, "No resources found in %s namespace.\n", o.kube.namespaceInUse)
			}
			return nil
		}
		return printSchedules(o.out, items, o.print, o.kube.allNamespaces, false)
	})
	o.kube.addAllNamespacesFlag(cmd.Flags())
	return cmd
}

func newScheduleGetCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := newScheduleOptions(kube)
	cmd := &cobra.Command{
		Use:   "get NAME [NAME...]",
		Short: "Show one or more ScheduledSparkApplications",
		Example: `  # One schedule as a table
  sparkplane schedule get nightly

  # In full, with its status (lastRun, nextRun, past run names)
  sparkplane schedule get nightly -o yaml`,
		Args: cobra.MinimumNArgs(1),
	}
	o.bind(cmd, true, func(ctx context.Context, names []string) error {
		var items []v1alpha1.ScheduledSparkApplication
		var failures []error
		for _, name := range names {
			s := v1alpha1.ScheduledSparkApplication{}
			if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name}, &s); err != nil {
				failures = append(failures, err)
				continue
			}
			items = append(items, s)
		}
		if len(items) > 0 {
			if err := printSchedules(o.out, items, o.print, false, len(names) == 1); err != nil {
				return err
			}
		}
		return reportFailures(o.errs, failures)
	})
	return cmd
}

// newScheduleSuspendCommand is `schedule suspend` (suspend true) or
// `schedule resume` (false): a merge patch of spec.suspend.
func newScheduleSuspendCommand(kube *genericclioptions.ConfigFlags, suspend bool) *cobra.Command {
	o := newScheduleOptions(kube)
	verb, done, example := "suspend", "suspended", "  # No further runs of nightly until it is resumed\n  sparkplane schedule suspend nightly"
	short := "Start no further runs of a schedule (runs already started go on)"
	if !suspend {
		verb, done, example = "resume", "resumed", "  # Runs start again at the next slot; slots missed while suspended are skipped\n  sparkplane schedule resume nightly"
		short = "Start runs of a suspended schedule again, from its next slot"
	}
	cmd := &cobra.Command{
		Use:     verb + " NAME [NAME...]",
		Short:   short,
		Example: example,
		Args:    cobra.MinimumNArgs(1),
	}
	o.bind(cmd, false, func(ctx context.Context, names []string) error {
		var failures []error
		for _, name := range names {
			s := &v1alpha1.ScheduledSparkApplication{}
			s.Namespace, s.Name = o.kube.namespaceInUse, name
			patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"suspend":%t}}`, suspend))
			if err := o.client.Patch(ctx, s, patch); err != nil {
				failures = append(failures, err)
				continue
			}
			fmt.Fprintf(o.out, "%s/%s %s\n", scheduleResourceName, name, done)
		}
		return reportFailures(o.errs, failures)
	})
	return cmd
}

func newScheduleTriggerCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := newScheduleOptions(kube)
	cmd := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Start a run of a schedule now",
		Long: `Trigger starts a run of the schedule now, outside its slots, as
"kubectl create job --from=cronjob/NAME" does: a SparkApplication named
<schedule>-<now in Unix seconds>, owned by the schedule and counted in its
history. It starts even when the schedule is suspended.`,
		Example: `  sparkplane schedule trigger nightly`,
		Args:    cobra.ExactArgs(1),
	}
	o.bind(cmd, false, func(ctx context.Context, args []string) error {
		s := &v1alpha1.ScheduledSparkApplication{}
		if err := o.client.Get(ctx, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: args[0]}, s); err != nil {
			return err
		}
		run := scheduled.NewRun(s, time.Now().Truncate(time.Second))
		if err := o.client.Create(ctx, run); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return errors.New("a run of " + args[0] + " started this very second already: " + run.Name)
			}
			return err
		}
		fmt.Fprintf(o.out, "%s/%s created\n", resourceName, run.Name)
		return nil
	})
	return cmd
}

package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/sparkplane/sparkplane/internal/emulator"
)

type driverEmulatorOptions struct {
	kube          kubeFlags
	allNamespaces bool
	eventLogDir   string
	timeScale     float64
	duration      time.Duration
	out           io.Writer
}

func newDevDriverEmulatorCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &driverEmulatorOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "driver-emulator",
		Short: "Play the Spark driver of every driver pod that runs on kwok nodes",
		Long: `driver-emulator plays the Spark driver's part for clusters whose pods run on
kwok nodes, where no container starts: for each driver pod (spark-role=driver)
that becomes Running it reads spark.properties and the executor pod template
from the driver's ConfigMaps, creates executor pods as Spark 3.5 does, runs a
seeded workload in scaled time, migrates or recomputes shuffle data when
executors go away, writes a Spark event log, and ends the driver pod Succeeded
or Failed. It runs until interrupted and then prints a summary.

The workload is chosen per application with spark.sparkplane.emulator.* keys;
see docs/emulator.md.`,
		Example: `  # Emulate drivers in all namespaces of the local cluster, event logs in ./events
  sparkplane dev driver-emulator -A --event-log-dir ./events

  # One namespace, ten times faster than model time, for two minutes
  sparkplane dev driver-emulator -n spark-jobs --time-scale 10 --duration 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.complete(); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Emulate drivers in every namespace")
	cmd.Flags().StringVar(&o.eventLogDir, "event-log-dir", "", "Directory for every application's event log (default: spark.eventLog.dir when spark.eventLog.enabled=true and the directory is local)")
	cmd.Flags().Float64Var(&o.timeScale, "time-scale", 0, "Model seconds per real second, for every application (default: spark.sparkplane.emulator.timeScale, else 5)")
	cmd.Flags().DurationVar(&o.duration, "duration", 0, "Stop after this long (default: run until interrupted)")
	return cmd
}

func (o *driverEmulatorOptions) complete() error {
	return o.kube.complete()
}

func (o *driverEmulatorOptions) validate() error {
	if o.timeScale < 0 {
		return fmt.Errorf("--time-scale %v: want a positive number, or 0 for the conf's value", o.timeScale)
	}
	if o.duration < 0 {
		return fmt.Errorf("--duration %v: want a positive duration such as 2m, or 0 to run until interrupted", o.duration)
	}
	if o.eventLogDir != "" {
		if err := os.MkdirAll(o.eventLogDir, 0o755); err != nil {
			return fmt.Errorf("--event-log-dir: %w", err)
		}
	}
	return nil
}

func (o *driverEmulatorOptions) run(ctx context.Context) error {
	ctx, stop := untilInterrupted(ctx)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	namespace := o.kube.namespaceInUse
	if o.allNamespaces {
		namespace = ""
	}
	em, err := emulator.New(o.kube.config, emulator.Options{Namespace: namespace, EventLogDir: o.eventLogDir, TimeScale: o.timeScale})
	if err != nil {
		return err
	}
	where := "namespace " + namespace
	if namespace == "" {
		where = "all namespaces"
	}
	fmt.Fprintf(o.out, "Emulating Spark drivers in %s; Ctrl-C to stop.\n", where)
	if err := em.Run(ctx); err != nil {
		return err
	}
	s := em.Summary()
	fmt.Fprintf(o.out, "applications: %d started, %d succeeded, %d failed\n", s.AppsStarted, s.AppsSucceeded, s.AppsFailed)
	fmt.Fprintf(o.out, "executors: %d created, %d decommissioned, %d lost\n", s.ExecutorsCreated, s.ExecutorsDecommissioned, s.ExecutorsLost)
	fmt.Fprintf(o.out, "shuffle: %d bytes migrated, %d bytes recomputed (%s of extra task time)\n", s.MigratedBytes, s.RecomputedBytes, s.RecomputeTaskTime)
	return nil
}

package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/advisor"
)

func init() { register(newAdviseCommand) }

// adviseOptions holds the flags and arguments of `sparkplane advise`.
type adviseOptions struct {
	output   string
	emitConf bool
	workers  int
	paths    []string

	sources []advisor.Source
	skipped []advisor.Skipped

	out, errOut io.Writer
}

func newAdviseCommand() *cobra.Command {
	o := &adviseOptions{}
	cmd := &cobra.Command{
		Use:   "advise [-o table|json] [--emit-conf] PATH...",
		Short: "Right-size Spark applications from their event logs",
		Long: `advise reads Spark event logs and says, with the evidence, how each application
should be sized, placed and stored: executor cores and memory, an oversubscription
ratio, partition count, dynamic-allocation bounds, shuffle storage and skewed stages.

PATH is an event log file (plain, .inprogress, or compressed as Spark writes it:
zstd, lz4, snappy), a rolling event log folder (eventlog_v2_*), or a folder holding
many of these. Thresholds and the JSON schema are documented in docs/advisor.md.`,
		Example: `  sparkplane advise /var/log/spark-events
  sparkplane advise -o json eventlog_v2_spark-1234 app-20240101-0001.zstd
  sparkplane advise --emit-conf app-20240101-0001.lz4 >> spark.properties`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&o.emitConf, "emit-conf", false, "print only the recommended sparkConf patch (spark.properties lines; a JSON object with -o json)")
	cmd.Flags().IntVar(&o.workers, "workers", 0, "goroutines parsing each log (0: one per CPU)")
	return cmd
}

// Complete records the arguments and resolves the paths into event logs.
func (o *adviseOptions) Complete(cmd *cobra.Command, args []string) error {
	o.paths = args
	o.out, o.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	return nil
}

// Validate checks the flags and that every path names readable event logs.
func (o *adviseOptions) Validate() error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("--output %q is not supported: use -o table or -o json", o.output)
	}
	if o.workers < 0 {
		return fmt.Errorf("--workers %d: give 0 (one per CPU) or a positive number", o.workers)
	}
	if len(o.paths) == 0 {
		return fmt.Errorf("no PATH given: name an event log file, a rolling event log folder (eventlog_v2_*) or a folder of them, e.g. sparkplane advise /var/log/spark-events")
	}
	var err error
	o.sources, o.skipped, err = advisor.Discover(o.paths)
	if err != nil {
		return err
	}
	if len(o.sources) == 0 {
		return fmt.Errorf("no event logs found in %v: a folder must hold event log files or eventlog_v2_* folders", o.paths)
	}
	return nil
}

// Run analyses every log and prints the reports.
func (o *adviseOptions) Run() error {
	for _, s := range o.skipped {
		fmt.Fprintf(o.errOut, "skipped %s: %s\n", s.Path, s.Reason)
	}
	reports := make([]*advisor.Report, 0, len(o.sources))
	for _, src := range o.sources {
		rep, err := advisor.Analyze(src, advisor.Options{Workers: o.workers})
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	switch {
	case o.emitConf && o.output == "json":
		return advisor.WriteConfJSON(o.out, reports)
	case o.emitConf:
		return advisor.WriteConf(o.out, reports)
	case o.output == "json":
		return advisor.WriteJSON(o.out, reports)
	}
	return advisor.WriteTable(o.out, reports)
}

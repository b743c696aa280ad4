package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sparkplane/sparkplane/internal/advisor"
	"github.com/sparkplane/sparkplane/internal/eventsource"
)

// Output formats of advise.
const (
	adviseTable = "table"
	adviseJSON  = "json"
	adviseHTML  = "html"
)

// adviseOptions holds the flags and arguments of `sparkplane advise`.
type adviseOptions struct {
	output        string
	emitConf      bool
	workers       int
	width         int
	historyServer string
	since         time.Duration
	limit         int
	paths         []string

	sources []advisor.Source
	skipped []advisor.Skipped
	cleanup func()

	in          io.Reader
	out, errOut io.Writer
}

func newAdviseCommand() *cobra.Command {
	o := &adviseOptions{}
	cmd := &cobra.Command{
		Use:   "advise [-o table|json|html] [--emit-conf] (PATH... | --history-server URL)",
		Short: "Right-size Spark applications from their event logs",
		Long: `advise reads Spark event logs and says, with the evidence, how each application
should be sized, placed and stored: executor cores and memory, an oversubscription
ratio, partition count, dynamic-allocation bounds, shuffle storage and skewed stages.

PATH is an event log file (plain, .inprogress, or compressed as Spark writes it:
zstd, lz4, snappy), a rolling event log folder (eventlog_v2_*), a folder holding
many of these, "-" for one log on standard input, or the same on S3 as an s3:// or
s3a:// URL (credentials and region from the AWS SDK's standard chain:
environment, ~/.aws files, SSO, the instance or pod role; AWS_ENDPOINT_URL_S3
points at an S3-compatible store such as MinIO).

--history-server reads the completed applications of a Spark History Server
through its REST API instead (--since and --limit choose which).

A file that is not an event log is an error that says what it looks like; in a
folder it is skipped with a line on standard error. Thresholds and the JSON
schema are documented in docs/advisor.md.`,
		Example: `  # Every event log in a folder (the ones in a checkout's examples/)
  sparkplane advise examples/event-logs/

  # Two logs, one compressed, as JSON
  sparkplane advise -o json examples/event-logs/spark-1234 examples/event-logs/app-20261201-0001.zstd

  # Append the advised Spark properties to a properties file
  sparkplane advise --emit-conf examples/event-logs/app-20261201-0001.zstd >> spark.properties

  # Straight from S3 (AWS credentials from the environment, ~/.aws or the pod's role)
  sparkplane advise s3a://my-bucket/spark-events/

  # One log on standard input
  cat examples/event-logs/spark-1234 | sparkplane advise -

  # The last day's applications of a Spark History Server, at most 20
  sparkplane advise --history-server http://spark-history:18080 --since 24h --limit 20

  # A one-page report with the task-time histogram and per-stage table
  sparkplane advise -o html examples/event-logs/ > report.html`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd.Context()); err != nil {
				return err
			}
			defer o.cleanup()
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", adviseTable, "Output format: table, json or html (a one-page report)")
	cmd.Flags().BoolVar(&o.emitConf, "emit-conf", false, "Print only the recommended sparkConf patch (spark.properties lines; a JSON object with -o json)")
	cmd.Flags().IntVar(&o.workers, "workers", 0, "Goroutines parsing each log (0: one per CPU)")
	cmd.Flags().IntVar(&o.width, "width", 0, "Columns the table fits in (default: the terminal's width, else $COLUMNS, else 100)")
	cmd.Flags().StringVar(&o.historyServer, "history-server", "", "Read the completed applications of this Spark History Server (its URL, e.g. http://spark-history:18080)")
	cmd.Flags().DurationVar(&o.since, "since", 0, "With --history-server: only applications that ended within this long (e.g. 24h)")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "With --history-server: read at most this many applications (0: all)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{adviseTable, adviseJSON, adviseHTML}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete records the arguments, the streams and the table's width.
func (o *adviseOptions) Complete(cmd *cobra.Command, args []string) error {
	o.paths = args
	o.in, o.out, o.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	o.cleanup = func() {}
	if o.width == 0 {
		o.width = terminalWidth(o.out)
	}
	return nil
}

// terminalWidth is the width of out when it is a terminal, else $COLUMNS,
// else advisor.TableWidth.
func terminalWidth(out io.Writer) int {
	if f, ok := out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if w, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && w > 0 {
		return w
	}
	return advisor.TableWidth
}

// Validate checks the flags and that every path names readable event logs.
func (o *adviseOptions) Validate(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.output {
	case adviseTable, adviseJSON, adviseHTML:
	default:
		return fmt.Errorf("--output %q is not supported: use -o table, -o json or -o html", o.output)
	}
	switch {
	case o.workers < 0:
		return fmt.Errorf("--workers %d: give 0 (one per CPU) or a positive number", o.workers)
	case o.width < minTableWidth:
		return fmt.Errorf("--width %d: the table needs at least %d columns", o.width, minTableWidth)
	case o.emitConf && o.output == adviseHTML:
		return errors.New("--emit-conf prints spark.properties lines or, with -o json, JSON; not HTML")
	case o.historyServer != "" && len(o.paths) > 0:
		return fmt.Errorf("give PATHs or --history-server, not both (got %v)", o.paths)
	case o.historyServer == "" && (o.since != 0 || o.limit != 0):
		return errors.New("--since and --limit choose applications of a History Server: add --history-server URL")
	case o.since < 0 || o.limit < 0:
		return errors.New("--since and --limit must not be negative")
	case o.historyServer == "" && len(o.paths) == 0:
		return fmt.Errorf("no PATH given: name an event log file, a rolling event log folder (eventlog_v2_*), a folder of them, \"-\" for standard input or an s3:// URL, e.g. sparkplane advise /var/log/spark-events; or read a History Server with --history-server URL")
	}
	if o.historyServer != "" {
		sources, skipped, cleanup, err := eventsource.History(ctx, o.historyServer, eventsource.HistoryOptions{Since: o.since, Limit: o.limit, Now: time.Now()})
		if err != nil {
			return err
		}
		o.sources, o.skipped, o.cleanup = sources, skipped, cleanup
		if len(o.sources) == 0 {
			return fmt.Errorf("--history-server %s lists no completed application%s", o.historyServer, sinceText(o.since))
		}
		return nil
	}
	stdinUsed := false
	for _, p := range o.paths {
		var sources []advisor.Source
		var skipped []advisor.Skipped
		var err error
		switch {
		case p == "-":
			if stdinUsed {
				return errors.New(`"-" (standard input) given twice`)
			}
			stdinUsed = true
			sources = []advisor.Source{eventsource.Stdin(o.in)}
		case eventsource.IsS3(p):
			sources, skipped, err = eventsource.S3(ctx, p)
		case strings.Contains(p, "://"):
			return fmt.Errorf("%s: advise reads local paths, s3:// and s3a:// URLs; for a History Server use --history-server", p)
		default:
			sources, skipped, err = advisor.Discover([]string{p})
		}
		if err != nil {
			return err
		}
		o.sources = append(o.sources, sources...)
		o.skipped = append(o.skipped, skipped...)
	}
	if len(o.sources) == 0 {
		for _, s := range o.skipped {
			fmt.Fprintf(o.errOut, "skipped %s: %s\n", s.Path, s.Reason)
		}
		return fmt.Errorf("no event logs found in %v: a folder must hold event log files or eventlog_v2_* folders", o.paths)
	}
	return nil
}

// minTableWidth is the narrowest table that keeps the labels and a value.
const minTableWidth = 60

func sinceText(since time.Duration) string {
	if since == 0 {
		return ""
	}
	return " that ended in the last " + since.String()
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
	case o.emitConf && o.output == adviseJSON:
		return advisor.WriteConfJSON(o.out, reports)
	case o.emitConf:
		return advisor.WriteConf(o.out, reports)
	case o.output == adviseJSON:
		return advisor.WriteJSON(o.out, reports)
	case o.output == adviseHTML:
		return advisor.WriteHTML(o.out, reports)
	}
	return advisor.WriteTableWidth(o.out, reports, o.width)
}

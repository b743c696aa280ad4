// Package cli holds sparkplane's cobra commands. Each command lives in its own
// file and follows kubectl's Complete → Validate → Run shape over library code;
// the packages it calls hold the logic.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/version"
)

// subcommands lists the constructors of every top-level command. Each command's
// file registers itself here from an init function, so adding a command does not
// touch this file.
var subcommands []func() *cobra.Command

func register(newCommand func() *cobra.Command) {
	subcommands = append(subcommands, newCommand)
}

// NewRootCommand returns the sparkplane command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sparkplane",
		Short: "A control plane for Apache Spark on Kubernetes at large scale",
		Long: `sparkplane runs Apache Spark on Kubernetes the way the best-run shops do:
arm64 and Spot first with automatic fallback, drivers on on-demand nodes in one
zone, executors decommissioned inside the Spot notice, shuffle data on reusable
volumes, and native submission without a JVM per application.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().Version,
	}
	root.SetVersionTemplate(versionText(version.Get()))
	for _, newCommand := range subcommands {
		root.AddCommand(newCommand())
	}
	return root
}

// Execute runs the command tree and returns the process exit code. Errors are
// printed once, kubectl style, as "error: ..." or, for a failure the API
// server reported, "Error from server (Reason): ..." (see FormatError).
func Execute() int {
	if err := NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, FormatError(err))
		return 1
	}
	return 0
}

// untilInterrupted returns ctx (the background context when nil) ended by
// Ctrl-C or SIGTERM, for commands that stop cleanly on either.
func untilInterrupted(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

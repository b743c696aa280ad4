// Package cli holds sparkplane's cobra commands. Each command lives in its own
// file and follows kubectl's Complete → Validate → Run shape over library code;
// the packages it calls hold the logic.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/version"
)

// pluginName is the executable name under which kubectl finds sparkplane as
// a plugin (`kubectl sparkplane ...`).
const pluginName = "kubectl-sparkplane"

// NewRootCommand returns the sparkplane command tree, its help and examples
// naming the program as it was invoked (`kubectl sparkplane` as a plugin).
func NewRootCommand() *cobra.Command {
	return newRootCommand(displayName(os.Args[0]))
}

// displayName is how help names the program invoked as argv0.
func displayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if base == pluginName {
		return "kubectl sparkplane"
	}
	return "sparkplane"
}

func newRootCommand(name string) *cobra.Command {
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
	// kubectl's connection flags, for every command that talks to a cluster;
	// persistent so that `kubectl sparkplane --context prod list` works.
	kube := newConfigFlags()
	kube.AddFlags(root.PersistentFlags())
	_ = root.RegisterFlagCompletionFunc("namespace", completeNamespaceNames(kube))
	_ = root.RegisterFlagCompletionFunc("context", completeContexts(kube))

	root.AddCommand(
		newSubmitCommand(kube),
		newGetCommand(kube),
		newListCommand(kube),
		newDescribeCommand(kube),
		newLogsCommand(kube),
		newWaitCommand(kube),
		newDeleteCommand(kube),
		newExplainCommand(kube),
		newAdviseCommand(),
		newInstallCommand(kube),
		newOperatorCommand(kube),
		newPlatformCommand(),
		newDevCommand(kube),
		newDemoCommand(),
		newVersionCommand(),
		newUninstallCommand(kube),
		newDoctorCommand(kube),
		newScheduleCommand(kube),
		newConvertCommand(),
		newUICommand(kube),
		newClustersCommand(kube),
	)

	withNextSteps(root, kube)
	if name != "sparkplane" {
		renameProgram(root, name)
	}
	return root
}

// options is the kubectl shape of a command: complete fills in what the
// flags and arguments leave open (the REST config, the namespace, a client),
// validate checks them all before anything changes, run does the work.
type options interface {
	complete(cmd *cobra.Command, args []string) error
	validate() error
	run(ctx context.Context) error
}

// runE runs o's Complete → Validate → Run for a cobra command.
func runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.complete(cmd, args); err != nil {
			return err
		}
		if err := o.validate(); err != nil {
			return err
		}
		return o.run(cmd.Context())
	}
}

// renameProgram makes help and examples name the program as invoked.
func renameProgram(cmd *cobra.Command, name string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	if !cmd.HasParent() {
		cmd.Annotations[cobra.CommandDisplayNameAnnotation] = name
	}
	cmd.Example = strings.ReplaceAll(cmd.Example, "sparkplane ", name+" ")
	for _, sub := range cmd.Commands() {
		renameProgram(sub, name)
	}
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

package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/devcluster"
)

// newDevStopCommand is `dev stop NAME`: the API server of a local cluster
// goes away (etcd and the rest keep running), as in a regional loss.
func newDevStopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop NAME",
		Short: "Stop a local cluster's API server, to simulate losing that cluster (dev start brings it back)",
		Example: `  # Lose member b for a while: the hub marks it Unreachable, then Lost
  sparkplane dev stop b
  sparkplane dev start b`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := devcluster.StopAPIServer(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %q: API server stopped\n", args[0])
			return nil
		},
	}
}

// newDevStartCommand is `dev start NAME`: the API server dev stop stopped
// runs again, with the command line it was first started with.
func newDevStartCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a local cluster's API server again after dev stop",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := untilInterrupted(cmd.Context())
			defer stop()
			start := time.Now()
			if err := devcluster.StartAPIServer(ctx, args[0], timeout); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %q: API server ready again in %.1fs\n", args[0], time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "Give up when the API server is not ready after this long")
	return cmd
}

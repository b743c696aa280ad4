package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Values of --dry-run, as kubectl spells them.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

// dryRunFlag is kubectl's --dry-run=none|client|server. A bare --dry-run
// means server: the API server validates (schema, CEL rules, admission)
// without persisting, which is what a user checking a manifest wants.
type dryRunFlag struct {
	value string
}

func (d *dryRunFlag) addFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.value, "dry-run", dryRunNone, `Must be "none", "server", or "client". With client, only print what would be sent; with server (also a bare --dry-run), have the API server validate the request without persisting it`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunServer
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{dryRunNone, dryRunClient, dryRunServer}, cobra.ShellCompDirectiveNoFileComp))
}

func (d *dryRunFlag) validate() error {
	switch d.value {
	case dryRunNone, dryRunClient, dryRunServer:
		return nil
	}
	return fmt.Errorf(`invalid --dry-run value %q: must be "none", "server", or "client"`, d.value)
}

func (d *dryRunFlag) none() bool   { return d.value == dryRunNone }
func (d *dryRunFlag) client() bool { return d.value == dryRunClient }
func (d *dryRunFlag) server() bool { return d.value == dryRunServer }

// suffix is what kubectl appends to a result line: " (server dry run)".
func (d *dryRunFlag) suffix() string {
	if d.value == dryRunNone {
		return ""
	}
	return " (" + d.value + " dry run)"
}

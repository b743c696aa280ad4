package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/version"
)

type versionOptions struct {
	output string
	out    io.Writer
}

func newVersionCommand() *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version [-o text|json]",
		Short: "Print sparkplane's version, git commit, Go version and build date",
		Long: `Version prints what the build stamped into this binary. Release builds and
` + "`make build`" + ` set the version from git; a plain ` + "`go build`" + ` says "dev".
The version is also the tag of the operator image ` + "`sparkplane install`" + ` deploys.`,
		Example: `  sparkplane version
  sparkplane version -o json
  sparkplane --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.validate(); err != nil {
				return err
			}
			return o.run()
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (o *versionOptions) validate() error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q is not supported: use -o text or -o json", o.output)
	}
	return nil
}

func (o *versionOptions) run() error {
	info := version.Get()
	if o.output == "json" {
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	_, err := io.WriteString(o.out, versionText(info))
	return err
}

// versionText is the text form, also printed by `sparkplane --version`.
func versionText(info version.Info) string {
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	return fmt.Sprintf("sparkplane %s\n  git commit: %s\n  build date: %s\n  go version: %s\n  platform:   %s\n",
		info.Version, orUnknown(info.GitCommit), orUnknown(info.BuildDate), info.GoVersion, info.Platform)
}

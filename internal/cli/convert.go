package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/convert"
)

type convertOptions struct {
	filename string
	in       io.Reader
	out      io.Writer
	errs     io.Writer
}

func newConvertCommand() *cobra.Command {
	o := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert -f FILE",
		Short: "Rewrite Kubeflow spark-operator manifests into sparkplane's",
		Long: `Convert reads Kubeflow spark-operator manifests (sparkoperator.k8s.io/v1beta2
SparkApplication and ScheduledSparkApplication) and writes sparkplane's
(sparkplane.io/v1alpha1) to standard output, one line per change on standard
error. Other documents pass through unchanged.

Field names and meanings are Kubeflow's, so apiVersion is usually the only
change. Deprecated fields with a direct equivalent are moved (failureRetries,
retryInterval, envVars, envSecretKeyRefs). A field sparkplane does not
implement is refused with its path and what to use instead, and nothing is
written. docs/migrating.md lists every Kubeflow field and its status.`,
		Example: `  # Convert and apply
  sparkplane convert -f examples/kubeflow/spark-pi.yaml | kubectl apply -f -

  # From standard input
  cat examples/kubeflow/spark-pi.yaml | sparkplane convert -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out, o.errs = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if o.filename == "" {
				return errors.New("-f is required: the manifest file to convert, or - for standard input")
			}
			if o.filename == "-" {
				o.in = cmd.InOrStdin()
			} else {
				f, err := os.Open(o.filename)
				if err != nil {
					return err
				}
				defer f.Close()
				o.in = f
			}
			return o.run()
		},
	}
	cmd.Flags().StringVarP(&o.filename, "filename", "f", "", "The manifest file to convert (- for standard input)")
	return cmd
}

func (o *convertOptions) run() error {
	out, changes, err := convert.Convert(o.in)
	for _, c := range changes {
		fmt.Fprintln(o.errs, c.String())
	}
	if err != nil {
		return err
	}
	_, err = o.out.Write(out)
	return err
}

// Command sparkplane is the single binary of sparkplane: the operator, the
// installer, the local development cluster and the user-facing CLI, each a
// cobra subcommand.
package main

import (
	"os"

	"github.com/sparkplane/sparkplane/internal/cli"
)

func main() {
	os.Exit(cli.Execute())
}

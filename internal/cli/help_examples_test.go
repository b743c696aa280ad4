package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/spf13/cobra"
)

// manifestArg finds the files a --help example passes with -f / --filename.
var manifestArg = regexp.MustCompile(`(?:-f|--filename)[ =]([^\s|]+\.(?:ya?ml|json))`)

// TestHelpExamplesNameFilesThatExist: every manifest a command's --help
// example passes with -f is a file of the repository (examples/), so the
// example runs as written from a checkout.
func TestHelpExamplesNameFilesThatExist(t *testing.T) {
	found := 0
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, m := range manifestArg.FindAllStringSubmatch(cmd.Example, -1) {
			found++
			if _, err := os.Stat(filepath.Join("..", "..", m[1])); err != nil {
				t.Errorf("`%s --help` names %s, which is not in the repository: %v", cmd.CommandPath(), m[1], err)
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand())
	if found == 0 {
		t.Fatal("no --help example passes a manifest with -f; the pattern no longer matches the examples")
	}
}

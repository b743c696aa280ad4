package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// HelpExample is one command line of a command's --help examples.
type HelpExample struct {
	// Command is the command whose help shows it ("sparkplane get").
	Command string
	// Line is the line as written, continuation lines joined.
	Line string
}

// HelpExamples returns the example lines of root and every command under it,
// in the order help shows them, comments and blank lines left out. The tests
// that check the examples parse (unit) and run as written (e2e) read them
// here.
func HelpExamples(root *cobra.Command) []HelpExample {
	var out []HelpExample
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// A line ending in a backslash continues on the next, as in a shell.
		example := strings.ReplaceAll(c.Example, "\\\n", " ")
		for _, line := range strings.Split(example, "\n") {
			line = strings.Join(strings.Fields(line), " ")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, HelpExample{Command: c.CommandPath(), Line: line})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

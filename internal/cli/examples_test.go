package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// exampleCommandLines returns the sparkplane command lines of every
// command's --help examples: comments dropped, the sparkplane part of a
// pipe or of "$(...)" taken, output redirections left out.
func exampleCommandLines(root *cobra.Command) map[string][]string {
	out := map[string][]string{}
	for _, ex := range HelpExamples(root) {
		line := ex.Line
		for _, part := range strings.Split(line, " | ") {
			if strings.HasPrefix(part, "sparkplane ") {
				line = part // the sparkplane step of a pipe
			}
		}
		if i := strings.Index(line, "=$(sparkplane "); i >= 0 {
			line = strings.TrimSuffix(line[i+3:], ")")
		}
		for _, redirect := range []string{" >> ", " > "} {
			if i := strings.Index(line, redirect); i >= 0 {
				line = line[:i]
			}
		}
		out[line] = shellWords(line)
	}
	return out
}

// shellWords splits a command line as a shell would for these examples:
// single and double quotes, "$(...)" standing for one word.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	depth := 0
	for _, r := range line {
		switch {
		case quote != 0 && r == quote && depth == 0:
			quote = 0
		case quote == 0 && (r == '\'' || r == '"'):
			quote, inWord = r, true
		case r == '(' && strings.HasSuffix(cur.String(), "$"):
			depth++
			cur.WriteRune(r)
		case r == ')' && depth > 0:
			depth--
			cur.WriteRune(r)
		case r == ' ' && quote == 0 && depth == 0:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestHelpExamplesParse: every example in --help names an existing command
// with flags it has, values those flags accept and arguments it takes.
// (What they do against a cluster is checked by the commands' own tests.)
func TestHelpExamplesParse(t *testing.T) {
	root := newRootCommand("sparkplane")
	lines := exampleCommandLines(root)
	if len(lines) < 50 {
		t.Fatalf("found %d example lines; the walk is broken", len(lines))
	}
	for line, words := range lines {
		if len(words) > 0 && words[0] == "kubectl" {
			continue // the kubectl step of a workflow
		}
		if len(words) == 0 || words[0] != "sparkplane" {
			t.Errorf("example %q does not run sparkplane", line)
			continue
		}
		cmd, rest, err := root.Find(words[1:])
		if err != nil {
			t.Errorf("example %q: %v", line, err)
			continue
		}
		cmd.InitDefaultHelpFlag()
		cmd.InitDefaultVersionFlag() // cobra adds --version at run time
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("example %q: %v", line, err)
			continue
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("example %q: %v", line, err)
		}
		if version, _ := cmd.Flags().GetBool("version"); !cmd.Runnable() && !version {
			t.Errorf("example %q names %q, which does nothing by itself", line, cmd.CommandPath())
		}
		// Fresh flags for the next example.
		root = newRootCommand("sparkplane")
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`sparkplane install --kubeconfig "$(sparkplane dev kubeconfig)" -o jsonpath='{.status.state}' x`)
	want := []string{"sparkplane", "install", "--kubeconfig", "$(sparkplane dev kubeconfig)", "-o", "jsonpath={.status.state}", "x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

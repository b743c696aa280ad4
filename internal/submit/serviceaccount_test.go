package submit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDriverRulesDocumented: the table in docs/security.md lists exactly
// the verbs and resources of DriverRules, each with a Spark source file.
func TestDriverRulesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "<!-- driver-rules -->")
	table, _, ok2 := strings.Cut(table, "<!-- /driver-rules -->")
	if !ok || !ok2 {
		t.Fatal("docs/security.md has no <!-- driver-rules --> table")
	}
	var documented []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "resource" {
			continue
		}
		if !strings.Contains(cells[3], ".scala") {
			t.Errorf("row %q names no Spark source file", line)
		}
		documented = append(documented, strings.TrimSpace(cells[1])+" "+strings.TrimSpace(cells[2]))
	}
	var granted []string
	for _, rule := range DriverRules() {
		if len(rule.APIGroups) != 1 || rule.APIGroups[0] != "" {
			t.Errorf("rule %v is outside the core group; the table has no group column", rule)
		}
		for _, r := range rule.Resources {
			for _, v := range rule.Verbs {
				granted = append(granted, r+" "+v)
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(granted)
	if diff := cmp.Diff(granted, documented); diff != "" {
		t.Errorf("docs/security.md's table and DriverRules differ (-granted +documented):\n%s", diff)
	}
}

package advisor

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestReportsMatchGolden pins the whole JSON report and table of each real log,
// so that a change of schema, measure or advice shows up as a diff to review
// (go test ./internal/advisor -run TestReportsMatchGolden -update rewrites).
func TestReportsMatchGolden(t *testing.T) {
	for _, log := range realLogs(t) {
		t.Run(log.name, func(t *testing.T) {
			srcs, _, err := Discover([]string{filepath.Join(sparkEventsDir, log.name)})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Analyze(srcs[0], Options{})
			if err != nil {
				t.Fatal(err)
			}
			var js, table bytes.Buffer
			if err := WriteJSON(&js, []*Report{rep}); err != nil {
				t.Fatal(err)
			}
			if err := WriteTable(&table, []*Report{rep}); err != nil {
				t.Fatal(err)
			}
			for file, got := range map[string][]byte{log.name + ".json": js.Bytes(), log.name + ".txt": table.Bytes()} {
				path := filepath.Join("testdata", "golden", file)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", path, diff)
				}
			}
		})
	}
}

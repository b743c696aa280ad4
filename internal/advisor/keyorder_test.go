package advisor

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeyOrderDoesNotMatter re-encodes every real line of the events parsed
// with a keySet with its keys sorted (encoding/json sorts a map's keys and
// escapes <, > and &), the order Spark never writes, and checks the record is
// the same: the guess of the next key only makes the common order faster.
func TestKeyOrderDoesNotMatter(t *testing.T) {
	kinds := map[eventKind]bool{kindTaskEnd: true, kindStageSubmitted: true, kindStageCompleted: true, kindStageExecutorMetrics: true}
	checked := 0
	for _, log := range realLogs(t) {
		for _, line := range bytes.Split(readReal(t, log), []byte("\n")) {
			var spark record
			parseLine(line, &spark, make([]byte, 0, 64))
			if !kinds[spark.kind] {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var ev map[string]any
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("%s: %v", log.name, err)
			}
			sorted, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(sorted, line) {
				continue
			}
			var other record
			parseLine(sorted, &other, make([]byte, 0, 64))
			if diff := cmp.Diff(spark, other, cmp.AllowUnexported(record{}, memoryPeaks{}, rareFields{})); diff != "" {
				t.Fatalf("%s: the record depends on the key order (-Spark's +sorted):\n%s\n%s", log.name, diff, line)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d lines checked", checked)
	}
	t.Logf("%d lines checked", checked)
}

package advisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDiscoverRollingFolders(t *testing.T) {
	line := []byte(`{"Event":"SparkListenerTaskStart"}` + "\n")
	cases := map[string]struct {
		files      map[string][]byte
		want       []string
		inProgress bool
		warnings   int
	}{
		"parts in index order, not name order": {
			files: map[string][]byte{"events_10_app": line, "events_2_app": line, "events_1_app": line, "appstatus_app": nil},
			want:  []string{"events_1_app", "events_2_app", "events_10_app"},
		},
		"reading starts at the last compacted part": {
			files: map[string][]byte{"events_1_app.lz4": line, "events_2_app.lz4.compact": line, "events_3_app.lz4.inprogress": line, "appstatus_app.inprogress": nil},
			want:  []string{"events_2_app.lz4.compact", "events_3_app.lz4.inprogress"}, inProgress: true,
		},
		"no appstatus marker: read, with a warning": {
			files: map[string][]byte{"events_1_app": line},
			want:  []string{"events_1_app"}, warnings: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "eventlog_v2_app")
			writeFiles(t, dir, tc.files)
			srcs, _, err := Discover([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range srcs[0].Files {
				got = append(got, filepath.Base(f))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if srcs[0].InProgress != tc.inProgress || len(srcs[0].Warnings) != tc.warnings {
				t.Errorf("inProgress %v warnings %v", srcs[0].InProgress, srcs[0].Warnings)
			}
		})
	}
}

func TestDiscoverErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"eventlog_v2_empty/appstatus_empty": nil})
	cases := map[string]struct{ path, want string }{
		"missing":                  {filepath.Join(dir, "missing"), "no such file or folder"},
		"rolling folder, no parts": {filepath.Join(dir, "eventlog_v2_empty"), "no events_<n>_<app> file"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := Discover([]string{tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Discover(%s) = %v, want an error naming it and saying %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestBrokenStreamsWarnNotFail cuts and corrupts compressed logs: what was
// read before the damage is analysed and the damage is reported.
func TestBrokenStreamsWarnNotFail(t *testing.T) {
	data := readReal(t, realLogs(t)[2]) // local-1430917381534: 110 tasks
	lz := encodeLZ4Block(t, data, 4096)
	badChecksum := bytes.Clone(lz)
	badChecksum[len(lz)/2+17] ^= 0xff // somewhere in a later block
	zs := encodeZstdBlocks(t, data, 16<<10)
	cases := map[string]struct {
		name string
		data []byte
		want string
	}{
		"lz4 cut short (.inprogress)": {"app.lz4.inprogress", lz[:len(lz)/2], "ends early"},
		"zstd cut short":              {"app.zstd", zs[:len(zs)/2], "ends early"},
		"snappy cut short":            {"app.snappy", encodeSnappyStream(data, 4096)[:9000], "ends early"},
		"lz4 corrupt block":           {"app.lz4", badChecksum, "lz4 block"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{tc.name: tc.data})
			srcs, _, err := Discover([]string{filepath.Join(dir, tc.name)})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Analyze(srcs[0], Options{})
			if err != nil {
				t.Fatalf("a stream broken part way must not be fatal: %v", err)
			}
			if len(rep.Parse.Warnings) != 1 || !strings.Contains(rep.Parse.Warnings[0], tc.want) {
				t.Errorf("warnings %q, want one mentioning %q", rep.Parse.Warnings, tc.want)
			}
			if rep.Totals.Tasks == 0 || rep.Totals.Tasks >= 110 {
				t.Errorf("tasks = %d, want some but not all of the 110", rep.Totals.Tasks)
			}
		})
	}
}

// encodeZstdBlocks writes small zstd blocks, as a streaming writer flushing
// often does, so that a cut stream still holds whole blocks.
func encodeZstdBlocks(t *testing.T, data []byte, window int) []byte {
	t.Helper()
	var out bytes.Buffer
	enc, err := zstd.NewWriter(&out, zstd.WithWindowSize(window))
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(window, len(data))
		if _, err := enc.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

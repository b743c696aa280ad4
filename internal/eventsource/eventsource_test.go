package eventsource_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sparkplane/sparkplane/internal/advisor"
	"github.com/sparkplane/sparkplane/internal/eventsource"
	"github.com/sparkplane/sparkplane/internal/eventsource/eventsourcetest"
)

// sparkEvents holds real event logs from Apache Spark's test resources
// (../shared/testdata beside the repository).
const sparkEvents = "../../../shared/testdata/spark-events"

// summary is what must not depend on where a log was read from.
type summary struct {
	Application advisor.Application
	Totals      advisor.Totals
	Measures    advisor.Measures
	Lines       int64
}

func analyze(t *testing.T, sources []advisor.Source) map[string]summary {
	t.Helper()
	out := map[string]summary{}
	for _, src := range sources {
		rep, err := advisor.Analyze(src, advisor.Options{Workers: 2})
		if err != nil {
			t.Fatalf("%s: %v", src.Path, err)
		}
		out[rep.Application.ID] = summary{rep.Application, rep.Totals, rep.Measures, rep.Parse.Lines}
	}
	return out
}

func local(t *testing.T) map[string]summary {
	t.Helper()
	if _, err := os.Stat(sparkEvents); err != nil {
		t.Fatalf("the real Spark event logs are missing at %s: %v", sparkEvents, err)
	}
	sources, _, err := advisor.Discover([]string{sparkEvents})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) < 4 {
		t.Fatalf("found %d logs in %s, want the 4 there", len(sources), sparkEvents)
	}
	return analyze(t, sources)
}

func TestS3GivesTheSameReportsAsFiles(t *testing.T) {
	want := local(t)
	eventsourcetest.S3(t, "spark-logs", "prod/events", sparkEvents)
	for _, url := range []string{"s3://spark-logs/prod/events", "s3a://spark-logs/prod/events/"} {
		sources, skipped, err := eventsource.S3(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, analyze(t, sources)); diff != "" {
			t.Errorf("%s: reports differ from the local files' (-files +s3):\n%s", url, diff)
		}
		if len(skipped) != 1 || !strings.HasSuffix(skipped[0].Path, "SOURCE.md") || !strings.HasPrefix(skipped[0].Path, strings.TrimSuffix(url, "/")) {
			t.Errorf("%s: skipped %+v, want SOURCE.md named by its URL", url, skipped)
		}
	}
	// One object, and one rolling log folder.
	sources, _, err := eventsource.S3(context.Background(), "s3://spark-logs/prod/events/app-20161116163331-0000")
	if err != nil || len(sources) != 1 || sources[0].Path != "s3://spark-logs/prod/events/app-20161116163331-0000" {
		t.Fatalf("one object: %v, %+v", err, sources)
	}
	sources, _, err = eventsource.S3(context.Background(), "s3://spark-logs/prod/events/eventlog_v2_local-1766844910796")
	if err != nil || len(sources) != 1 || len(sources[0].Files) != 1 {
		t.Fatalf("a rolling folder: %v, %+v", err, sources)
	}
	for url, wantErr := range map[string]string{
		"s3://spark-logs/prod/nothing-here": "s3://spark-logs/prod/nothing-here: no such file or folder",
		"s3://no-bucket/x":                  "bucket \"no-bucket\" does not exist",
		"s3:///x":                           "not an S3 URL",
	} {
		_, _, err := eventsource.S3(context.Background(), url)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got %v, want an error containing %q", url, err, wantErr)
		}
	}
}

func TestHistoryServerGivesTheSameReportsAsFiles(t *testing.T) {
	want := local(t)
	server := eventsourcetest.NewHistory(sparkEvents)
	url := server.Serve(t)
	sources, _, cleanup, err := eventsource.History(context.Background(), url, eventsource.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if diff := cmp.Diff(want, analyze(t, sources)); diff != "" {
		t.Errorf("reports differ from the local files' (-files +history server):\n%s", diff)
	}
	var paths []string
	for _, s := range sources {
		paths = append(paths, s.Path)
	}
	sort.Strings(paths)
	if !strings.HasPrefix(paths[0], url+"/history/") {
		t.Errorf("sources are named %v, want the server's /history/ URLs", paths)
	}

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sources, _, cleanup2, err := eventsource.History(context.Background(), url, eventsource.HistoryOptions{Since: 48 * time.Hour, Limit: 2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup2()
	if len(sources) != 2 {
		t.Errorf("--limit 2 read %d applications", len(sources))
	}
	last := server.Queries[len(server.Queries)-3] // the list, then two downloads
	for _, want := range []string{"status=completed", "limit=2", "minEndDate=2026-02-27T12%3A00%3A00.000GMT"} {
		if !strings.Contains(last, want) {
			t.Errorf("the application list was asked with %q, want %s in it", last, want)
		}
	}

	// Temporary downloads are removed.
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "sparkplane-eventlog-*.zip"))
	cleanup()
	cleanup2()
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "sparkplane-eventlog-*.zip"))
	if len(after) >= len(matches) && len(matches) > 0 {
		t.Errorf("cleanup left %d downloads of %d", len(after), len(matches))
	}

	for baseURL, wantErr := range map[string]string{
		"ftp://x":               "give the server's URL",
		"http://127.0.0.1:1":    "connection refused",
		url + "/not-the-api/..": "404",
	} {
		_, _, _, err := eventsource.History(context.Background(), baseURL, eventsource.HistoryOptions{})
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got %v, want an error containing %q", baseURL, err, wantErr)
		}
	}
}

func TestStdin(t *testing.T) {
	want := local(t)
	f, err := os.Open(filepath.Join(sparkEvents, "app-20161116163331-0000"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := analyze(t, []advisor.Source{eventsource.Stdin(f)})
	id := "app-20161116163331-0000"
	if diff := cmp.Diff(want[id], got[id]); diff != "" {
		t.Errorf("stdin differs from the file (-file +stdin):\n%s", diff)
	}
}

// Package eventsourcetest serves event logs the way users keep them, for
// tests: an S3-compatible server in the process on loopback (gofakes3, with
// the AWS SDK talking real HTTP to it) and a Spark History Server's REST API
// over a folder of logs.
package eventsourcetest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 starts an S3-compatible server on 127.0.0.1 holding bucket with every
// file under dir at prefix/<path relative to dir>, and points the AWS SDK's
// standard configuration at it through the environment (endpoint, static
// credentials, region) for the rest of the test.
func S3(t testing.TB, bucket, prefix, dir string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key := strings.TrimPrefix(prefix+"/"+filepath.ToSlash(rel), "/")
		_, err = backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(server.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", server.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// History is a Spark History Server's REST API over the event logs in dir
// (files, and eventlog_v2_* rolling folders): /api/v1/applications lists them
// all as completed (honouring limit), /api/v1/applications/{id}/logs
// downloads one as the server does, a zip with the file, or with the rolling
// folder and its files. Queries records each request's query string.
type History struct {
	dir string

	mu      sync.Mutex
	Queries []string
}

// NewHistory returns a History over dir.
func NewHistory(dir string) *History { return &History{dir: dir} }

// Serve starts the handler on 127.0.0.1 and returns its URL.
func (h *History) Serve(t testing.TB) string {
	server := httptest.NewServer(h)
	t.Cleanup(server.Close)
	return server.URL
}

// logs maps application ids to their log's name in dir.
func (h *History) logs() (map[string]string, error) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, err
	}
	logs := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".md"), strings.HasPrefix(name, "."):
		case e.IsDir() && strings.HasPrefix(name, "eventlog_v2_"):
			logs[strings.TrimPrefix(name, "eventlog_v2_")] = name
		case !e.IsDir():
			logs[name] = name
		}
	}
	return logs, nil
}

func (h *History) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.Queries = append(h.Queries, r.URL.RawQuery)
	h.mu.Unlock()
	logs, err := h.logs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/applications")
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "" || rest == "/":
		ids := make([]string, 0, len(logs))
		for id := range logs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if limit, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && limit < len(ids) {
			ids = ids[:limit]
		}
		type attempt struct {
			Completed bool `json:"completed"`
		}
		type app struct {
			ID       string    `json:"id"`
			Name     string    `json:"name"`
			Attempts []attempt `json:"attempts"`
		}
		list := make([]app, len(ids))
		for i, id := range ids {
			list[i] = app{ID: id, Name: id, Attempts: []attempt{{Completed: true}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	case strings.HasSuffix(rest, "/logs"):
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/logs")
		name, ok := logs[id]
		if !ok {
			http.Error(w, "no such app: "+id, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := h.zip(w, name); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	default:
		http.NotFound(w, r)
	}
}

// zip writes the log as Spark's EventLogFileReader.zipEventLogFiles does:
// a single file under its name; a rolling folder as "<folder>/" and its
// files under it.
func (h *History) zip(w io.Writer, name string) error {
	archive := zip.NewWriter(w)
	path := filepath.Join(h.dir, name)
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	add := func(entry, file string) error {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		out, err := archive.Create(entry)
		if err != nil {
			return err
		}
		_, err = out.Write(data)
		return err
	}
	if !info.IsDir() {
		if err := add(name, path); err != nil {
			return err
		}
		return archive.Close()
	}
	if _, err := archive.Create(name + "/"); err != nil {
		return err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := add(name+"/"+e.Name(), filepath.Join(path, e.Name())); err != nil {
			return err
		}
	}
	return archive.Close()
}

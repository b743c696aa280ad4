package eventsource

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sparkplane/sparkplane/internal/advisor"
)

// HistoryOptions choose the applications read from a History Server.
type HistoryOptions struct {
	// Since keeps the applications that ended within this long before Now
	// (0: all).
	Since time.Duration
	// Limit is the most applications read (0: all the server lists).
	Limit int
	// Now is the time Since counts back from.
	Now time.Time
	// Client is the HTTP client (nil: http.DefaultClient).
	Client *http.Client
}

// History reads the event logs of a Spark History Server's completed
// applications through its REST API (/api/v1): the application list
// (status=completed, minEndDate from Since, limit), then each application's
// event log download, a zip of its attempts' logs as Spark wrote them. The
// downloads are kept in temporary files until cleanup is called.
func History(ctx context.Context, baseURL string, opts HistoryOptions) (sources []advisor.Source, skipped []advisor.Skipped, cleanup func(), err error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, nil, nil, fmt.Errorf("--history-server %q: give the server's URL, e.g. http://spark-history:18080", baseURL)
	}
	h := &historyServer{base: base.String(), client: opts.Client}
	if h.client == nil {
		h.client = http.DefaultClient
	}
	apps, err := h.applications(ctx, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	var downloads []*zip.ReadCloser
	var files []string
	cleanup = func() {
		for _, d := range downloads {
			d.Close()
		}
		for _, f := range files {
			os.Remove(f)
		}
	}
	for _, app := range apps {
		file, err := h.download(ctx, app.ID)
		if file != "" {
			files = append(files, file)
		}
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		archive, err := zip.OpenReader(file)
		if err != nil {
			cleanup()
			return nil, nil, nil, fmt.Errorf("%s: the event log download of %s is not a zip archive: %w", h.base, app.ID, err)
		}
		downloads = append(downloads, archive)
		found, notLogs, err := advisor.DiscoverIn(zipFS{archive}, []string{"."})
		if err != nil {
			cleanup()
			return nil, nil, nil, fmt.Errorf("%s, application %s: %w", h.base, app.ID, err)
		}
		where := h.base + "/history/" + app.ID + "/"
		for _, src := range found {
			src.Path = where + src.Path
			sources = append(sources, src)
		}
		for _, s := range notLogs {
			s.Path = where + s.Path
			skipped = append(skipped, s)
		}
	}
	return sources, skipped, cleanup, nil
}

type historyServer struct {
	base   string
	client *http.Client
}

// historyApplication is the part of the REST API's ApplicationInfo used here.
type historyApplication struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (h *historyServer) applications(ctx context.Context, opts HistoryOptions) ([]historyApplication, error) {
	query := url.Values{"status": {"completed"}}
	if opts.Since > 0 {
		// The REST API's date format (JacksonMessageWriter's).
		query.Set("minEndDate", opts.Now.Add(-opts.Since).UTC().Format("2006-01-02T15:04:05.000GMT"))
	}
	if opts.Limit > 0 {
		query.Set("limit", strconv.Itoa(opts.Limit))
	}
	body, err := h.get(ctx, "/api/v1/applications?"+query.Encode())
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var apps []historyApplication
	if err := json.NewDecoder(body).Decode(&apps); err != nil {
		return nil, fmt.Errorf("%s/api/v1/applications: not the Spark History Server's application list: %w", h.base, err)
	}
	if opts.Limit > 0 && len(apps) > opts.Limit {
		apps = apps[:opts.Limit]
	}
	return apps, nil
}

// download saves an application's event log zip in a temporary file.
func (h *historyServer) download(ctx context.Context, id string) (string, error) {
	body, err := h.get(ctx, "/api/v1/applications/"+url.PathEscape(id)+"/logs")
	if err != nil {
		return "", err
	}
	defer body.Close()
	f, err := os.CreateTemp("", "sparkplane-eventlog-*.zip")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		return f.Name(), fmt.Errorf("%s: downloading the event log of %s: %w", h.base, id, err)
	}
	return f.Name(), f.Close()
}

func (h *historyServer) get(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--history-server %s: %w", h.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("--history-server %s: GET %s: %s: %s", h.base, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}

// zipFS is a History Server download seen as a file system.
type zipFS struct{ r *zip.ReadCloser }

func (z zipFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(z.r, name) }
func (z zipFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(z.r, name) }
func (z zipFS) Open(name string) (io.ReadCloser, error) {
	f, err := z.r.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

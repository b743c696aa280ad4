package advisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Source is one application's event log: a single file, or the parts of a
// rolling event log folder in order.
type Source struct {
	// Path is what the user named or the folder entry found: a file or an
	// eventlog_v2_* folder.
	Path string
	// Files are the files to read, in order.
	Files []string
	// InProgress is true when Spark marked the log as still being written.
	InProgress bool
	// Warnings are found while discovering the source (e.g. no appstatus
	// marker); they end up in the report's parse warnings.
	Warnings []string
	// FS is where Files are read from; nil means the local file system.
	FS FS
}

// FS is a file system event logs are read from: the local one (Discover),
// or S3 and a History Server's downloads (package eventsource). Names are
// slash-separated paths as the FS defines them; a missing name is an error
// wrapping fs.ErrNotExist.
type FS interface {
	Stat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Open(name string) (io.ReadCloser, error)
}

// localFS is the local file system.
type localFS struct{}

func (localFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (localFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (localFS) Open(name string) (io.ReadCloser, error)    { return os.Open(name) }

// open opens one of the source's files.
func (s Source) open(name string) (io.ReadCloser, error) {
	if s.FS == nil {
		return os.Open(name)
	}
	return s.FS.Open(name)
}

// Skipped is a folder entry that is not an event log.
type Skipped struct {
	Path   string
	Reason string
}

const (
	rollingDirPrefix  = "eventlog_v2_"
	rollingFilePrefix = "events_"
	appStatusPrefix   = "appstatus_"
	inProgressSuffix  = ".inprogress"
)

// Discover resolves the paths given on the command line into sources, in the
// order given (entries of a folder sorted by name). A path that does not exist
// or cannot be read is an error naming it; a folder entry that is not an event
// log is skipped and reported.
func Discover(paths []string) ([]Source, []Skipped, error) {
	return DiscoverIn(localFS{}, paths)
}

// DiscoverIn is Discover over another file system.
func DiscoverIn(fsys FS, paths []string) ([]Source, []Skipped, error) {
	var sources []Source
	var skipped []Skipped
	for _, p := range paths {
		info, err := fsys.Stat(p)
		if err != nil {
			return nil, nil, pathError(p, err)
		}
		switch {
		case !info.IsDir():
			sources = append(sources, fileSource(p))
		case strings.HasPrefix(filepath.Base(p), rollingDirPrefix):
			src, err := rollingSource(fsys, p)
			if err != nil {
				return nil, nil, err
			}
			sources = append(sources, src)
		default:
			s, k, err := folderSources(fsys, p)
			if err != nil {
				return nil, nil, err
			}
			sources = append(sources, s...)
			skipped = append(skipped, k...)
		}
	}
	if _, local := fsys.(localFS); !local {
		for i := range sources {
			sources[i].FS = fsys
		}
	}
	return sources, skipped, nil
}

func pathError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file or folder: give an event log file, a rolling event log folder (eventlog_v2_*) or a folder holding them", p)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied: the advisor needs read access to the event log", p)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", p, pe.Err)
	}
	return fmt.Errorf("%s: %v", p, err)
}

func fileSource(p string) Source {
	return Source{Path: p, Files: []string{p}, InProgress: strings.HasSuffix(p, inProgressSuffix)}
}

// rollingSource lists a rolling event log folder as Spark's
// RollingEventLogFilesFileReader does: event files ordered by index, starting
// at the last compacted one if any, and the appstatus marker telling whether
// the application is still running.
func rollingSource(fsys FS, dir string) (Source, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return Source{}, pathError(dir, err)
	}
	src := Source{Path: dir}
	type part struct {
		index   int64
		name    string
		compact bool
	}
	var parts []part
	status := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, appStatusPrefix):
			status = true
			src.InProgress = strings.HasSuffix(name, inProgressSuffix)
		case strings.HasPrefix(name, rollingFilePrefix) && !e.IsDir():
			rest := strings.TrimPrefix(name, rollingFilePrefix)
			idx, _, ok := strings.Cut(rest, "_")
			n, err := strconv.ParseInt(idx, 10, 64)
			if !ok || err != nil {
				continue
			}
			parts = append(parts, part{n, name, strings.HasSuffix(strings.TrimSuffix(name, inProgressSuffix), ".compact")})
		}
	}
	if len(parts) == 0 {
		return Source{}, fmt.Errorf("%s: a rolling event log folder but no events_<n>_<app> file in it", dir)
	}
	if !status {
		src.Warnings = append(src.Warnings, "no appstatus_* marker in the rolling event log folder: Spark's history server would not list it")
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].index < parts[j].index })
	start := 0
	for i, p := range parts {
		if p.compact {
			start = i
		}
	}
	for _, p := range parts[start:] {
		src.Files = append(src.Files, filepath.Join(dir, p.name))
	}
	return src, nil
}

// folderSources lists a folder of event logs: every file that looks like one
// and every rolling event log folder, by name.
func folderSources(fsys FS, dir string) ([]Source, []Skipped, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, pathError(dir, err)
	}
	var sources []Source
	var skipped []Skipped
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			if strings.HasPrefix(name, rollingDirPrefix) {
				src, err := rollingSource(fsys, p)
				if err != nil {
					return nil, nil, err
				}
				sources = append(sources, src)
			} else {
				skipped = append(skipped, Skipped{p, "a folder that is not a rolling event log (eventlog_v2_*); name it to read it"})
			}
			continue
		}
		if ok, reason := looksLikeEventLog(fsys, p); !ok {
			skipped = append(skipped, Skipped{p, reason})
			continue
		}
		sources = append(sources, fileSource(p))
	}
	return sources, skipped, nil
}

// looksLikeEventLog checks a folder entry's first bytes: a compressed stream
// Spark writes, or a JSON object.
func looksLikeEventLog(fsys FS, p string) (bool, string) {
	f, err := fsys.Open(p)
	if err != nil {
		return false, pathError(p, err).Error()
	}
	defer f.Close()
	head := make([]byte, sniffBytes)
	n, _ := io.ReadFull(f, head)
	if reason := notAnEventLog(head[:n]); reason != "" {
		return false, reason
	}
	return true, ""
}

// sniffBytes is how much of a file notAnEventLog looks at.
const sniffBytes = 64

// Magic numbers of formats people mistake for event logs.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zipMagic  = []byte("PK\x03\x04")
)

// notAnEventLog says what head, the first bytes of a file, looks like when it
// is not an event log Spark writes (JSON lines, or a codec Spark uses), and
// "" when it is one.
func notAnEventLog(head []byte) string {
	if len(head) == 0 {
		return "empty file: not an event log (a log Spark has just opened is empty until the first event; try again later)"
	}
	if sniffCodec(head) != CodecNone {
		return ""
	}
	i := ws(head, 0)
	switch {
	case i < len(head) && head[i] == '{':
		return ""
	case i == len(head):
		return "only whitespace: not an event log"
	case bytes.HasPrefix(head, gzipMagic):
		return "gzip-compressed data, which Spark never writes for event logs: decompress it (gunzip) and give the result, or name the file Spark wrote"
	case bytes.HasPrefix(head, zipMagic):
		return "a zip archive (as the History Server's log download is): unzip it and give the folder"
	case isText(head):
		firstLine, _, _ := bytes.Cut(head[i:], []byte("\n"))
		return fmt.Sprintf("text that is not JSON lines (it starts %q): not an event log; event logs are the files under spark.eventLog.dir", string(firstLine))
	}
	return fmt.Sprintf("binary data that is no codec Spark writes (first bytes % x): not an event log", head[:min(len(head), 8)])
}

// isText reports whether b is printable UTF-8 text.
func isText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && len(b) >= utf8.UTFMax {
			return false
		}
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[size:]
	}
	return true
}

package advisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
	var sources []Source
	var skipped []Skipped
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, pathError(p, err)
		}
		switch {
		case !info.IsDir():
			sources = append(sources, fileSource(p))
		case strings.HasPrefix(filepath.Base(p), rollingDirPrefix):
			src, err := rollingSource(p)
			if err != nil {
				return nil, nil, err
			}
			sources = append(sources, src)
		default:
			s, k, err := folderSources(p)
			if err != nil {
				return nil, nil, err
			}
			sources = append(sources, s...)
			skipped = append(skipped, k...)
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
func rollingSource(dir string) (Source, error) {
	entries, err := os.ReadDir(dir)
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
func folderSources(dir string) ([]Source, []Skipped, error) {
	entries, err := os.ReadDir(dir)
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
				src, err := rollingSource(p)
				if err != nil {
					return nil, nil, err
				}
				sources = append(sources, src)
			} else {
				skipped = append(skipped, Skipped{p, "a folder that is not a rolling event log (eventlog_v2_*); name it to read it"})
			}
			continue
		}
		if ok, reason := looksLikeEventLog(p); !ok {
			skipped = append(skipped, Skipped{p, reason})
			continue
		}
		sources = append(sources, fileSource(p))
	}
	return sources, skipped, nil
}

// looksLikeEventLog checks a folder entry's first bytes: a compressed stream
// Spark writes, or a JSON object.
func looksLikeEventLog(p string) (bool, string) {
	f, err := os.Open(p)
	if err != nil {
		return false, pathError(p, err).Error()
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(bufio.NewReader(f), head)
	head = head[:n]
	if n == 0 && err != nil {
		return false, "empty file"
	}
	if sniffCodec(head) != CodecNone {
		return true, ""
	}
	i := ws(head, 0)
	if i < len(head) && head[i] == '{' {
		return true, ""
	}
	return false, "not an event log (neither JSON lines nor a compressed stream Spark writes)"
}

// Package eventsource finds Spark event logs where users keep them besides
// local files: standard input, S3 (s3:// and s3a:// URLs, read with the AWS
// SDK for Go v2 and its standard credential chain) and a Spark History
// Server (its REST API's application list and event log download). Each
// turns into advisor.Source values read as streams by the advisor, exactly as
// local files are, so every source gives the same report for the same log.
package eventsource

import (
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/sparkplane/sparkplane/internal/advisor"
)

// Stdin is the source "-": one event log read from r (plain or compressed as
// Spark writes it).
func Stdin(r io.Reader) advisor.Source {
	return advisor.Source{Path: "-", Files: []string{"-"}, FS: readerFS{r}}
}

// readerFS serves one stream under any name, once.
type readerFS struct{ r io.Reader }

func (f readerFS) Stat(string) (fs.FileInfo, error) { return fileInfo{name: "-"}, nil }
func (f readerFS) ReadDir(string) ([]fs.DirEntry, error) {
	return nil, errors.New("standard input is not a folder")
}
func (f readerFS) Open(string) (io.ReadCloser, error) { return io.NopCloser(f.r), nil }

// fileInfo is a minimal fs.FileInfo for names that are not local files.
type fileInfo struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// dirEntry is a minimal fs.DirEntry.
type dirEntry struct{ info fileInfo }

func (e dirEntry) Name() string               { return e.info.name }
func (e dirEntry) IsDir() bool                { return e.info.dir }
func (e dirEntry) Type() fs.FileMode          { return e.info.Mode().Type() }
func (e dirEntry) Info() (fs.FileInfo, error) { return e.info, nil }

// Package advisor reads Spark event logs and says how each application should
// be sized, placed and stored, with the numbers behind every piece of advice.
//
// It reads logs as Spark writes them — plain JSON lines, ".inprogress" files,
// zstd, lz4 (lz4-java's LZ4Block stream) and snappy (snappy-java's stream),
// rolling event log folders — in one streaming pass whose memory does not grow
// with the log. Only the events the advice needs are decoded, and of those
// only the fields it needs, by a hand-written scanner (scan.go); every other
// line is counted by its event name alone. Lines are parsed on several
// goroutines and applied in log order, so the result never depends on the
// number of workers; those goroutines are the package's only ones and end
// before Analyze returns.
//
// A truncated last line, an unknown event and a corrupt line are counted in
// the report, never fatal. A path that cannot be read is an error naming it.
//
// The package has no Kubernetes imports: it takes paths or readers and
// returns values. docs/advisor.md documents the JSON schema and the
// thresholds.
package advisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// Analyze reads one source and returns its report.
func Analyze(src Source, opts Options) (*Report, error) {
	a := newAnalysis()
	a.report.Source = src.Path
	a.report.Files = src.Files
	a.report.Codec = CodecNone
	a.report.Parse.Warnings = append(a.report.Parse.Warnings, src.Warnings...)
	for _, path := range src.Files {
		codec, err := a.consumeFile(src, path, opts)
		if err != nil {
			return nil, err
		}
		if codec != CodecNone {
			a.report.Codec = codec
		}
	}
	rep := a.finish()
	rep.Application.InProgress = src.InProgress
	return rep, nil
}

// consumeFile reads one file into the analysis. It fails only when nothing
// could be read; a stream that breaks part way becomes a warning.
func (a *analysis) consumeFile(src Source, path string, opts Options) (string, error) {
	f, err := src.open(path)
	if err != nil {
		return "", pathError(path, err)
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, 256<<10)
	head, _ := in.Peek(sniffBytes)
	if reason := notAnEventLog(head); reason != "" {
		if len(src.Files) > 1 && len(head) == 0 {
			// A rolling log's newest part is empty until Spark writes to it.
			a.report.Parse.Warnings = append(a.report.Parse.Warnings, filepath.Base(path)+": empty")
			return CodecNone, nil
		}
		return "", fmt.Errorf("%s: %s", path, reason)
	}
	r, codec, closeDecoder, err := decompress(in, codecFromName(filepath.Base(path)))
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	defer closeDecoder()
	any, err := a.consume(r, opts)
	if err != nil {
		if !any && !errors.Is(err, io.ErrUnexpectedEOF) {
			return "", fmt.Errorf("%s: reading the %s stream: %v", path, codec, err)
		}
		a.report.Parse.Warnings = append(a.report.Parse.Warnings,
			fmt.Sprintf("%s: the %s stream ends early (%v); the analysis covers what was read before", filepath.Base(path), codec, err))
	}
	return codec, nil
}

// AnalyzeReader reads one application's log, already decompressed, from r.
func AnalyzeReader(r io.Reader, opts Options) (*Report, error) {
	a := newAnalysis()
	a.report.Codec = CodecNone
	a.report.Files = []string{}
	if _, err := a.consume(r, opts); err != nil {
		a.report.Parse.Warnings = append(a.report.Parse.Warnings, fmt.Sprintf("reading stopped early: %v", err))
	}
	return a.finish(), nil
}

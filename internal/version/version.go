// Package version holds what the build stamped into the binary: its version,
// git commit and build date, set with -ldflags -X by the Makefile (see
// LDFlags). A plain `go build` leaves Version at "dev".
package version

import (
	"runtime"
	"strings"
)

// Set at link time by `make build` / `make image`:
//
//	-X github.com/sparkplane/sparkplane/internal/version.version=v0.1.0
//	-X github.com/sparkplane/sparkplane/internal/version.commit=<sha>
//	-X github.com/sparkplane/sparkplane/internal/version.buildDate=<RFC 3339>
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// Dev is the version of a binary built without the Makefile's ldflags.
const Dev = "dev"

// ImageRepository is where `make image-push` publishes the operator image by
// default and where `sparkplane install` pulls it from.
const ImageRepository = "ghcr.io/sparkplane/sparkplane"

// Info is what `sparkplane version` prints; the JSON names are a contract.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit"`
	GoVersion string `json:"goVersion"`
	BuildDate string `json:"buildDate"`
	Platform  string `json:"platform"`
}

// Get returns this binary's build information.
func Get() Info {
	return Info{
		Version:   version,
		GitCommit: commit,
		GoVersion: runtime.Version(),
		BuildDate: buildDate,
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// Image is the operator image of this binary's version: the repository
// tagged with Version ("dev" for a plain go build), never "latest", so an
// installer and the operator it deploys are always the same build.
func Image() string {
	return ImageRepository + ":" + ImageTag(version)
}

// ImageTag turns a version into a valid OCI tag: characters outside
// [A-Za-z0-9_.-] (a "+" of semver build metadata) become "-".
func ImageTag(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, v)
}

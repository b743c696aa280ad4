// Command image builds sparkplane's two-platform operator image (see
// internal/image) into an OCI image layout, and pushes a layout's index to a
// registry. `make image` and `make image-push IMAGE=<ref>` run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sparkplane/sparkplane/internal/image"
	"github.com/sparkplane/sparkplane/internal/version"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		ver, commit, buildDate, out, push string
		pushOnly                          bool
	)
	flag.StringVar(&ver, "version", "", "version stamped into the binary, the labels and the tag")
	flag.StringVar(&commit, "commit", "", "git commit (org.opencontainers.image.revision)")
	flag.StringVar(&buildDate, "build-date", "", "RFC 3339 build date; the commit's date keeps builds reproducible")
	flag.StringVar(&out, "out", "bin/image", "OCI image layout to write (or, with --push-only, to read)")
	flag.StringVar(&push, "push", "", "registry reference to push the index to after building")
	flag.BoolVar(&pushOnly, "push-only", false, "push the layout in --out without building")
	flag.Parse()
	ctx := context.Background()

	if !pushOnly {
		if ver == "" {
			return fmt.Errorf("--version is empty (make image sets it from git describe)")
		}
		created := time.Unix(0, 0).UTC()
		if buildDate != "" {
			t, err := time.Parse(time.RFC3339, buildDate)
			if err != nil {
				return fmt.Errorf("--build-date %q is not RFC 3339: %w", buildDate, err)
			}
			created = t
		}
		start := time.Now()
		binaries, err := image.Compile(ctx, ".", filepath.Join(filepath.Dir(out), "image-binaries"), ver, commit, created)
		if err != nil {
			return err
		}
		build := image.Build{Version: ver, Commit: commit, Created: created, Binaries: binaries}
		idx, err := build.Index()
		if err != nil {
			return err
		}
		if err := image.WriteLayout(out, idx, version.ImageTag(ver)); err != nil {
			return err
		}
		digest, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("image: %s (linux/arm64, linux/amd64) written to %s in %s\nimage: index digest %s\n",
			version.ImageRepository+":"+version.ImageTag(ver), out, time.Since(start).Round(time.Second), digest)
	}
	if push == "" {
		return nil
	}
	idx, err := image.ReadLayout(out)
	if err != nil {
		return err
	}
	ref, err := image.Push(ctx, idx, push)
	if err != nil {
		return err
	}
	digest, _ := idx.Digest()
	fmt.Printf("image: pushed %s@%s\n", ref, digest)
	return nil
}

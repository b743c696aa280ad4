// Package image builds sparkplane's operator image without a Docker engine:
// a multi-platform OCI image index whose images each hold one layer with the
// static sparkplane binary, CA certificates and a passwd entry for the
// non-root user 65532, and nothing else (no shell, no package manager).
//
// It uses go-containerregistry as a library rather than ko: the binary is
// cross-compiled here with the same ldflags as `make build` (ko would own the
// build and want a base image from a registry, which this build machine and
// air-gapped CI cannot reach), and go-containerregistry gives the pieces this
// needs directly — image and index mutation, OCI image layouts, pushing to any
// registry, and the in-process registry the tests push to.
//
// Builds are reproducible: file times and the image's creation time are the
// commit date, owners are fixed, entries sorted, the CA bundle comes from a
// pinned Go module (golang.org/x/crypto/x509roots/fallback), and Go builds
// with -trimpath are byte-for-byte reproducible, so two builds of one commit
// give the same index digest.
package image

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Paths and identity inside the image. The operator Deployment runs as
// UserID, which Pod Security "restricted" accepts (non-root).
const (
	BinaryPath   = "sparkplane"
	CABundlePath = "etc/ssl/certs/ca-certificates.crt"
	UserID       = 65532
	UserName     = "nonroot"
	// Source is the org.opencontainers.image.source label.
	Source = "https://github.com/sparkplane/sparkplane"
)

// Platforms the image is built for: arm64 first, since the clusters it
// targets run Graviton nodes first.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "amd64"},
}

// Build describes one image build.
type Build struct {
	// Version, Commit and Created are stamped into the OCI labels and
	// annotations; Created is also every file's modification time.
	Version string
	Commit  string
	Created time.Time
	// Binaries maps "os/arch" to the path of the static sparkplane binary
	// built for it. Every platform of Platforms must be present.
	Binaries map[string]string
}

// Labels returns the OCI labels (and manifest annotations) of the build.
func (b Build) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.version":     b.Version,
		"org.opencontainers.image.revision":    b.Commit,
		"org.opencontainers.image.created":     b.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":       "sparkplane",
		"org.opencontainers.image.description": "sparkplane operator: a control plane for Apache Spark on Kubernetes",
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// Index builds the multi-platform image index.
func (b Build) Index() (v1.ImageIndex, error) {
	if b.Version == "" {
		return nil, fmt.Errorf("image build: version is empty; pass the version the binaries were built with")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms {
		key := p.OS + "/" + p.Architecture
		path, ok := b.Binaries[key]
		if !ok {
			return nil, fmt.Errorf("image build: no binary for %s", key)
		}
		img, err := b.platformImage(p, path)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", key, err)
		}
		platform := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &platform, Annotations: b.Labels()},
		})
	}
	return mutate.Annotations(idx, b.Labels()).(v1.ImageIndex), nil
}

func (b Build) platformImage(p v1.Platform, binaryPath string) (v1.Image, error) {
	binary, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, err
	}
	rootfs, err := b.rootfs(binary)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: b.Created}, CreatedBy: "sparkplane hack/image " + b.Version, Comment: "static sparkplane binary, CA certificates, user " + UserName},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = p.OS, p.Architecture
	cfg.Created = v1.Time{Time: b.Created}
	cfg.Author = Source
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UserID, UserID),
		Entrypoint: []string{"/" + BinaryPath},
		Cmd:        []string{"operator"},
		WorkingDir: "/",
		Env:        []string{"PATH=/", "SSL_CERT_FILE=/" + CABundlePath},
		Labels:     b.Labels(),
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, b.Labels()).(v1.Image), nil
}

// rootfs is the image's only layer: a tar with fixed owners and times, in
// a fixed order.
func (b Build) rootfs(binary []byte) ([]byte, error) {
	caBundle := CABundle()
	type entry struct {
		name string
		mode int64
		dir  bool
		data []byte
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", UserName, UserID)},
		{name: "etc/passwd", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", UserName, UserID, UserID, UserName, UserName)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CABundlePath, mode: 0o644, data: caBundle},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/" + UserName + "/", mode: 0o700, dir: true},
		{name: BinaryPath, mode: 0o755, data: binary},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: b.Created.UTC(),
			Format:  tar.FormatPAX,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if e.name == "home/"+UserName+"/" {
			hdr.Uid, hdr.Gid = UserID, UserID
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CABundle returns the Mozilla NSS trust store that the pinned
// golang.org/x/crypto/x509roots/fallback module carries, as PEM. Roots with
// extra constraints (a distrust-after date) are left out: a PEM file cannot
// carry the constraint, and trusting them without it would be wider than NSS.
func CABundle() []byte {
	var out bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return out.Bytes()
}

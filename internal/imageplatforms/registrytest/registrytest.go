// Package registrytest serves container images of known platforms from an
// in-process OCI registry on loopback (go-containerregistry's pkg/registry),
// for the tests, the e2e suite and the demo: a two-platform index, an
// amd64-only, an arm64-only and an s390x-only image, and an index behind
// basic auth.
package registrytest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sparkplane/sparkplane/internal/imageplatforms"
)

// Repositories and tags served.
const (
	MultiArchRepo = "spark:3.5.3-multiarch" // index: linux/amd64, linux/arm64 (and an attestation)
	AMD64Repo     = "spark:3.5.3-amd64"     // one manifest: linux/amd64
	ARM64Repo     = "spark:3.5.3-arm64"     // one manifest: linux/arm64
	S390XRepo     = "spark:3.5.3-s390x"     // one manifest: linux/s390x, which no tier offers
	PrivateRepo   = "private/spark:3.5.3"   // index as MultiArchRepo, basic auth required
	// Username and Password open PrivateRepo.
	Username = "spark"
	Password = "s3cret"
)

// Registry is a running registry.
type Registry struct {
	// Host is host:port on 127.0.0.1 (go-containerregistry speaks plain
	// HTTP to loopback registries).
	Host string
	// Requests counts the HTTP requests served (the manifest, blob and
	// token round trips a lookup costs).
	Requests atomic.Int64
	// Delay, when set, holds every answer this long (a slow registry).
	Delay atomic.Int64
	// Refuse, when set, answers every request 401 (credentials refused).
	Refuse atomic.Bool

	server   *http.Server
	listener net.Listener
}

// RequestsOfOneLookup is how many requests one platform lookup of repo
// costs the registry from an empty cache (nothing else using it meanwhile):
// what a fleet of submissions of one image should cost in all.
func (r *Registry) RequestsOfOneLookup(repo string) (int64, error) {
	before := r.Requests.Load()
	_, err := imageplatforms.New(imageplatforms.Options{}).Platforms(context.Background(), r.Image(repo), nil, "")
	return r.Requests.Load() - before, err
}

// Image returns the reference of repo ("spark:3.5.3-amd64") on r.
func (r *Registry) Image(repo string) string { return r.Host + "/" + repo }

// Start serves the images until Close.
func Start() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: l.Addr().String(), listener: l}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		if d := time.Duration(r.Delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return
			}
		}
		if r.Refuse.Load() || (strings.HasPrefix(req.URL.Path, "/v2/private/") && !authorized(req)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		inner.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.server.Serve(l) }()
	if err := r.push(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the registry; later lookups find it down.
func (r *Registry) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.server.Shutdown(ctx)
}

func authorized(req *http.Request) bool {
	user, pass, ok := req.BasicAuth()
	return ok && user == Username && pass == Password
}

// Auth is the docker config auth of PrivateRepo's credentials, as an image
// pull secret holds it.
func Auth() string { return base64.StdEncoding.EncodeToString([]byte(Username + ":" + Password)) }

// DockerConfigJSON is a kubernetes.io/dockerconfigjson secret's
// .dockerconfigjson for host with PrivateRepo's credentials.
func DockerConfigJSON(host string) []byte {
	return fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, Auth())
}

// Down returns the address of a port nothing listens on.
func Down() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// image is a small image for one platform; its config names the platform.
func image(arch string) (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS: "linux", Architecture: arch,
		Config: v1.Config{Cmd: []string{"/opt/spark/bin/spark-submit"}, Labels: map[string]string{"org.opencontainers.image.title": "spark-" + arch}},
	})
	if err != nil {
		return nil, err
	}
	return mutate.MediaType(img, types.OCIManifestSchema1), nil
}

// multiArch is an OCI index of linux/amd64 and linux/arm64, with an
// attestation manifest (unknown/unknown) as BuildKit adds one.
func multiArch() (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64", "unknown"} {
		img, err := image(arch)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: map[bool]string{true: "unknown", false: "linux"}[arch == "unknown"], Architecture: arch},
		}})
	}
	return idx, nil
}

func (r *Registry) push() error {
	auth := remote.WithAuth(&authn.Basic{Username: Username, Password: Password})
	idx, err := multiArch()
	if err != nil {
		return err
	}
	for _, repo := range []string{MultiArchRepo, PrivateRepo} {
		ref, err := name.ParseReference(r.Image(repo))
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(ref, idx, auth); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	for repo, arch := range map[string]string{AMD64Repo: "amd64", ARM64Repo: "arm64", S390XRepo: "s390x"} {
		img, err := image(arch)
		if err != nil {
			return err
		}
		ref, err := name.ParseReference(r.Image(repo))
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, auth); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	r.Requests.Store(0)
	return nil
}

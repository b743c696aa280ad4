// Package imageplatforms reads which platforms (os/architecture) a container
// image is built for from its registry, so that submission never places a
// pod on an architecture its image lacks: an OCI index or Docker manifest
// list gives the set, a single manifest its config's architecture.
//
// A Lookup caches what it read: a reference (a tag) for a short TTL, a
// digest forever (a digest's platforms never change), both bounded in size;
// concurrent lookups of one reference share one registry round trip, and no
// caller waits longer than the timeout. For one more TTL after a tag's
// expires, a lookup answers from the cache at once and reads the tag again
// in the background, so a steady stream of submissions of one image never
// waits for the registry after the first. It uses go-containerregistry's
// remote package, the library crane and ko are built on, rather than a
// hand-written distribution client: it already speaks the token and basic
// auth flows, manifest lists and OCI indexes.
package imageplatforms

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
)

// Defaults of Options.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultTTL         = time.Minute
	DefaultFailureTTL  = 10 * time.Second
	DefaultMaxEntries  = 4096
	unknownPlatformArc = "unknown"
)

// Options configure a Lookup. Zero values take the defaults.
type Options struct {
	// Timeout bounds how long a caller waits for the registry.
	Timeout time.Duration
	// TTL is how long a tag's digest is trusted before it is read again.
	// For one more TTL the old answer is still given, while the tag is read
	// again in the background (the first lookup after the TTL starts that
	// read); after that a lookup waits for the registry.
	TTL time.Duration
	// FailureTTL is how long a registry that could not be reached (timeout,
	// connection refused) is not asked again for that reference, so a fleet
	// of submissions does not wait on a down registry one by one.
	FailureTTL time.Duration
	// MaxEntries bounds each of the two caches (references, digests).
	MaxEntries int
	// Keychain supplies credentials besides those a caller passes (the
	// operator's own identity: ECRKeychain, the local docker config).
	Keychain authn.Keychain
	// Clock is injected by tests.
	Clock clock.PassiveClock
	// RemoteOptions are added to every registry call (tests: a transport).
	RemoteOptions []remote.Option
}

// Platform is one platform an image is built for.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// String renders the platform as os/arch[/variant], e.g. linux/arm64/v8.
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Result is what the registry says about one image.
type Result struct {
	// Image is the reference as given.
	Image string
	// Digest is the digest of the manifest or index the reference names.
	Digest string
	// Platforms are the platforms found, sorted; attestation manifests
	// (unknown/unknown) are left out.
	Platforms []Platform
	// Index says the reference names an index (manifest list).
	Index bool
	// Cached says no registry was asked.
	Cached bool
}

// Architectures are the Linux architectures of the image, sorted: the
// values of the kubernetes.io/arch node label it can run on.
func (r Result) Architectures() []string {
	var out []string
	for _, p := range r.Platforms {
		if p.OS == "linux" && !slices.Contains(out, p.Architecture) {
			out = append(out, p.Architecture)
		}
	}
	slices.Sort(out)
	return out
}

// PlatformStrings renders the platforms as os/arch[/variant].
func (r Result) PlatformStrings() []string {
	out := make([]string, len(r.Platforms))
	for i, p := range r.Platforms {
		out[i] = p.String()
	}
	return out
}

// Lookup reads images' platforms through its caches. Safe for concurrent
// use.
type Lookup struct {
	opts  Options
	group singleflight.Group

	mu sync.Mutex
	// byReference maps a tag reference to its digest (or a failure) and
	// when that was read.
	byReference *lru.Cache
	// byDigest maps a digest to its platforms.
	byDigest *lru.Cache
}

type referenceEntry struct {
	digest string
	err    *Error
	read   time.Time
}

type digestEntry struct {
	platforms []Platform
	index     bool
}

// New returns a Lookup.
func New(opts Options) *Lookup {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.FailureTTL <= 0 {
		opts.FailureTTL = DefaultFailureTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Lookup{opts: opts, byReference: lru.New(opts.MaxEntries), byDigest: lru.New(opts.MaxEntries)}
}

// Timeout is how long a caller waits at most.
func (l *Lookup) Timeout() time.Duration { return l.opts.Timeout }

// Platforms returns the platforms of image. keychain (may be nil) holds the
// caller's credentials, e.g. the application's image pull secrets; they are
// tried before the Lookup's own. authKey identifies those credentials, so
// lookups with different credentials are not merged into one round trip.
// Errors are *Error, with a Reason.
func (l *Lookup) Platforms(ctx context.Context, image string, keychain authn.Keychain, authKey string) (Result, error) {
	lookupsTotal.Inc()
	ref, err := name.ParseReference(image)
	if err != nil {
		e := &Error{Image: image, Reason: ReasonInvalidReference, Err: err}
		failuresTotal.WithLabelValues(string(e.Reason)).Inc()
		return Result{}, e
	}
	res, err, ok, stale := l.cached(image, ref)
	if ok {
		cacheHitsTotal.Inc()
		if err != nil {
			return Result{}, err
		}
		if stale {
			// Read the tag again without making this caller wait: it
			// gets the previous answer, the next ones the new. (Waiting
			// here held every submission of the image for a registry
			// round trip once a TTL, the tail of BenchmarkSubmission's
			// latency at half the raw rate.)
			l.readShared(ctx, image, ref, keychain, authKey)
		}
		return res, nil
	}
	ch := l.readShared(ctx, image, ref, keychain, authKey)
	wait := time.NewTimer(l.opts.Timeout)
	defer wait.Stop()
	select {
	case r := <-ch:
		if r.Err != nil {
			return Result{}, r.Err
		}
		res := r.Val.(Result)
		res.Cached = res.Cached || r.Shared
		return res, nil
	case <-wait.C:
		e := &Error{Image: image, Reason: ReasonTimeout, Err: fmt.Errorf("no answer within %s", l.opts.Timeout)}
		return Result{}, e
	case <-ctx.Done():
		return Result{}, &Error{Image: image, Reason: ReasonTimeout, Err: ctx.Err()}
	}
}

// readShared starts (or joins) the registry read of ref with keychain's
// credentials, detached from the caller: another caller may share this
// round trip, and a result that arrives after the caller gave up still
// fills the cache for the next one.
func (l *Lookup) readShared(ctx context.Context, image string, ref name.Reference, keychain authn.Keychain, authKey string) <-chan singleflight.Result {
	return l.group.DoChan(ref.Name()+"\x00"+authKey, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.Timeout)
		defer cancel()
		return l.read(rctx, image, ref, keychain)
	})
}

// cached answers from the caches when it can; stale says the answer is a
// tag's past its TTL (but within a second one), to be read again.
func (l *Lookup) cached(image string, ref name.Reference) (res Result, err error, ok, stale bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	digest := ""
	if d, ok := ref.(name.Digest); ok {
		digest = d.DigestStr()
	} else if v, ok := l.byReference.Get(ref.Name()); ok {
		e := v.(referenceEntry)
		age := l.opts.Clock.Since(e.read)
		switch {
		case e.err != nil && age < l.opts.FailureTTL:
			return Result{}, e.err, true, false
		case e.err == nil && age < 2*l.opts.TTL:
			digest, stale = e.digest, age >= l.opts.TTL
		}
	}
	if digest == "" {
		return Result{}, nil, false, false
	}
	v, ok := l.byDigest.Get(digest)
	if !ok {
		return Result{}, nil, false, false
	}
	d := v.(digestEntry)
	return Result{Image: image, Digest: digest, Platforms: d.platforms, Index: d.index, Cached: true}, nil, true, stale
}

// read asks the registry and fills the caches.
func (l *Lookup) read(ctx context.Context, image string, ref name.Reference, keychain authn.Keychain) (Result, error) {
	start := l.opts.Clock.Now()
	res, err := l.readRemote(ctx, image, ref, keychain)
	lookupDuration.Observe(l.opts.Clock.Since(start).Seconds())
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		e := classify(image, err)
		failuresTotal.WithLabelValues(string(e.Reason)).Inc()
		if e.Reason == ReasonTimeout || e.Reason == ReasonUnreachable {
			// Only what says nothing about credentials is remembered: a
			// 401 for one application's secrets is not another's answer.
			l.byReference.Add(ref.Name(), referenceEntry{err: e, read: l.opts.Clock.Now()})
		}
		return Result{}, e
	}
	if _, ok := ref.(name.Digest); !ok {
		l.byReference.Add(ref.Name(), referenceEntry{digest: res.Digest, read: l.opts.Clock.Now()})
	}
	l.byDigest.Add(res.Digest, digestEntry{platforms: res.Platforms, index: res.Index})
	return res, nil
}

func (l *Lookup) readRemote(ctx context.Context, image string, ref name.Reference, keychain authn.Keychain) (Result, error) {
	var keys chain
	if keychain != nil {
		keys = append(keys, keychain)
	}
	if l.opts.Keychain != nil {
		keys = append(keys, l.opts.Keychain)
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keys)}, l.opts.RemoteOptions...)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return Result{}, err
	}
	res := Result{Image: image, Digest: desc.Digest.String()}
	switch {
	case desc.MediaType.IsIndex():
		res.Index = true
		idx, err := desc.ImageIndex()
		if err != nil {
			return Result{}, err
		}
		manifest, err := idx.IndexManifest()
		if err != nil {
			return Result{}, err
		}
		for _, m := range manifest.Manifests {
			if m.Platform == nil || m.Platform.OS == unknownPlatformArc || m.Platform.Architecture == unknownPlatformArc {
				continue // attestations, or an entry that says nothing
			}
			res.Platforms = appendPlatform(res.Platforms, *m.Platform)
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return Result{}, err
		}
		config, err := img.ConfigFile()
		if err != nil {
			return Result{}, err
		}
		res.Platforms = appendPlatform(nil, v1.Platform{OS: config.OS, Architecture: config.Architecture, Variant: config.Variant})
	default:
		return Result{}, &Error{Image: image, Reason: ReasonNotAnImage, Err: fmt.Errorf("the registry returned media type %s, neither an image nor an index", desc.MediaType)}
	}
	slices.SortFunc(res.Platforms, func(a, b Platform) int { return strings.Compare(a.String(), b.String()) })
	return res, nil
}

func appendPlatform(out []Platform, p v1.Platform) []Platform {
	q := Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	if q.OS == "" {
		q.OS = "linux" // Docker schema 1 era configs leave it out
	}
	if slices.Contains(out, q) {
		return out
	}
	return append(out, q)
}

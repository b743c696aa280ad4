package imageplatforms_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
)

func startRegistry(t *testing.T) *registrytest.Registry {
	t.Helper()
	r, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func pullSecrets(host string) *imageplatforms.PullSecrets {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "registry"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: registrytest.DockerConfigJSON(host)},
	}
	return imageplatforms.PullSecretKeychain(func(_ context.Context, name string) (*corev1.Secret, error) {
		if name != secret.Name {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
		}
		return secret, nil
	}, []string{"missing", "registry"})
}

func TestPlatforms(t *testing.T) {
	reg := startRegistry(t)
	cases := map[string]struct {
		image    string
		keychain authn.Keychain
		want     []string
		arches   []string
		index    bool
		reason   imageplatforms.Reason
	}{
		"two-platform index":    {image: reg.Image(registrytest.MultiArchRepo), want: []string{"linux/amd64", "linux/arm64"}, arches: []string{"amd64", "arm64"}, index: true},
		"amd64 only":            {image: reg.Image(registrytest.AMD64Repo), want: []string{"linux/amd64"}, arches: []string{"amd64"}},
		"arm64 only":            {image: reg.Image(registrytest.ARM64Repo), want: []string{"linux/arm64"}, arches: []string{"arm64"}},
		"basic auth, secret":    {image: reg.Image(registrytest.PrivateRepo), keychain: pullSecrets(reg.Host), want: []string{"linux/amd64", "linux/arm64"}, arches: []string{"amd64", "arm64"}, index: true},
		"basic auth, no secret": {image: reg.Image(registrytest.PrivateRepo), reason: imageplatforms.ReasonUnauthorized},
		"no such tag":           {image: reg.Image("spark:0.0.0"), reason: imageplatforms.ReasonNotFound},
		"invalid reference":     {image: "Spark:UPPER CASE", reason: imageplatforms.ReasonInvalidReference},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := imageplatforms.New(imageplatforms.Options{})
			res, err := l.Platforms(context.Background(), tc.image, tc.keychain, name)
			if tc.reason != "" {
				var e *imageplatforms.Error
				if !errors.As(err, &e) || e.Reason != tc.reason {
					t.Fatalf("err = %v, want reason %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.PlatformStrings()); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.arches, res.Architectures()); diff != "" {
				t.Errorf("architectures (-want +got):\n%s", diff)
			}
			if res.Index != tc.index || len(res.Digest) != len("sha256:")+64 || res.Cached {
				t.Errorf("index=%v digest=%q cached=%v, want index=%v, a sha256 digest, not cached", res.Index, res.Digest, res.Cached, tc.index)
			}
		})
	}
}

// TestCache: a tag is read once per TTL, a digest once for good, and the
// caches stay within their bound.
func TestCache(t *testing.T) {
	reg := startRegistry(t)
	clock := clocktesting.NewFakePassiveClock(time.Now())
	l := imageplatforms.New(imageplatforms.Options{Clock: clock, TTL: time.Minute, MaxEntries: 2})
	ctx := context.Background()
	image := reg.Image(registrytest.AMD64Repo)

	first, err := l.Platforms(ctx, image, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	trips := reg.Requests.Load()
	if trips == 0 {
		t.Fatal("the first lookup asked the registry nothing")
	}
	hitsBefore := testutil.ToFloat64(imageplatforms.CacheHitsTotal)
	for range 50 {
		res, err := l.Platforms(ctx, image, nil, "")
		if err != nil || !res.Cached || res.Digest != first.Digest {
			t.Fatalf("repeat lookup: %+v, %v; want the cached digest %s", res, err, first.Digest)
		}
	}
	if n := reg.Requests.Load(); n != trips {
		t.Errorf("50 repeat lookups within the TTL cost %d registry requests, want 0", n-trips)
	}
	if got := testutil.ToFloat64(imageplatforms.CacheHitsTotal) - hitsBefore; got != 50 {
		t.Errorf("cache hits metric rose by %v, want 50", got)
	}

	// Past the TTL, within a second one: the cached answer at once (the
	// registry answers slowly here), and the tag read again behind it.
	one, err := reg.RequestsOfOneLookup(registrytest.AMD64Repo)
	if err != nil {
		t.Fatal(err)
	}
	trips = reg.Requests.Load()
	reg.Delay.Store(int64(200 * time.Millisecond))
	clock.SetTime(clock.Now().Add(61 * time.Second))
	start := time.Now()
	if res, err := l.Platforms(ctx, image, nil, ""); err != nil || !res.Cached || res.Digest != first.Digest {
		t.Fatalf("after the TTL: %+v, %v; want the cached digest at once", res, err)
	}
	if took := time.Since(start); took > 150*time.Millisecond {
		t.Errorf("the lookup after the TTL took %s: it waited for the registry", took)
	}
	// Once that read is in, the tag is fresh again.
	deadline := time.Now().Add(10 * time.Second)
	for reg.Requests.Load() < trips+one && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := reg.Requests.Load() - trips; n != one {
		t.Fatalf("after the TTL the registry was asked %d requests in the background, want one lookup's %d", n, one)
	}
	time.Sleep(300 * time.Millisecond) // the last answer's delay, and the cache filled
	reg.Delay.Store(0)
	afterRefresh := reg.Requests.Load()
	clock.SetTime(clock.Now().Add(59 * time.Second))
	if res, err := l.Platforms(ctx, image, nil, ""); err != nil || !res.Cached {
		t.Fatalf("within the TTL of the background read: %+v, %v; want the cached digest", res, err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := reg.Requests.Load(); n != afterRefresh {
		t.Errorf("a lookup within the TTL of the background read cost %d requests, want 0", n-afterRefresh)
	}
	// Past two TTLs: the old answer is too old to give; the caller waits
	// for a fresh read.
	clock.SetTime(clock.Now().Add(2 * time.Minute))
	if res, err := l.Platforms(ctx, image, nil, ""); err != nil || res.Cached {
		t.Fatalf("after two TTLs: %+v, %v; want a fresh read", res, err)
	}

	// By digest: cached for good, whatever the clock says; a stopped
	// registry does not matter.
	byDigest := reg.Host + "/spark@" + first.Digest
	if _, err := l.Platforms(ctx, byDigest, nil, ""); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	clock.SetTime(clock.Now().Add(24 * time.Hour))
	if res, err := l.Platforms(ctx, byDigest, nil, ""); err != nil || !res.Cached || !slices.Equal(res.Architectures(), []string{"amd64"}) {
		t.Errorf("a digest a day later with the registry down: %+v, %v; want amd64 from the cache", res, err)
	}
}

// TestCacheBounded: with MaxEntries 2, a third digest evicts the oldest.
func TestCacheBounded(t *testing.T) {
	reg := startRegistry(t)
	l := imageplatforms.New(imageplatforms.Options{MaxEntries: 2})
	ctx := context.Background()
	digests := map[string]string{}
	for _, repo := range []string{registrytest.AMD64Repo, registrytest.ARM64Repo, registrytest.MultiArchRepo} {
		res, err := l.Platforms(ctx, reg.Image(repo), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		digests[repo] = reg.Host + "/spark@" + res.Digest
	}
	reg.Close()
	if _, err := l.Platforms(ctx, digests[registrytest.AMD64Repo], nil, ""); err == nil {
		t.Error("the oldest of three digests was still cached with a bound of 2")
	}
	if _, err := l.Platforms(ctx, digests[registrytest.MultiArchRepo], nil, ""); err != nil {
		t.Errorf("the newest digest: %v", err)
	}
}

// TestConcurrentLookupsShareOneRoundTrip: a fleet of submissions of one
// image costs one registry round trip.
func TestConcurrentLookupsShareOneRoundTrip(t *testing.T) {
	reg := startRegistry(t)
	reg.Delay.Store(int64(200 * time.Millisecond))
	l := imageplatforms.New(imageplatforms.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.Platforms(context.Background(), reg.Image(registrytest.MultiArchRepo), nil, "")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	shared := reg.Requests.Load()
	one, err := reg.RequestsOfOneLookup(registrytest.MultiArchRepo)
	if err != nil {
		t.Fatal(err)
	}
	if shared != one {
		t.Errorf("20 concurrent lookups cost %d requests; one lookup alone costs %d", shared, one)
	}
}

// TestRegistryFailures: down, slow and refusing registries answer within
// the timeout plus a margin, with the reason.
func TestRegistryFailures(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const margin = 200 * time.Millisecond
	down, err := registrytest.Down()
	if err != nil {
		t.Fatal(err)
	}
	slow := startRegistry(t)
	slow.Delay.Store(int64(5 * time.Second))
	refusing := startRegistry(t)
	refusing.Refuse.Store(true)
	cases := map[string]struct {
		image  string
		reason imageplatforms.Reason
	}{
		"down": {image: down + "/" + registrytest.AMD64Repo, reason: imageplatforms.ReasonUnreachable},
		"slow": {image: slow.Image(registrytest.AMD64Repo), reason: imageplatforms.ReasonTimeout},
		"401":  {image: refusing.Image(registrytest.AMD64Repo), reason: imageplatforms.ReasonUnauthorized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := imageplatforms.New(imageplatforms.Options{Timeout: timeout})
			failuresBefore := testutil.ToFloat64(imageplatforms.FailuresTotal(string(tc.reason)))
			start := time.Now()
			_, err := l.Platforms(context.Background(), tc.image, nil, "")
			took := time.Since(start)
			var e *imageplatforms.Error
			if !errors.As(err, &e) || e.Reason != tc.reason {
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			}
			if took > timeout+margin {
				t.Errorf("took %s, want at most the timeout %s plus %s", took, timeout, margin)
			}
			if tc.reason != imageplatforms.ReasonTimeout {
				// The timed-out read counts its failure when it ends.
				if got := testutil.ToFloat64(imageplatforms.FailuresTotal(string(tc.reason))) - failuresBefore; got != 1 {
					t.Errorf("failures{reason=%s} rose by %v, want 1", tc.reason, got)
				}
			}
			// A registry that cannot be reached is not asked again at once.
			if tc.reason != imageplatforms.ReasonUnauthorized {
				start = time.Now()
				_, err = l.Platforms(context.Background(), tc.image, nil, "")
				if !errors.As(err, &e) || time.Since(start) > margin {
					t.Errorf("second lookup: %v after %s; want the remembered failure at once", err, time.Since(start))
				}
			}
		})
	}
}

func TestPullSecretsSkipped(t *testing.T) {
	reg := startRegistry(t)
	kc := pullSecrets(reg.Host)
	if _, err := imageplatforms.New(imageplatforms.Options{}).Platforms(context.Background(), reg.Image(registrytest.PrivateRepo), kc, "x"); err != nil {
		t.Fatal(err)
	}
	if got := kc.Skipped(); len(got) != 1 || !strings.Contains(got[0], "imagePullSecret missing") {
		t.Errorf("skipped = %q, want the missing secret named", got)
	}
}

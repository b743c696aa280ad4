package imageplatforms_test

import (
	"context"
	"testing"

	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
)

// BenchmarkPlatforms measures what a submission pays for an image's
// platforms: from the cache (every submission of an image within the TTL
// but the first), against the reference in the same run, a lookup that
// asks the in-process loopback registry (manifest and, for a single
// manifest, its config: no network latency, so a real registry costs more).
func BenchmarkPlatforms(b *testing.B) {
	reg, err := registrytest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	image := reg.Image(registrytest.AMD64Repo)
	var registryNs, cachedNs float64
	b.Run("reference-registry", func(b *testing.B) {
		for b.Loop() {
			if _, err := imageplatforms.New(imageplatforms.Options{}).Platforms(ctx, image, nil, ""); err != nil {
				b.Fatal(err)
			}
		}
		registryNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("cached", func(b *testing.B) {
		l := imageplatforms.New(imageplatforms.Options{})
		if _, err := l.Platforms(ctx, image, nil, ""); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := l.Platforms(ctx, image, nil, ""); err != nil {
				b.Fatal(err)
			}
		}
		cachedNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if cachedNs > 0 {
		b.Logf("image platforms: %.2f µs from the cache; %.0f µs from the loopback registry; ratio %.0fx",
			cachedNs/1e3, registryNs/1e3, registryNs/cachedNs)
	}
}

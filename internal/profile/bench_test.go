package profile

import (
	"fmt"
	"testing"
)

// BenchmarkResolve measures one resolution as the operator runs it per
// submission: the built-in profiles, 300 nodes in 3 zones with free
// capacity. The reference in the same run is DeepCopy of the application,
// the least any resolution must do.
func BenchmarkResolve(b *testing.B) {
	var nodes []NodeCapacity
	for i := range 300 {
		zone := fmt.Sprintf("zone-%c", 'a'+i%3)
		arch, capacity := "arm64", "spot"
		if i%2 == 1 {
			arch = "amd64"
		}
		if i%5 == 0 {
			capacity = "on-demand"
		}
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), zone, arch, capacity, "15", "60Gi"))
	}
	in := ResolveInput{Application: newApp(), Profiles: installed(1), Zones: ZoneInput{Nodes: nodes}}
	var copyNs, resolveNs float64
	b.Run("reference-deepcopy", func(b *testing.B) {
		for b.Loop() {
			_ = in.Application.DeepCopy()
		}
		copyNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("resolve", func(b *testing.B) {
		for b.Loop() {
			if _, err := Resolve(in); err != nil {
				b.Fatal(err)
			}
		}
		resolveNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if copyNs > 0 {
		b.Logf("resolve: %.1f µs per application (300 nodes); DeepCopy of the application: %.2f µs; ratio %.0fx",
			resolveNs/1e3, copyNs/1e3, resolveNs/copyNs)
	}
}

package controller

import (
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// TestPlatformRulesUseOperatorMetrics keeps the platform bundle's recording
// rules and alerts in step with the metrics the controllers register: a rule
// over a metric nobody exports would never fire.
func TestPlatformRulesUseOperatorMetrics(t *testing.T) {
	bundle, err := platform.Render(platform.DefaultConfig(platform.ProviderAWS))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := platform.MarshalYAML(bundle.Resources()...)
	if err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for _, name := range regexp.MustCompile(`sparkplane_[a-z_]+`).FindAllString(string(rendered), -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			name = strings.TrimSuffix(name, suffix)
		}
		referenced[name] = true
	}
	if len(referenced) == 0 {
		t.Fatal("the platform bundle references no sparkplane_ metric; the rules are gone or this test is stale")
	}
	for name := range referenced {
		if !isRecordingRule(string(rendered), name) && !registered(name) {
			t.Errorf("platform rules use %s, which no controller registers", name)
		}
	}
}

// registered reports whether a collector of that name is in the controller
// metrics registry. A vector with no series yet is absent from Gather, so ask
// the registry to take a probe of the same name: it refuses one it already has.
func registered(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
	if err := metrics.Registry.Register(probe); err != nil {
		return true
	}
	metrics.Registry.Unregister(probe)
	return false
}

// isRecordingRule reports whether name is defined by a recording rule of the
// bundle itself rather than exported by the operator.
func isRecordingRule(rendered, name string) bool {
	return strings.Contains(rendered, "record: "+name)
}

// TestProfilesUseThePlatformShuffleClass keeps the storage class the built-in
// profiles write into spark.properties equal to the one the platform bundle
// creates: otherwise every executor waits for a claim that cannot bind.
func TestProfilesUseThePlatformShuffleClass(t *testing.T) {
	for _, provider := range []platform.Provider{platform.ProviderAWS, platform.ProviderKWOK} {
		if got := platform.DefaultConfig(provider).Storage.ShuffleStorageClass; got != profile.DefaultShuffleStorageClass {
			t.Errorf("%s bundle's shuffle StorageClass is %q, the profiles write %q", provider, got, profile.DefaultShuffleStorageClass)
		}
	}
}

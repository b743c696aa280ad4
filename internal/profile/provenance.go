package profile

import (
	"fmt"
	"sort"
)

// SourceKind says which layer an effective setting came from.
type SourceKind string

// The layers, lowest precedence first.
const (
	SourceBuiltin     SourceKind = "built-in default"
	SourceProfile     SourceKind = "profile"
	SourceApplication SourceKind = "application"
)

// Source is where one effective setting came from.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Profile and Generation name the SparkProfile when Kind is profile.
	Profile    string `json:"profile,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// Image names the image (reference@digest) when Kind is image.
	Image string `json:"image,omitempty"`
}

// String renders the source as explain prints it: "application",
// "profile cost-optimized at generation 3" or "built-in default".
func (s Source) String() string {
	switch s.Kind {
	case SourceProfile:
		return fmt.Sprintf("profile %s at generation %d", s.Profile, s.Generation)
	case SourceImage:
		return "image " + s.Image
	}
	return string(s.Kind)
}

var (
	builtinSource     = Source{Kind: SourceBuiltin}
	applicationSource = Source{Kind: SourceApplication}
)

// Setting is one effective setting of the resolved application.
type Setting struct {
	// Field is the path of the setting in the effective SparkApplication, e.g.
	// spec.sparkConf[spark.decommission.enabled] or
	// spec.driver.affinity.nodeAffinity.required[karpenter.sh/capacity-type].
	Field string `json:"field"`
	// Value is the setting rendered as text.
	Value string `json:"value"`
	// Source is the layer that decided it.
	Source Source `json:"source"`
	// Policy names the profile field behind it (e.g. shuffleStorage,
	// executor.tiers); empty for the application's own settings.
	Policy string `json:"policy,omitempty"`
}

// provenance collects Settings; the last write of a field wins, as the
// layers are applied lowest first.
type provenance struct {
	byField map[string]Setting
}

func newProvenance() *provenance { return &provenance{byField: map[string]Setting{}} }

func (p *provenance) record(field, value string, src Source, policy string) {
	p.byField[field] = Setting{Field: field, Value: value, Source: src, Policy: policy}
}

// settings returns the settings sorted by field.
func (p *provenance) settings() []Setting {
	out := make([]Setting, 0, len(p.byField))
	for _, s := range p.byField {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

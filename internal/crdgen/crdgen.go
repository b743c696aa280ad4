// Package crdgen generates random objects from a CRD's OpenAPI v3 schema:
// every value has the type, enum, bounds and length the schema asks for
// where it says, and is random otherwise (strings that are empty, huge,
// non-ASCII or look like Spark values; extreme numbers; optional fields left
// out at random). The fuzz tests of submission and profile resolution feed
// on it (issue 18, "Bad input"). It is pure: a seed in, JSON values out.
package crdgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Generator draws values from a seeded source.
type Generator struct {
	rnd *rand.Rand
	// MaxDepth stops nesting: below it, optional fields are left out and
	// arrays and maps are empty. 12 when zero.
	MaxDepth int
}

// New returns a Generator whose values depend only on seed.
func New(seed uint64) *Generator {
	return &Generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Schema returns the OpenAPI v3 schema of crd's first served version.
func Schema(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensionsv1.JSONSchemaProps, error) {
	for _, v := range crd.Spec.Versions {
		if v.Served && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			return v.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("CRD %s has no served version with a schema", crd.Name)
}

// Object generates an object of schema, which must be an object schema (a
// CRD's root or its spec).
func (g *Generator) Object(schema *apiextensionsv1.JSONSchemaProps) map[string]any {
	v, _ := g.Value(schema, 0).(map[string]any)
	if v == nil {
		v = map[string]any{}
	}
	return v
}

// Value generates one value of schema at depth.
func (g *Generator) Value(s *apiextensionsv1.JSONSchemaProps, depth int) any {
	maxDepth := g.MaxDepth
	if maxDepth == 0 {
		maxDepth = 12
	}
	if len(s.Enum) > 0 {
		var v any
		_ = json.Unmarshal(s.Enum[g.rnd.IntN(len(s.Enum))].Raw, &v)
		return v
	}
	if s.XIntOrString {
		if g.rnd.IntN(2) == 0 {
			return g.integer(s)
		}
		return g.str(s, quantities)
	}
	switch s.Type {
	case "object":
		return g.object(s, depth, maxDepth)
	case "array":
		n := 0
		if depth < maxDepth {
			n = g.rnd.IntN(4)
		}
		if s.MinItems != nil && int64(n) < *s.MinItems {
			n = int(*s.MinItems)
		}
		if s.MaxItems != nil && int64(n) > *s.MaxItems {
			n = int(*s.MaxItems)
		}
		out := make([]any, 0, n)
		if s.Items != nil && s.Items.Schema != nil {
			for i := 0; i < n; i++ {
				out = append(out, g.Value(s.Items.Schema, depth+1))
			}
		}
		return out
	case "string":
		return g.str(s, strs)
	case "integer":
		return g.integer(s)
	case "number":
		return float64(g.integer(s)) + g.rnd.Float64()
	case "boolean":
		return g.rnd.IntN(2) == 0
	}
	if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
		return map[string]any{"k": g.pick(strs)}
	}
	return nil
}

func (g *Generator) object(s *apiextensionsv1.JSONSchemaProps, depth, maxDepth int) map[string]any {
	out := map[string]any{}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names) // the draws depend on the seed only, not map order
	// Deeper objects get fewer optional fields, so objects stay small.
	keep := 0.3 / float64(1+depth)
	for _, name := range names {
		if !required[name] && (depth >= maxDepth || g.rnd.Float64() > keep) {
			continue
		}
		prop := s.Properties[name]
		out[name] = g.Value(&prop, depth+1)
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil && depth < maxDepth {
		for i, n := 0, g.rnd.IntN(4); i < n; i++ {
			out[g.pick(keys)] = g.Value(ap.Schema, depth+1)
		}
	}
	return out
}

func (g *Generator) integer(s *apiextensionsv1.JSONSchemaProps) int64 {
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	if s.Format == "int64" {
		lo, hi = math.MinInt64/2, math.MaxInt64/2
	}
	if s.Minimum != nil {
		lo = int64(math.Ceil(*s.Minimum))
		if s.ExclusiveMinimum {
			lo++
		}
	}
	if s.Maximum != nil {
		hi = int64(math.Floor(*s.Maximum))
		if s.ExclusiveMaximum {
			hi--
		}
	}
	if hi < lo {
		return lo
	}
	candidates := []int64{lo, hi, 0, 1, 2, -1, 3, 100, 1 << 20}
	v := candidates[g.rnd.IntN(len(candidates))]
	if g.rnd.IntN(3) == 0 {
		v = lo + g.rnd.Int64N(min(hi-lo, math.MaxInt64-1)+1)
	}
	return min(max(v, lo), hi)
}

func (g *Generator) pick(from []string) string { return from[g.rnd.IntN(len(from))] }

// str draws a string that meets the schema's pattern and length when one of
// the candidates does, and a random one otherwise.
func (g *Generator) str(s *apiextensionsv1.JSONSchemaProps, candidates []string) string {
	var pattern *regexp.Regexp
	if s.Pattern != "" {
		pattern, _ = regexp.Compile(s.Pattern)
	}
	fits := func(v string) bool {
		n := int64(len([]rune(v)))
		if s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			return false
		}
		return pattern == nil || pattern.MatchString(v)
	}
	if s.Format == "date-time" {
		return "2026-01-02T03:04:05Z"
	}
	for tries := 0; tries < 8; tries++ {
		v := g.pick(candidates)
		if g.rnd.IntN(24) == 0 {
			v = g.long(s)
		}
		if fits(v) {
			return v
		}
	}
	var fitting []string
	for _, v := range append(append([]string{}, candidates...), strs...) {
		if fits(v) {
			fitting = append(fitting, v)
		}
	}
	if len(fitting) > 0 {
		return g.pick(fitting)
	}
	return g.pick(candidates)
}

// long is a string as long as the schema allows, up to 8 KiB.
func (g *Generator) long(s *apiextensionsv1.JSONSchemaProps) string {
	n := 1 + g.rnd.IntN(8<<10)
	if s.MaxLength != nil && int64(n) > *s.MaxLength {
		n = int(*s.MaxLength)
	}
	return strings.Repeat("x", n)
}

// strs are the strings drawn for a string field: empty, odd and plausible.
var strs = []string{
	"", "a", "spark", "driver", "executor", "1", "0", "-1", "1g", "512m", "2Gi", "0.5", "100m",
	"apache/spark:3.5.3", "local:///opt/spark/examples/jars/spark-examples.jar", "s3a://bucket/app.py",
	"org.apache.spark.examples.SparkPi", "cluster", "client", "Always", "IfNotPresent", "default",
	"cost-optimized", "kubernetes.io/arch", "arm64", "amd64", "spot", "on-demand", "NoSchedule",
	"spark.executor.cores", "spark.kubernetes.driver.pod.name", "a b", "ü/ñ\u202e", "../../etc/passwd",
	"${HOSTNAME}", "--conf", "{{$appName}}", "x=y", "\n", "UPPER_case", strings.Repeat("y", 64), strings.Repeat("z", 300),
}

// quantities are strings drawn for int-or-string fields.
var quantities = []string{"1", "0", "1500m", "2", "0.5", "1g", "4Gi", "512m", "-1", "1e3", "huge", ""}

// keys are the keys of generated maps (labels, annotations, sparkConf).
var keys = []string{
	"a", "app", "spark.executor.memory", "spark.executor.instances", "spark.app.id", "spark.master",
	"spark.kubernetes.namespace", "spark.dynamicAllocation.enabled", "spark.sparkplane.emulator.seed",
	"sparkplane.io/application", "spark-role", "example.com/team", "kubernetes.io/arch", "", "UPPER", "a b",
}

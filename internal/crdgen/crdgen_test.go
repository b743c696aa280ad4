package crdgen

import (
	"encoding/json"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

func TestValuesFollowTheSchema(t *testing.T) {
	schema := &apiextensionsv1.JSONSchemaProps{Type: "object", Required: []string{"kind", "count"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"kind":  {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"Scala"`)}, {Raw: []byte(`"Python"`)}}},
		"count": {Type: "integer", Minimum: ptr.To(1.0), Maximum: ptr.To(8.0)},
		"name":  {Type: "string", MaxLength: ptr.To[int64](5), Pattern: `^[a-z]+$`},
		"tags":  {Type: "array", MaxItems: ptr.To[int64](2), Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}},
	}}
	for seed := uint64(0); seed < 500; seed++ {
		obj := New(seed).Object(schema)
		if k := obj["kind"]; k != "Scala" && k != "Python" {
			t.Fatalf("seed %d: kind %v is not in the enum", seed, k)
		}
		if c, ok := obj["count"].(int64); !ok || c < 1 || c > 8 {
			t.Fatalf("seed %d: count %v is outside [1, 8]", seed, obj["count"])
		}
		if n, ok := obj["name"].(string); ok && (len(n) > 5 || n == "") {
			t.Fatalf("seed %d: name %q breaks maxLength 5 or the pattern", seed, n)
		}
		if tags, ok := obj["tags"].([]any); ok && len(tags) > 2 {
			t.Fatalf("seed %d: %d tags, maxItems 2", seed, len(tags))
		}
		again, _ := json.Marshal(New(seed).Object(schema))
		first, _ := json.Marshal(obj)
		if string(again) != string(first) {
			t.Fatalf("seed %d: two draws differ:\n%s\n%s", seed, first, again)
		}
	}
}

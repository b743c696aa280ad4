package operator

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestVersionLabel(t *testing.T) {
	for in, want := range map[string]string{
		"v0.3.0":                  "v0.3.0",
		"dev":                     "dev",
		"v1.0.0+build.5":          "v1.0.0-build.5",
		"-v1-":                    "v1",
		strings.Repeat("a", 70):   strings.Repeat("a", 63),
		"v1.2.3-rc.1+sha.abcdef.": "v1.2.3-rc.1-sha.abcdef",
	} {
		got := VersionLabel(in)
		if got != want {
			t.Errorf("VersionLabel(%q) = %q, want %q", in, got, want)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("VersionLabel(%q) = %q is not a label value: %v", in, got, errs)
		}
	}
}

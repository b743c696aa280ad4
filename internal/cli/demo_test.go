package cli

import (
	"strings"
	"testing"
)

func TestDemoValidate(t *testing.T) {
	cases := map[string]struct {
		opts demoOptions
		want string // "" = valid
	}{
		"defaults":          {demoOptions{apps: 12, reportDir: "demo-report", noticeVia: "karpenter"}, ""},
		"nth, ablated":      {demoOptions{apps: 4, reportDir: "r", noticeVia: "nth", ablate: []string{"interruption"}}, ""},
		"no apps":           {demoOptions{apps: 0, reportDir: "r", noticeVia: "karpenter"}, "--apps 0 is out of range"},
		"too many":          {demoOptions{apps: 201, reportDir: "r", noticeVia: "karpenter"}, "--apps 201 is out of range"},
		"no report":         {demoOptions{apps: 1, noticeVia: "karpenter"}, "--report-dir is empty"},
		"unknown via":       {demoOptions{apps: 1, reportDir: "r", noticeVia: "imds"}, `--notice-via "imds" is not known: use one of karpenter, nth, spot-itn`},
		"unknown ablate":    {demoOptions{apps: 1, reportDir: "r", noticeVia: "nth", ablate: []string{"profiles"}}, `--ablate "profiles" is not known`},
		"two clusters":      {demoOptions{apps: 6, reportDir: "r", noticeVia: "karpenter", clusters: 2}, ""},
		"three clusters":    {demoOptions{apps: 6, reportDir: "r", noticeVia: "karpenter", clusters: 3}, "--clusters 3 is not supported: use 2"},
		"clusters, one app": {demoOptions{apps: 1, reportDir: "r", noticeVia: "karpenter", clusters: 2}, "--apps 1 is too few for --clusters 2"},
		"clusters, ablated": {demoOptions{apps: 6, reportDir: "r", noticeVia: "karpenter", clusters: 2, ablate: []string{"interruption"}}, "drop --ablate and --notice-via"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.opts.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDemoCommandFlags(t *testing.T) {
	cmd := newDemoCommand()
	for flag, def := range map[string]string{"apps": "12", "seed": "7", "report-dir": "demo-report", "keep": "false", "notice-via": "karpenter", "ablate": "[]", "clusters": "0"} {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			t.Errorf("no --%s flag", flag)
			continue
		}
		if f.DefValue != def {
			t.Errorf("--%s defaults to %q, want %q", flag, f.DefValue, def)
		}
	}
}

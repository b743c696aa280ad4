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
		"defaults":  {demoOptions{apps: 12, reportDir: "demo-report"}, ""},
		"no apps":   {demoOptions{apps: 0, reportDir: "r"}, "--apps 0 is out of range"},
		"too many":  {demoOptions{apps: 201, reportDir: "r"}, "--apps 201 is out of range"},
		"no report": {demoOptions{apps: 1}, "--report-dir is empty"},
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
	for flag, def := range map[string]string{"apps": "12", "seed": "7", "report-dir": "demo-report", "keep": "false"} {
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

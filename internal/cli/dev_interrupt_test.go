package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/sparkplane/sparkplane/internal/devcluster/notice"
)

func TestDevInterruptValidate(t *testing.T) {
	cases := map[string]struct {
		opts    devInterruptOptions
		wantErr string
	}{
		"named nodes":       {opts: devInterruptOptions{via: notice.ViaKarpenter, notice: 2 * time.Minute, nodes: []string{"a"}}},
		"random with seed":  {opts: devInterruptOptions{via: notice.ViaNTH, notice: time.Minute, random: 3, seed: 7}},
		"zero notice":       {opts: devInterruptOptions{via: notice.ViaAutoscaler, nodes: []string{"a"}}},
		"unknown via":       {opts: devInterruptOptions{via: "aws", nodes: []string{"a"}}, wantErr: `--via "aws" is not known: use karpenter, nth, spot-itn or autoscaler`},
		"negative notice":   {opts: devInterruptOptions{via: notice.ViaNTH, notice: -time.Second, nodes: []string{"a"}}, wantErr: "--notice -1s is negative"},
		"nothing to do":     {opts: devInterruptOptions{via: notice.ViaNTH}, wantErr: "no nodes: name the nodes to interrupt, or pick some with --random N"},
		"both":              {opts: devInterruptOptions{via: notice.ViaNTH, random: 1, nodes: []string{"a"}}, wantErr: "use one or the other"},
		"negative random":   {opts: devInterruptOptions{via: notice.ViaNTH, random: -1}, wantErr: "--random -1 is negative"},
		"seed without pick": {opts: devInterruptOptions{via: notice.ViaNTH, seed: 3, nodes: []string{"a"}}, wantErr: "--seed only applies to --random"},
		"bad remove-at":     {opts: devInterruptOptions{via: notice.ViaNTH, removeAt: "soon", nodes: []string{"a"}}, wantErr: `--remove-at "soon" is not an RFC 3339 time`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.opts.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

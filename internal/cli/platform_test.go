package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestPlatformRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	out, err := runCommand(t, "platform", "render", "--provider", "aws", "--out", dir)
	if err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	if !strings.Contains(out, "wrote the aws platform bundle") {
		t.Errorf("output %q", out)
	}
	for _, name := range []string{"README.md", "kustomization.yaml", "nodepools.yaml", "nodeclasses.yaml", "prometheus-rules.yaml", "patches/ebs-csi-controller.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("bundle lacks %s: %v", name, err)
		}
	}
	nodeclasses, _ := os.ReadFile(filepath.Join(dir, "nodeclasses.yaml"))
	if !strings.Contains(string(nodeclasses), "bottlerocket@") {
		t.Errorf("aws node classes are not Bottlerocket:\n%s", nodeclasses)
	}
}

func TestPlatformRenderErrors(t *testing.T) {
	badConfig := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(badConfig, []byte("executors:\n  cpuLimits: {arm64Spot: 0, amd64Spot: -3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"no provider":    {[]string{"platform", "render", "--out", t.TempDir()}, "--provider is required"},
		"bad provider":   {[]string{"platform", "render", "--provider", "gcp", "--out", t.TempDir()}, `provider "gcp" is not supported`},
		"no out":         {[]string{"platform", "render", "--provider", "kwok"}, "--out is required"},
		"bad config":     {[]string{"platform", "render", "--provider", "aws", "--config", badConfig, "--out", t.TempDir()}, "executors.cpuLimits.amd64Spot: -3 vCPUs: must be positive"},
		"missing file":   {[]string{"platform", "render", "--provider", "aws", "--config", "/nonexistent.yaml", "--out", t.TempDir()}, "--config: open /nonexistent.yaml"},
		"plan: no nodes": {[]string{"platform", "plan-network", "--nodes", "0", "--executors", "10"}, "--nodes: 0"},
		"plan: too big":  {[]string{"platform", "plan-network", "--nodes", "3000", "--executors", "40000"}, "does not hold 3000 nodes"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := runCommand(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q (output %q)", err, tc.want, out)
			}
		})
	}
}

func TestPlatformPlanNetwork(t *testing.T) {
	config := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(config, []byte("zones: [a1, b1, c1, d1]\nnetwork: {vpcCIDR: 10.8.0.0/17}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCommand(t, "platform", "plan-network", "--nodes", "100", "--executors", "2000", "--config", config)
	if err != nil {
		t.Fatalf("plan-network: %v\n%s", err, out)
	}
	for _, want := range []string{"VPC 10.8.0.0/17: 32,768 addresses, 4 subnets of /19", "verdict: fits"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

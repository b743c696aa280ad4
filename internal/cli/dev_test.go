package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/sparkplane/sparkplane/internal/devcluster"
)

func TestPrintDevStatus(t *testing.T) {
	fleet, err := devcluster.StaticFleet(devcluster.FleetOptions{Zones: 2, NodesPerTier: 1})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []corev1.Node
	for _, n := range fleet {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		nodes = append(nodes, *n)
	}
	c := &devcluster.Cluster{Name: "demo", Dir: "/cache/dev/demo", APIServerURL: "https://127.0.0.1:6443"}
	st := &devcluster.Status{
		Cluster: c,
		Components: []devcluster.ComponentStatus{
			{ComponentInfo: devcluster.ComponentInfo{Name: "etcd", PID: 10}, Running: true},
			{ComponentInfo: devcluster.ComponentInfo{Name: "kube-apiserver", PID: 11}, Running: false},
		},
		Groups: devcluster.GroupNodes(nodes),
	}
	var out bytes.Buffer
	if err := printDevStatus(&out, st); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		`cluster "demo": degraded (1 of 2 components)`,
		"kube-apiserver  11   not running",
		"NODEPOOL         ARCH   CAPACITY   ZONE        NODES  READY  CPU     MEMORY",
		"arm64-spot       arm64  spot       us-east-1a  1      1      15890m  56.3Gi",
		"amd64-on-demand  amd64  on-demand  us-east-1b  1      1      15890m  56.3Gi",
		"driver           mixed  on-demand  us-east-1a  2      2",
		"13 nodes, 13 Ready",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	// Tier order: arm64 spot rows come before amd64 spot, before on-demand, before driver and system.
	order := []string{"arm64-spot", "amd64-spot", "arm64-on-demand", "amd64-on-demand", "driver", "system"}
	last := -1
	for _, pool := range order {
		i := strings.Index(text, "\n"+pool+" ")
		if i < last {
			t.Errorf("%s is out of tier order", pool)
		}
		last = i
	}

	st.Groups, st.APIError = nil, errors.New("connection refused")
	out.Reset()
	if err := printDevStatus(&out, st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nodes: the API server did not answer: connection refused") {
		t.Errorf("unreachable API server not reported:\n%s", out.String())
	}
}

func TestDevUpValidate(t *testing.T) {
	cases := map[string]struct {
		mutate func(*devUpOptions)
		want   string
	}{
		"zones":   {func(o *devUpOptions) { o.opts.Zones = 7 }, "--zones: 7 is out of range; use 1 to 6"},
		"name":    {func(o *devUpOptions) { o.opts.Name = "a_b" }, `--name: name "a_b" is not valid`},
		"port":    {func(o *devUpOptions) { o.opts.APIServerPort = 65536 }, "--apiserver-port: 65536 is out of range"},
		"timeout": {func(o *devUpOptions) { o.opts.Timeout = 0 }, "--timeout: 0s is not positive"},
		"good":    {func(o *devUpOptions) {}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := newDevUpCommand()
			if err := cmd.ParseFlags(nil); err != nil {
				t.Fatal(err)
			}
			o := &devUpOptions{opts: devcluster.Options{Name: "dev", Zones: 2, NodesPerTier: 1, ArmSpotCPULimit: 32, Timeout: 1}}
			tc.mutate(o)
			err := o.validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

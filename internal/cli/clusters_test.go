package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestClustersAddRefusesBadInput(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "member")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: m, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: m, context: {cluster: m, user: u}}]
current-context: m
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"name":             {[]string{"clusters", "add", "Bad_Name", "--kubeconfig", kubeconfig}, `cluster name "Bad_Name"`},
		"label form":       {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig, "--label", "env"}, `--label "env": write it as key=value`},
		"label value":      {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig, "--label", "env=no good"}, `--label "env=no good": value`},
		"weight":           {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig, "--weight", "-1"}, "--weight must be between 0 and 10000"},
		"missing file":     {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig + ".nope"}, "--kubeconfig " + kubeconfig + ".nope"},
		"unknown context":  {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig, "--member-context", "other"}, `--member-context "other" is not in`},
		"kubeconfig flag":  {[]string{"clusters", "add", "a"}, `required flag(s) "kubeconfig" not set`},
		"member not there": {[]string{"clusters", "add", "a", "--kubeconfig", kubeconfig, "--hub-kubeconfig", kubeconfig}, "member a does not answer at https://127.0.0.1:1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := runCommand(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (output %q), want one containing %q", err, out, tc.want)
			}
		})
	}
}

func TestPrintMembers(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	members := []v1alpha1.MemberCluster{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"env": "prod", "region": "b"}},
			Spec:       v1alpha1.MemberClusterSpec{Weight: 100},
			Status: v1alpha1.MemberClusterStatus{State: v1alpha1.MemberLost, LastHeartbeatTime: &metav1.Time{Time: now.Add(-45 * time.Second)},
				Capacity: v1alpha1.MemberCapacity{Tiers: []v1alpha1.TierCapacity{{Name: "spot/arm64", CPU: q("30"), Memory: q("100Gi")}, {Name: "on-demand/amd64", CPU: q("2")}},
					PendingDrivers: 3, RunningApplications: 4, PlacedApplications: 9, OperatorVersion: "v0.3.0"}},
		},
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: v1alpha1.MemberClusterSpec{Weight: 5}},
	}
	var out bytes.Buffer
	if err := printMembers(&out, members, "", now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two rows:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"NAME", "STATE", "HEARTBEAT", "FREE CPU", "RUNNING", "PLACED", "PENDING DRIVERS", "OPERATOR"},
		{"a", "Unknown", "<never>", "unlimited", "<unknown>", "5", "<none>"},
		{"b", "Lost", "45s ago", "32", "unlimited", "4", "9", "3", "v0.3.0", "100", "env=prod,region=b"},
	} {
		for _, field := range want {
			if !strings.Contains(lines[i], field) {
				t.Errorf("line %d %q lacks %q", i, lines[i], field)
			}
		}
	}
}

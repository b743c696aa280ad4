package platform

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanNetwork(t *testing.T) {
	cases := map[string]struct {
		change       func(*NetworkInput)
		total        int
		busiest      int
		subnetPrefix int
		fits         bool
		verdict      string
	}{
		// 100 + 2000 + 200 + 200 + 50 + 1400 = 3950; busiest = ceil(3750/3) + 200 = 1450.
		"small cluster in a /16": {func(in *NetworkInput) { in.Nodes, in.Executors = 100, 2000 }, 3950, 1450, 18, true, "verdict: fits, headroom 91%"},
		// 1000 + 20000 + 2000 + 2000 + 50 + 14000 = 39050; busiest = ceil(37050/3) + 2000 = 14350 of 16379.
		"tight":        {func(in *NetworkInput) { in.Nodes, in.Executors = 1000, 20000 }, 39050, 14350, 18, true, "verdict: fits, but headroom is 12%"},
		"does not fit": {func(in *NetworkInput) { in.Nodes, in.Executors = 3000, 40000 }, 95050, 34350, 18, false, "DOES NOT FIT (short by 17,971 addresses)"},
		// Explicit drivers, no warm pool, 4 subnets: 1000 + 20000 + 500 + 2000 + 50 = 23550; busiest ceil(23050/4)+500 = 6263.
		"explicit drivers, four subnets": {func(in *NetworkInput) {
			in.Nodes, in.Executors, in.Drivers, in.WarmIPsPerNode, in.Subnets = 1000, 20000, 500, 0, 4
		}, 23550, 6263, 18, true, "verdict: fits, headroom 62%"},
		"small VPC": {func(in *NetworkInput) { in.Nodes, in.Executors, in.VPCCIDR = 100, 2000, "10.0.0.0/20" }, 3950, 1450, 22, false, "DOES NOT FIT"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := DefaultNetworkInput()
			tc.change(&in)
			plan, err := PlanNetwork(in)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{plan.Total, plan.DriverSubnetNeeds, plan.SubnetPrefix}
			if diff := cmp.Diff([]int{tc.total, tc.busiest, tc.subnetPrefix}, got); diff != "" {
				t.Errorf("total, busiest subnet, subnet prefix (-want +got):\n%s", diff)
			}
			if plan.Fits != tc.fits {
				t.Errorf("fits = %v, want %v", plan.Fits, tc.fits)
			}
			var out bytes.Buffer
			if err := plan.Write(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.verdict) {
				t.Errorf("output lacks %q:\n%s", tc.verdict, out.String())
			}
		})
	}
}

func TestPlanNetworkBadInput(t *testing.T) {
	cases := map[string]struct {
		change func(*NetworkInput)
		want   string
	}{
		"no nodes":       {func(in *NetworkInput) { in.Executors = 5 }, "--nodes: 0"},
		"negative":       {func(in *NetworkInput) { in.Nodes, in.Executors = 1, -1 }, "--executors: -1"},
		"cidr":           {func(in *NetworkInput) { in.Nodes, in.VPCCIDR = 1, "10.0.0.0" }, `--cidr: "10.0.0.0" is not an IPv4 CIDR`},
		"cidr too large": {func(in *NetworkInput) { in.Nodes, in.VPCCIDR = 1, "10.0.0.0/12" }, "--cidr: /12"},
		"subnets":        {func(in *NetworkInput) { in.Nodes, in.Subnets = 1, 0 }, "--subnets: 0"},
		"tiny subnets":   {func(in *NetworkInput) { in.Nodes, in.VPCCIDR, in.Subnets = 1, "10.0.0.0/27", 3 }, "smaller than /28"},
		"warm":           {func(in *NetworkInput) { in.Nodes, in.WarmIPsPerNode = 1, -2 }, "--warm-ips-per-node: -2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := DefaultNetworkInput()
			tc.change(&in)
			if _, err := PlanNetwork(in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 65536: "65,536", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

package platform

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strings"
)

// NetworkInput describes a cluster to size: with the AWS VPC CNI every pod
// that is not on the host network takes a VPC address, and each node keeps a
// warm pool of addresses ready for new pods.
type NetworkInput struct {
	Nodes     int
	Executors int
	// Drivers is the number of concurrent drivers; negative means estimate
	// one per ten executors.
	Drivers int
	// DaemonSetPodsPerNode counts per-node pods with their own address
	// (CSI node plugins, monitoring agents; aws-node, kube-proxy and the
	// bundle's Fluent Bit use the host's).
	DaemonSetPodsPerNode int
	// SystemPods are cluster-wide add-on pods (CoreDNS, operator, Prometheus, ...).
	SystemPods int
	// WarmIPsPerNode are addresses the CNI holds in reserve on each node
	// (WARM_ENI_TARGET=1 keeps a whole spare ENI's worth).
	WarmIPsPerNode int
	// VPCCIDR is the plan to check, split into Subnets equal subnets (one
	// per zone); drivers all run in the first (the driver zone).
	VPCCIDR string
	Subnets int
}

// DefaultNetworkInput returns the defaults for the optional fields.
func DefaultNetworkInput() NetworkInput {
	return NetworkInput{Drivers: -1, DaemonSetPodsPerNode: 2, SystemPods: 50, WarmIPsPerNode: 14, VPCCIDR: defaultVPCCIDR, Subnets: 3}
}

// NetworkPlan is PlanNetwork's answer.
type NetworkPlan struct {
	Input          NetworkInput
	DriversAssumed bool
	// Needs lists what takes addresses, in print order.
	Needs []NetworkNeed
	Total int
	// VPCAddresses is the VPC's size; SubnetPrefix the subnets' prefix
	// length and SubnetUsable the addresses each can give out (AWS keeps 5).
	VPCAddresses int
	SubnetPrefix int
	SubnetUsable int
	// DriverSubnetNeeds is what the busiest subnet (the driver zone's) needs.
	DriverSubnetNeeds int
	// Headroom is the busiest subnet's free share: 1 - needs/usable
	// (negative when it does not fit).
	Headroom float64
	Fits     bool
}

// NetworkNeed is one line of the address count.
type NetworkNeed struct {
	What      string
	Addresses int
}

// AdvisedHeadroom is the free share below which plan-network warns: Spot
// replacements and surges briefly run old and new nodes side by side.
const AdvisedHeadroom = 0.20

// awsReservedPerSubnet are the addresses AWS keeps in every subnet.
const awsReservedPerSubnet = 5

// PlanNetwork counts the addresses a cluster needs and checks them against a
// VPC plan. Bad input is an error naming the flag.
func PlanNetwork(in NetworkInput) (NetworkPlan, error) {
	var errs []error
	if in.Nodes <= 0 {
		errs = append(errs, fmt.Errorf("--nodes: %d: give the peak number of nodes (> 0)", in.Nodes))
	}
	if in.Executors < 0 {
		errs = append(errs, fmt.Errorf("--executors: %d: must not be negative", in.Executors))
	}
	for flag, v := range map[string]int{"--daemonset-pods-per-node": in.DaemonSetPodsPerNode, "--system-pods": in.SystemPods, "--warm-ips-per-node": in.WarmIPsPerNode} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d: must not be negative", flag, v))
		}
	}
	if in.Subnets <= 0 || in.Subnets > 16 {
		errs = append(errs, fmt.Errorf("--subnets: %d: use 1 to 16 (one per zone)", in.Subnets))
	}
	prefix, err := netip.ParsePrefix(in.VPCCIDR)
	if err != nil || !prefix.Addr().Is4() {
		errs = append(errs, fmt.Errorf("--cidr: %q is not an IPv4 CIDR such as 10.0.0.0/16", in.VPCCIDR))
	} else if prefix.Bits() < 16 || prefix.Bits() > 28 {
		errs = append(errs, fmt.Errorf("--cidr: /%d: an AWS VPC is /16 to /28", prefix.Bits()))
	}
	if len(errs) > 0 {
		return NetworkPlan{}, errors.Join(errs...)
	}
	plan := NetworkPlan{Input: in}
	drivers := in.Drivers
	if drivers < 0 {
		drivers = (in.Executors + 9) / 10
		plan.DriversAssumed = true
	}
	plan.Input.Drivers = drivers
	plan.Needs = []NetworkNeed{
		{"node primary addresses", in.Nodes},
		{"executor pods", in.Executors},
		{"driver pods", drivers},
		{fmt.Sprintf("daemonset pods (%d per node)", in.DaemonSetPodsPerNode), in.Nodes * in.DaemonSetPodsPerNode},
		{"system pods", in.SystemPods},
		{fmt.Sprintf("CNI warm pool (%d per node)", in.WarmIPsPerNode), in.Nodes * in.WarmIPsPerNode},
	}
	for _, need := range plan.Needs {
		plan.Total += need.Addresses
	}
	plan.VPCAddresses = 1 << (32 - prefix.Bits())
	plan.SubnetPrefix = prefix.Bits() + bits.Len(uint(in.Subnets-1))
	if plan.SubnetPrefix > 28 {
		return NetworkPlan{}, fmt.Errorf("--subnets: %d subnets of a /%d would be smaller than /28, AWS's minimum", in.Subnets, prefix.Bits())
	}
	plan.SubnetUsable = 1<<(32-plan.SubnetPrefix) - awsReservedPerSubnet
	// Everything but the drivers spreads evenly over the zones; drivers (and
	// their share of nodes, counted in the spread) all sit in the driver zone.
	spread := plan.Total - drivers
	plan.DriverSubnetNeeds = (spread+in.Subnets-1)/in.Subnets + drivers
	plan.Headroom = 1 - float64(plan.DriverSubnetNeeds)/float64(plan.SubnetUsable)
	plan.Fits = plan.DriverSubnetNeeds <= plan.SubnetUsable
	return plan, nil
}

// Write prints the plan as plan-network shows it.
func (p NetworkPlan) Write(w io.Writer) error {
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("Addresses for %s nodes, %s executors and %s drivers:", thousands(p.Input.Nodes), thousands(p.Input.Executors), thousands(p.Input.Drivers))
	if p.DriversAssumed {
		line("(drivers assumed: one per ten executors; set --drivers)")
	}
	line("")
	for _, need := range p.Needs {
		line("  %-34s %10s", need.What, thousands(need.Addresses))
	}
	line("  %-34s %10s", "total", thousands(p.Total))
	line("")
	line("VPC %s: %s addresses, %d subnets of /%d with %s usable each (AWS keeps %d per subnet)",
		p.Input.VPCCIDR, thousands(p.VPCAddresses), p.Input.Subnets, p.SubnetPrefix, thousands(p.SubnetUsable), awsReservedPerSubnet)
	line("busiest subnet (the driver zone's): %s of %s addresses", thousands(p.DriverSubnetNeeds), thousands(p.SubnetUsable))
	switch {
	case !p.Fits:
		line("verdict: DOES NOT FIT (short by %s addresses): use a larger VPC or a secondary CIDR for pods (VPC CNI custom networking, e.g. 100.64.0.0/10), enable prefix delegation, or lower WARM_ENI_TARGET with WARM_IP_TARGET/MINIMUM_IP_TARGET",
			thousands(p.DriverSubnetNeeds-p.SubnetUsable))
	case p.Headroom < AdvisedHeadroom:
		line("verdict: fits, but headroom is %.0f%% (advised: at least %.0f%%, since Spot replacements briefly run old and new nodes side by side)", p.Headroom*100, AdvisedHeadroom*100)
	default:
		line("verdict: fits, headroom %.0f%%", p.Headroom*100)
	}
	_, err := io.WriteString(w, s.String())
	return err
}

// thousands formats n with comma separators.
func thousands(n int) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	digits := fmt.Sprint(n)
	var out []byte
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, digits[i])
	}
	return sign + string(out)
}

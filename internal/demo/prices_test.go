package demo

import (
	"os"
	"strings"
	"testing"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// TestParsePricesDevcluster reads the instance-type file the local cluster
// gives Karpenter and checks the tier order of prices holds in it.
func TestParsePricesDevcluster(t *testing.T) {
	data, err := os.ReadFile("../devcluster/instance-types.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePrices(data)
	if err != nil {
		t.Fatal(err)
	}
	price := func(it, ct string) float64 {
		t.Helper()
		v, err := p.Price(it, ct, "us-east-1a")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := price("m7i.large", "on-demand"); got != 0.1008 {
		t.Errorf("m7i.large on-demand = %v, want the list price 0.1008", got)
	}
	armSpot, amdSpot, armOD, amdOD := price("m7g.2xlarge", "spot"), price("m7i.2xlarge", "spot"), price("m7g.2xlarge", "on-demand"), price("m7i.2xlarge", "on-demand")
	if !(armSpot < amdSpot && amdSpot < armOD && armOD < amdOD) {
		t.Errorf("prices out of tier order: arm64 spot %v, amd64 spot %v, arm64 on-demand %v, amd64 on-demand %v", armSpot, amdSpot, armOD, amdOD)
	}
	got, err := p.NodePrice(map[string]string{labelInstanceType: "m7g.2xlarge", karpv1.CapacityTypeLabelKey: "spot", labelZone: "us-east-1b"})
	if err != nil || got != armSpot {
		t.Errorf("NodePrice = %v, %v; want %v", got, err, armSpot)
	}
}

func TestPricesErrors(t *testing.T) {
	offering := func(price string, reqs string) string {
		return `[{"name":"m7g.large","offerings":[{"Price":` + price + `,"Available":true,"Requirements":[` + reqs + `]}]}]`
	}
	ct := `{"key":"karpenter.sh/capacity-type","operator":"In","values":["spot"]}`
	zone := `{"key":"topology.kubernetes.io/zone","operator":"In","values":["us-east-1a"]}`
	cases := map[string]struct{ data, want string }{
		"not JSON":     {`{`, "instance-type file"},
		"no name":      {`[{"offerings":[]}]`, "[0].name is empty"},
		"no zone":      {offering("0.1", ct), "want one karpenter.sh/capacity-type and at least one topology.kubernetes.io/zone"},
		"zero price":   {offering("0", ct+","+zone), "Price 0: must be positive"},
		"no offerings": {`[]`, "no offerings"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePrices([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParsePrices error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	p, err := ParsePrices([]byte(offering("0.1", ct+","+zone)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Price("m7g.large", "on-demand", "us-east-1a"); err == nil || !strings.Contains(err.Error(), "offers it as spot/us-east-1a") {
		t.Errorf("missing offering: %v", err)
	}
	if _, err := p.Price("x1.huge", "spot", "us-east-1a"); err == nil || !strings.Contains(err.Error(), `"x1.huge": the instance-type file does not list it`) {
		t.Errorf("missing type: %v", err)
	}
}

func FuzzParsePrices(f *testing.F) {
	if data, err := os.ReadFile("../devcluster/instance-types.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePrices(data)
		if err != nil {
			return
		}
		for k, v := range p.offerings {
			if got, err := p.Price(k.instanceType, k.capacityType, k.zone); err != nil || got != v || v <= 0 {
				t.Fatalf("Price(%v) = %v, %v; want %v", k, got, err, v)
			}
		}
	})
}

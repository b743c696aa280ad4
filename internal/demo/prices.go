package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// Well-known node labels the price lookup reads.
const (
	labelInstanceType = "node.kubernetes.io/instance-type"
	labelZone         = "topology.kubernetes.io/zone"
)

// Prices maps an offering (instance type, capacity type, zone) to its price
// per hour, as Karpenter's kwok provider reads them from its instance-type
// file (INSTANCE_TYPES_FILE_PATH).
type Prices struct {
	offerings map[offeringKey]float64
}

type offeringKey struct{ instanceType, capacityType, zone string }

// The file's shape: a list of instance types, each with offerings whose
// requirements name the capacity type and zone.
type instanceTypeFile []struct {
	Name      string `json:"name"`
	Offerings []struct {
		Price        float64 `json:"Price"`
		Available    bool    `json:"Available"`
		Requirements []struct {
			Key      string   `json:"key"`
			Operator string   `json:"operator"`
			Values   []string `json:"values"`
		} `json:"Requirements"`
	} `json:"offerings"`
}

// ParsePrices reads an instance-type file. Every offering must name one
// capacity type and at least one zone and have a positive price.
func ParsePrices(data []byte) (*Prices, error) {
	var file instanceTypeFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("instance-type file: %w", err)
	}
	p := &Prices{offerings: map[offeringKey]float64{}}
	for i, it := range file {
		if it.Name == "" {
			return nil, fmt.Errorf("instance-type file: [%d].name is empty", i)
		}
		for j, o := range it.Offerings {
			var capacityTypes, zones []string
			for _, r := range o.Requirements {
				switch r.Key {
				case karpv1.CapacityTypeLabelKey:
					capacityTypes = r.Values
				case labelZone:
					zones = r.Values
				}
			}
			if len(capacityTypes) != 1 || len(zones) == 0 {
				return nil, fmt.Errorf("instance-type file: %s offerings[%d]: want one %s and at least one %s requirement", it.Name, j, karpv1.CapacityTypeLabelKey, labelZone)
			}
			if o.Price <= 0 {
				return nil, fmt.Errorf("instance-type file: %s offerings[%d].Price %v: must be positive", it.Name, j, o.Price)
			}
			for _, zone := range zones {
				p.offerings[offeringKey{it.Name, capacityTypes[0], zone}] = o.Price
			}
		}
	}
	if len(p.offerings) == 0 {
		return nil, fmt.Errorf("instance-type file: no offerings")
	}
	return p, nil
}

// SpotFactor returns the spot / on-demand price ratio when every offering
// that has both prices shows the same one (rounded to 3 decimals), else 0.
func (p *Prices) SpotFactor() float64 {
	factor := 0.0
	for k, spot := range p.offerings {
		if k.capacityType != "spot" {
			continue
		}
		onDemand, ok := p.offerings[offeringKey{k.instanceType, "on-demand", k.zone}]
		if !ok {
			continue
		}
		f := math.Round(spot/onDemand*1000) / 1000
		if factor != 0 && f != factor {
			return 0
		}
		factor = f
	}
	return factor
}

// Price returns the price per hour of an offering; the error names what is
// missing and what the file offers for the instance type.
func (p *Prices) Price(instanceType, capacityType, zone string) (float64, error) {
	if price, ok := p.offerings[offeringKey{instanceType, capacityType, zone}]; ok {
		return price, nil
	}
	var offered []string
	for k := range p.offerings {
		if k.instanceType == instanceType {
			offered = append(offered, k.capacityType+"/"+k.zone)
		}
	}
	if len(offered) == 0 {
		return 0, fmt.Errorf("no price for instance type %q: the instance-type file does not list it", instanceType)
	}
	slices.Sort(offered)
	return 0, fmt.Errorf("no price for %s %s in %s: the instance-type file offers it as %s", instanceType, capacityType, zone, strings.Join(offered, ", "))
}

// NodePrice prices a node from its labels.
func (p *Prices) NodePrice(labels map[string]string) (float64, error) {
	return p.Price(labels[labelInstanceType], labels[karpv1.CapacityTypeLabelKey], labels[labelZone])
}

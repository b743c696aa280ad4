package platform

import (
	"strings"
	"testing"
)

func TestDefaultConfigsValidate(t *testing.T) {
	for _, provider := range Providers {
		if err := DefaultConfig(provider).Validate(); err != nil {
			t.Errorf("DefaultConfig(%s): %v", provider, err)
		}
		cfg, err := LoadConfig(nil, provider)
		if err != nil {
			t.Fatalf("LoadConfig(empty, %s): %v", provider, err)
		}
		if cfg.Provider != provider || cfg.DriverZone != cfg.Zones[0] {
			t.Errorf("LoadConfig(empty, %s) = provider %s, driver zone %q of %v", provider, cfg.Provider, cfg.DriverZone, cfg.Zones)
		}
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	cfg, err := LoadConfig([]byte(`
clusterName: prod-eu
zones: [eu-west-1a, eu-west-1b]
executors:
  cpuLimits: {arm64Spot: 4000}
observability:
  remoteWriteURL: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write
`), ProviderAWS)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DriverZone != "eu-west-1a" || cfg.Executors.CPULimits.Arm64Spot != 4000 || cfg.Executors.CPULimits.Amd64Spot != 1000 {
		t.Errorf("overrides not applied over defaults: %+v", cfg)
	}
	if cfg.AWS.NodeRole != "KarpenterNodeRole-prod-eu" || cfg.ObjectStore.Bucket != "prod-eu-spark" {
		t.Errorf("defaults derived from clusterName: node role %q, bucket %q", cfg.AWS.NodeRole, cfg.ObjectStore.Bucket)
	}
	b, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := MarshalYAML(b.File("prometheus.yaml").Objects...)
	if !strings.Contains(string(prom), "remote_write") || !strings.Contains(string(prom), "region: us-east-1") {
		t.Errorf("remote write with SigV4 missing from prometheus.yaml:\n%s", prom)
	}
}

// TestBadConfig: every bad value is reported with its field's path and what
// to do, all at once.
func TestBadConfig(t *testing.T) {
	cases := map[string]struct {
		provider Provider
		yaml     string
		want     []string
	}{
		"unknown key":           {ProviderAWS, "executor:\n  cpuLimits: {}\n", []string{`unknown field "executor"`}},
		"misspelt nested key":   {ProviderAWS, "executors:\n  cpuLimit: 3\n", []string{`unknown field "executors.cpuLimit"`}},
		"wrong type":            {ProviderAWS, "zones: us-east-1a\n", []string{"zones"}},
		"negative limit":        {ProviderAWS, "executors:\n  cpuLimits: {amd64Spot: -5}\n", []string{"executors.cpuLimits.amd64Spot: -5 vCPUs: must be positive"}},
		"driver zone elsewhere": {ProviderAWS, "zones: [a1, b1]\ndriverZone: c1\n", []string{`driverZone: "c1" is not one of zones [a1 b1]`}},
		"duplicate zone":        {ProviderAWS, "zones: [a1, a1]\n", []string{`zones[1]: "a1" is listed twice`}},
		"category":              {ProviderAWS, "executors:\n  instanceCategories: [c, m5]\n", []string{`executors.instanceCategories[1]: "m5" is not an EC2 instance category`}},
		"budget":                {ProviderAWS, "executors:\n  disruptionBudget: lots\n", []string{"executors.disruptionBudget"}},
		"duration":              {ProviderAWS, "executors:\n  consolidateAfter: 1 minute\n", []string{"executors.consolidateAfter"}},
		"nvme on kwok":          {ProviderKWOK, "executors:\n  localNVMe: true\n", []string{"executors.localNVMe: kwok nodes have no instance store"}},
		"arch":                  {ProviderAWS, "driver:\n  architectures: [x86]\n", []string{`driver.architectures[0]: "x86": use arm64 or amd64`}},
		"iops":                  {ProviderAWS, "storage:\n  iops: 100\n", []string{"storage.iops: 100: gp3 takes 3000 to 16000"}},
		"burst below qps":       {ProviderAWS, "storage:\n  csiKubeAPIQPS: 300\n", []string{"storage.csiKubeAPIBurst: 200 is below csiKubeAPIQPS 300"}},
		"cidr":                  {ProviderAWS, "network:\n  vpcCIDR: 10.0.0.0/8\n", []string{"network.vpcCIDR: /8: an AWS VPC is /16 to /28"}},
		"remote write":          {ProviderAWS, "observability:\n  remoteWriteURL: aps\n", []string{`observability.remoteWriteURL: "aps" is not an http(s) URL`}},
		"reaction bucket":       {ProviderAWS, "observability:\n  interruptionReactionSeconds: 7\n", []string{"observability.interruptionReactionSeconds: 7: must be a bucket"}},
		"bucket":                {ProviderAWS, "objectStore:\n  bucket: My_Bucket\n", []string{"objectStore.bucket"}},
		"provider mismatch":     {ProviderKWOK, "provider: aws\n", []string{`provider: the file says "aws" but --provider is "kwok"`}},
		"several at once": {ProviderAWS, "clusterName: Prod\nstorage:\n  throughput: 5\n", []string{
			`clusterName: "Prod" is not a DNS label`, "storage.throughput: 5 MiB/s",
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig([]byte(tc.yaml), tc.provider)
			if err == nil {
				t.Fatalf("LoadConfig accepted %q", tc.yaml)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	if _, err := LoadConfig(nil, "gcp"); err == nil || !strings.Contains(err.Error(), "use one of aws, kwok") {
		t.Errorf("unknown provider: %v", err)
	}
	if _, err := Render(Config{Provider: ProviderAWS}); err == nil || !strings.Contains(err.Error(), "clusterName") {
		t.Errorf("Render of an undefaulted config: %v", err)
	}
}

// FuzzLoadConfig: any input either is rejected with an error or renders a
// bundle; nothing panics.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("clusterName: a\nzones: [z1]\n"), true)
	f.Add([]byte("executors:\n  cpuLimits: {arm64Spot: 1}\n  disruptionBudget: 100%\n"), false)
	f.Add([]byte("network: {vpcCIDR: 10.1.0.0/20}\nobjectStore: {endpoint: 'http://minio:9000'}\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, aws bool) {
		provider := ProviderKWOK
		if aws {
			provider = ProviderAWS
		}
		cfg, err := LoadConfig(data, provider)
		if err != nil {
			return
		}
		b, err := Render(cfg)
		if err != nil {
			t.Fatalf("LoadConfig accepted a config Render rejects: %v", err)
		}
		if _, err := b.Outputs(); err != nil {
			t.Fatalf("Outputs: %v", err)
		}
	})
}

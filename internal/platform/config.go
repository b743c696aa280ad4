package platform

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// KWOKVolumeProvisioner is the shuffle StorageClass's provisioner in the
// kwok bundle: the volume provisioner `sparkplane dev up` runs on the local
// cluster (internal/devcluster), so a claim of the rendered class binds
// there as an EBS claim does on AWS.
const KWOKVolumeProvisioner = "dev.sparkplane.io/zonal-volume"

// Provider is where the bundle's nodes come from.
type Provider string

const (
	// ProviderAWS renders EC2NodeClasses, EBS StorageClasses and the EBS CSI
	// tuning patch for EKS.
	ProviderAWS Provider = "aws"
	// ProviderKWOK renders a KWOKNodeClass so that the same NodePools run on the
	// local cluster (`sparkplane dev up --karpenter`) through Karpenter's kwok
	// provider.
	ProviderKWOK Provider = "kwok"
)

// Providers lists the supported providers, in the order the CLI prints them.
var Providers = []Provider{ProviderAWS, ProviderKWOK}

// Config is the platform.yaml a platform team keeps: everything has a default
// (DefaultConfig), so an empty file renders a working bundle. Field names are
// the file's keys.
type Config struct {
	// Provider is aws or kwok; the CLI's --provider sets it, and a file that
	// names another provider is an error.
	Provider Provider `json:"provider,omitempty"`
	// ClusterName names the cluster: it is the value of the discovery tags the
	// node classes select subnets and security groups by, and part of the
	// default bucket name.
	ClusterName string `json:"clusterName,omitempty"`
	// Zones the node pools may use. Executors and system pods spread over all
	// of them.
	Zones []string `json:"zones,omitempty"`
	// DriverZone is the one zone drivers run in (default: the first of Zones),
	// so a driver and its shuffle service never pay cross-zone traffic and a
	// zone outage cannot strand half an application.
	DriverZone string `json:"driverZone,omitempty"`
	// Namespace holds sparkplane's own workloads (operator, history server),
	// all of which pass Pod Security "restricted".
	Namespace string `json:"namespace,omitempty"`
	// LoggingNamespace holds Fluent Bit, which needs the host's log files
	// (hostPath) and network: Pod Security "privileged", so it is kept apart
	// from the restricted Namespace.
	LoggingNamespace string `json:"loggingNamespace,omitempty"`
	// MonitoringNamespace holds Prometheus, its rules, PodMonitors and the
	// Grafana dashboards.
	MonitoringNamespace string `json:"monitoringNamespace,omitempty"`
	// SparkNamespaces are the namespaces Spark applications run in; the
	// PodMonitors for drivers and executors select pods there.
	SparkNamespaces []string `json:"sparkNamespaces,omitempty"`

	Executors ExecutorConfig `json:"executors,omitempty"`
	Driver    PoolConfig     `json:"driver,omitempty"`
	System    PoolConfig     `json:"system,omitempty"`
	AWS       AWSConfig      `json:"aws,omitempty"`
	Storage   StorageConfig  `json:"storage,omitempty"`
	DNS       DNSConfig      `json:"dns,omitempty"`
	Network   NetworkConfig  `json:"network,omitempty"`

	Observability ObservabilityConfig `json:"observability,omitempty"`
	ObjectStore   ObjectStoreConfig   `json:"objectStore,omitempty"`
	HistoryServer HistoryServerConfig `json:"historyServer,omitempty"`
}

// ExecutorConfig shapes the four executor NodePools.
type ExecutorConfig struct {
	// CPULimits caps each tier's total vCPUs (NodePool spec.limits.cpu). When a
	// tier is full (or its capacity is gone) Karpenter falls back to the next
	// tier by weight.
	CPULimits TierCPULimits `json:"cpuLimits,omitempty"`
	// InstanceCategories are the EC2 categories Spark executors use
	// (compute, general purpose, memory optimised by default).
	InstanceCategories []string `json:"instanceCategories,omitempty"`
	// MinInstanceGeneration: only generations strictly newer than this one
	// (Graviton2+ and their x86 peers by default).
	MinInstanceGeneration int `json:"minInstanceGeneration,omitempty"`
	// ConsolidateAfter is how long a node must be empty or underutilised
	// before Karpenter consolidates it.
	ConsolidateAfter string `json:"consolidateAfter,omitempty"`
	// DisruptionBudget caps the share of an executor pool's nodes Karpenter
	// may disrupt at once (a percentage such as "10%", or a count).
	DisruptionBudget string `json:"disruptionBudget,omitempty"`
	// ExpireAfter replaces nodes after this age so they pick up new node images.
	ExpireAfter string `json:"expireAfter,omitempty"`
	// LocalNVMe puts executors on instances with local NVMe assembled as
	// RAID0 (aws only: the nvme-raid0 EC2NodeClass and instance-local-nvme
	// requirement), for shuffle throughput.
	LocalNVMe bool `json:"localNVMe,omitempty"`
}

// TierCPULimits are the vCPU limits of the executor tiers.
type TierCPULimits struct {
	Arm64Spot     int64 `json:"arm64Spot,omitempty"`
	Amd64Spot     int64 `json:"amd64Spot,omitempty"`
	Arm64OnDemand int64 `json:"arm64OnDemand,omitempty"`
	Amd64OnDemand int64 `json:"amd64OnDemand,omitempty"`
}

// PoolConfig shapes the driver or the system NodePool.
type PoolConfig struct {
	// CPULimit caps the pool's total vCPUs.
	CPULimit int64 `json:"cpuLimit,omitempty"`
	// InstanceCategories the pool uses (aws).
	InstanceCategories []string `json:"instanceCategories,omitempty"`
	// Architectures the pool may use (arm64 first in the cost order).
	Architectures []string `json:"architectures,omitempty"`
}

// AWSConfig holds settings used only with provider aws.
type AWSConfig struct {
	// Region of the cluster; used for the object store endpoint.
	Region string `json:"region,omitempty"`
	// NodeRole is the IAM role Karpenter gives its nodes.
	NodeRole string `json:"nodeRole,omitempty"`
	// DiscoveryTagKey is the tag whose value is ClusterName on the subnets and
	// security groups nodes use.
	DiscoveryTagKey string `json:"discoveryTagKey,omitempty"`
	// BottlerocketVersion pins the Bottlerocket AMI alias ("latest" follows it;
	// pin a version such as "v1.40.0" in production so nodes change only on purpose).
	BottlerocketVersion string `json:"bottlerocketVersion,omitempty"`
	// DataVolumeSize is the size of Bottlerocket's data volume (images, logs,
	// emptyDir).
	DataVolumeSize string `json:"dataVolumeSize,omitempty"`
}

// StorageConfig shapes the StorageClasses for shuffle volumes.
type StorageConfig struct {
	// ShuffleStorageClass is the name of the StorageClass shuffle PVCs use.
	ShuffleStorageClass string `json:"shuffleStorageClass,omitempty"`
	// VolumeType of the EBS volumes (gp3).
	VolumeType string `json:"volumeType,omitempty"`
	// IOPS and Throughput (MiB/s) of each gp3 volume.
	IOPS       int `json:"iops,omitempty"`
	Throughput int `json:"throughput,omitempty"`
	// KWOKProvisioner is the provisioner of the shuffle class with provider
	// kwok (default KWOKVolumeProvisioner, which `sparkplane dev up` runs).
	KWOKProvisioner string `json:"kwokProvisioner,omitempty"`
	// CSIKubeAPIQPS, CSIKubeAPIBurst and CSIWorkerThreads tune the EBS CSI
	// controller's attacher and provisioner for many PVCs.
	CSIKubeAPIQPS    int `json:"csiKubeAPIQPS,omitempty"`
	CSIKubeAPIBurst  int `json:"csiKubeAPIBurst,omitempty"`
	CSIWorkerThreads int `json:"csiWorkerThreads,omitempty"`
}

// DNSConfig tunes CoreDNS.
type DNSConfig struct {
	// CacheSeconds is CoreDNS's cache TTL for successful answers.
	CacheSeconds int `json:"cacheSeconds,omitempty"`
	// CoresPerReplica and NodesPerReplica drive the cluster-proportional
	// autoscaler's linear mode: replicas = max(cores/coresPerReplica, nodes/nodesPerReplica).
	CoresPerReplica int `json:"coresPerReplica,omitempty"`
	NodesPerReplica int `json:"nodesPerReplica,omitempty"`
	MinReplicas     int `json:"minReplicas,omitempty"`
}

// NetworkConfig is the VPC plan that plan-network checks.
type NetworkConfig struct {
	// VPCCIDR is the VPC's range (a /16 holds 65,536 addresses).
	VPCCIDR string `json:"vpcCIDR,omitempty"`
}

// ObservabilityConfig shapes Prometheus and its rules.
type ObservabilityConfig struct {
	// RemoteWriteURL of a managed Prometheus (Amazon Managed Service for
	// Prometheus or any remote-write endpoint). Empty keeps metrics local.
	RemoteWriteURL string `json:"remoteWriteURL,omitempty"`
	// Retention of the local Prometheus.
	Retention string `json:"retention,omitempty"`
	// PrometheusMaxMemory is the VPA's upper bound for Prometheus's memory.
	PrometheusMaxMemory string `json:"prometheusMaxMemory,omitempty"`
	// SubmissionLatencySeconds is the SLO threshold for sparkplane's
	// submission latency (99% of submissions within it).
	SubmissionLatencySeconds int `json:"submissionLatencySeconds,omitempty"`
	// InterruptionReactionSeconds is the SLO threshold for the time from an
	// interruption notice to executor decommission (99% within it).
	InterruptionReactionSeconds int `json:"interruptionReactionSeconds,omitempty"`
}

// ObjectStoreConfig is where logs and Spark event logs go.
type ObjectStoreConfig struct {
	// Bucket for logs and event logs.
	Bucket string `json:"bucket,omitempty"`
	// Endpoint overrides the S3 endpoint (for an S3-compatible store).
	Endpoint string `json:"endpoint,omitempty"`
	// EventLogPrefix and LogsPrefix are the key prefixes in Bucket.
	EventLogPrefix string `json:"eventLogPrefix,omitempty"`
	LogsPrefix     string `json:"logsPrefix,omitempty"`
}

// HistoryServerConfig shapes the Spark History Server.
type HistoryServerConfig struct {
	Image string `json:"image,omitempty"`
}

// Defaults used when a field is empty.
const (
	defaultClusterName = "sparkplane"
	defaultVPCCIDR     = "10.0.0.0/16"
)

// DefaultConfig returns the configuration an empty platform.yaml means for a
// provider. The kwok defaults match the local cluster (`sparkplane dev up`):
// zones us-east-1a..c and a small arm64-spot limit so the tier fallback shows
// with a handful of pods.
func DefaultConfig(provider Provider) Config {
	cfg := Config{Provider: provider}
	cfg.applyDefaults()
	return cfg
}

func (c *Config) applyDefaults() {
	provider := c.Provider
	setString := func(field *string, value string) {
		if *field == "" {
			*field = value
		}
	}
	setInt := func(field *int, value int) {
		if *field == 0 {
			*field = value
		}
	}
	setInt64 := func(field *int64, value int64) {
		if *field == 0 {
			*field = value
		}
	}
	setList := func(field *[]string, value ...string) {
		if len(*field) == 0 {
			*field = value
		}
	}
	setString(&c.ClusterName, defaultClusterName)
	setList(&c.Zones, "us-east-1a", "us-east-1b", "us-east-1c")
	if len(c.Zones) > 0 {
		setString(&c.DriverZone, c.Zones[0])
	}
	setString(&c.Namespace, "sparkplane-system")
	setString(&c.LoggingNamespace, "sparkplane-logging")
	setString(&c.MonitoringNamespace, "monitoring")
	setList(&c.SparkNamespaces, "spark")

	limits := &c.Executors.CPULimits
	if provider == ProviderKWOK {
		setInt64(&limits.Arm64Spot, 32)
		setInt64(&limits.Amd64Spot, 64)
		setInt64(&limits.Arm64OnDemand, 64)
		setInt64(&limits.Amd64OnDemand, 64)
	} else {
		setInt64(&limits.Arm64Spot, 2000)
		setInt64(&limits.Amd64Spot, 1000)
		setInt64(&limits.Arm64OnDemand, 500)
		setInt64(&limits.Amd64OnDemand, 500)
	}
	setList(&c.Executors.InstanceCategories, "c", "m", "r")
	setInt(&c.Executors.MinInstanceGeneration, 5)
	setString(&c.Executors.ConsolidateAfter, "1m")
	setString(&c.Executors.DisruptionBudget, "10%")
	setString(&c.Executors.ExpireAfter, "720h")

	setInt64(&c.Driver.CPULimit, 200)
	setList(&c.Driver.InstanceCategories, "m")
	setList(&c.Driver.Architectures, "arm64", "amd64")
	setInt64(&c.System.CPULimit, 64)
	setList(&c.System.InstanceCategories, "m")
	setList(&c.System.Architectures, "arm64", "amd64")

	setString(&c.AWS.Region, "us-east-1")
	setString(&c.AWS.NodeRole, "KarpenterNodeRole-"+c.ClusterName)
	setString(&c.AWS.DiscoveryTagKey, "karpenter.sh/discovery")
	setString(&c.AWS.BottlerocketVersion, "latest")
	setString(&c.AWS.DataVolumeSize, "100Gi")

	setString(&c.Storage.ShuffleStorageClass, "sparkplane-shuffle")
	setString(&c.Storage.VolumeType, "gp3")
	setInt(&c.Storage.IOPS, 6000)
	setInt(&c.Storage.Throughput, 500)
	setString(&c.Storage.KWOKProvisioner, KWOKVolumeProvisioner)
	setInt(&c.Storage.CSIKubeAPIQPS, 100)
	setInt(&c.Storage.CSIKubeAPIBurst, 200)
	setInt(&c.Storage.CSIWorkerThreads, 100)

	setInt(&c.DNS.CacheSeconds, 300)
	setInt(&c.DNS.CoresPerReplica, 256)
	setInt(&c.DNS.NodesPerReplica, 16)
	setInt(&c.DNS.MinReplicas, 2)

	setString(&c.Network.VPCCIDR, defaultVPCCIDR)

	setString(&c.Observability.Retention, "15d")
	setString(&c.Observability.PrometheusMaxMemory, "32Gi")
	setInt(&c.Observability.SubmissionLatencySeconds, 5)
	setInt(&c.Observability.InterruptionReactionSeconds, 10)

	setString(&c.ObjectStore.Bucket, c.ClusterName+"-spark")
	setString(&c.ObjectStore.EventLogPrefix, "spark-events")
	setString(&c.ObjectStore.LogsPrefix, "logs")

	setString(&c.HistoryServer.Image, "apache/spark:3.5.3")
}

// LoadConfig parses a platform.yaml (strictly: an unknown or misspelt key is
// an error naming it), fills in the defaults for provider and validates the
// result. Empty data means all defaults.
func LoadConfig(data []byte, provider Provider) (Config, error) {
	if !slices.Contains(Providers, provider) {
		return Config{}, fmt.Errorf("provider %q is not supported: use one of %s", provider, providerList())
	}
	var cfg Config
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Config{}, fmt.Errorf("platform config is not YAML: %w", err)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(jsonData, &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("platform config: %w", err)
	}
	if len(strictErrs) > 0 {
		return Config{}, fmt.Errorf("platform config: %w (the keys are listed in docs/platform.md)", errors.Join(strictErrs...))
	}
	if cfg.Provider != "" && cfg.Provider != provider {
		return Config{}, fmt.Errorf("provider: the file says %q but --provider is %q: make them agree or drop provider from the file", cfg.Provider, provider)
	}
	cfg.Provider = provider
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func providerList() string {
	names := make([]string, len(Providers))
	for i, p := range Providers {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

var instanceCategoryPattern = regexp.MustCompile(`^[a-z]$`)

// Validate checks a defaulted Config. Every problem is reported with the
// field's path in platform.yaml and what to do about it; all problems are
// returned at once.
func (c Config) Validate() error {
	provider := c.Provider
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(Providers, provider) {
		fail("provider", "%q is not supported: use one of %s", provider, providerList())
	}
	if msgs := validation.IsDNS1123Label(c.ClusterName); len(msgs) > 0 {
		fail("clusterName", "%q is not a DNS label (%s)", c.ClusterName, strings.Join(msgs, "; "))
	}
	seen := map[string]bool{}
	for i, zone := range c.Zones {
		if msgs := validation.IsValidLabelValue(zone); len(msgs) > 0 || zone == "" {
			fail(fmt.Sprintf("zones[%d]", i), "%q is not a zone name such as us-east-1a", zone)
		}
		if seen[zone] {
			fail(fmt.Sprintf("zones[%d]", i), "%q is listed twice", zone)
		}
		seen[zone] = true
	}
	if !slices.Contains(c.Zones, c.DriverZone) {
		fail("driverZone", "%q is not one of zones %v: pick one of them (drivers run in a single zone)", c.DriverZone, c.Zones)
	}
	for field, ns := range map[string]string{"namespace": c.Namespace, "loggingNamespace": c.LoggingNamespace, "monitoringNamespace": c.MonitoringNamespace} {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			fail(field, "%q is not a namespace name (%s)", ns, strings.Join(msgs, "; "))
		}
	}
	for i, ns := range c.SparkNamespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			fail(fmt.Sprintf("sparkNamespaces[%d]", i), "%q is not a namespace name (%s)", ns, strings.Join(msgs, "; "))
		}
	}

	for _, tier := range ExecutorTiers {
		if limit := tier.cpuLimit(c.Executors.CPULimits); limit <= 0 {
			fail("executors.cpuLimits."+tier.configKey, "%d vCPUs: must be positive (it caps the %s NodePool)", limit, tier.NodePool)
		}
	}
	checkCategories := func(field string, categories []string) {
		for i, category := range categories {
			if !instanceCategoryPattern.MatchString(category) {
				fail(fmt.Sprintf("%s[%d]", field, i), "%q is not an EC2 instance category: use one lower-case letter such as c, m or r", category)
			}
		}
	}
	checkCategories("executors.instanceCategories", c.Executors.InstanceCategories)
	checkCategories("driver.instanceCategories", c.Driver.InstanceCategories)
	checkCategories("system.instanceCategories", c.System.InstanceCategories)
	if c.Executors.MinInstanceGeneration < 0 {
		fail("executors.minInstanceGeneration", "%d: must not be negative", c.Executors.MinInstanceGeneration)
	}
	checkDuration := func(field, value string) {
		if _, err := time.ParseDuration(value); err != nil || !durationPattern.MatchString(value) {
			fail(field, "%q is not a duration such as 30s, 5m or 720h", value)
		}
	}
	checkDuration("executors.consolidateAfter", c.Executors.ConsolidateAfter)
	checkDuration("executors.expireAfter", c.Executors.ExpireAfter)
	if !budgetPattern.MatchString(c.Executors.DisruptionBudget) {
		fail("executors.disruptionBudget", "%q is neither a node count nor a percentage such as 10%%", c.Executors.DisruptionBudget)
	}
	if c.Executors.LocalNVMe && provider == ProviderKWOK {
		fail("executors.localNVMe", "kwok nodes have no instance store: set it only with --provider aws")
	}
	for field, pool := range map[string]PoolConfig{"driver": c.Driver, "system": c.System} {
		if pool.CPULimit <= 0 {
			fail(field+".cpuLimit", "%d vCPUs: must be positive", pool.CPULimit)
		}
		for i, arch := range pool.Architectures {
			if arch != ArchArm64 && arch != ArchAmd64 {
				fail(fmt.Sprintf("%s.architectures[%d]", field, i), "%q: use arm64 or amd64", arch)
			}
		}
	}

	if provider == ProviderAWS {
		if c.AWS.NodeRole == "" {
			fail("aws.nodeRole", "empty: name the IAM role of Karpenter's nodes")
		}
		if msgs := validation.IsQualifiedName(c.AWS.DiscoveryTagKey); len(msgs) > 0 {
			fail("aws.discoveryTagKey", "%q is not a tag key Karpenter can select on", c.AWS.DiscoveryTagKey)
		}
		if !bottlerocketVersionPattern.MatchString(c.AWS.BottlerocketVersion) {
			fail("aws.bottlerocketVersion", "%q: use latest or a version such as v1.40.0", c.AWS.BottlerocketVersion)
		}
		if _, err := resource.ParseQuantity(c.AWS.DataVolumeSize); err != nil {
			fail("aws.dataVolumeSize", "%q is not a size such as 100Gi", c.AWS.DataVolumeSize)
		}
	}

	if msgs := validation.IsDNS1123Subdomain(c.Storage.ShuffleStorageClass); len(msgs) > 0 {
		fail("storage.shuffleStorageClass", "%q is not a StorageClass name (%s)", c.Storage.ShuffleStorageClass, strings.Join(msgs, "; "))
	}
	if c.Storage.VolumeType != "gp3" && c.Storage.VolumeType != "io2" && c.Storage.VolumeType != "gp2" {
		fail("storage.volumeType", "%q: use gp3 (recommended), gp2 or io2", c.Storage.VolumeType)
	}
	if c.Storage.IOPS < 3000 || c.Storage.IOPS > 16000 {
		fail("storage.iops", "%d: gp3 takes 3000 to 16000", c.Storage.IOPS)
	}
	if c.Storage.Throughput < 125 || c.Storage.Throughput > 1000 {
		fail("storage.throughput", "%d MiB/s: gp3 takes 125 to 1000", c.Storage.Throughput)
	}
	for field, value := range map[string]int{
		"storage.csiKubeAPIQPS": c.Storage.CSIKubeAPIQPS, "storage.csiKubeAPIBurst": c.Storage.CSIKubeAPIBurst,
		"storage.csiWorkerThreads": c.Storage.CSIWorkerThreads, "dns.cacheSeconds": c.DNS.CacheSeconds,
		"dns.coresPerReplica": c.DNS.CoresPerReplica, "dns.nodesPerReplica": c.DNS.NodesPerReplica,
		"dns.minReplicas":                           c.DNS.MinReplicas,
		"observability.submissionLatencySeconds":    c.Observability.SubmissionLatencySeconds,
		"observability.interruptionReactionSeconds": c.Observability.InterruptionReactionSeconds,
	} {
		if value <= 0 {
			fail(field, "%d: must be positive", value)
		}
	}
	if c.Storage.CSIKubeAPIBurst < c.Storage.CSIKubeAPIQPS {
		fail("storage.csiKubeAPIBurst", "%d is below csiKubeAPIQPS %d: the burst must be at least the QPS", c.Storage.CSIKubeAPIBurst, c.Storage.CSIKubeAPIQPS)
	}
	if !slices.Contains([]int{1, 5, 10, 30, 60}, c.Observability.InterruptionReactionSeconds) {
		fail("observability.interruptionReactionSeconds", "%d: must be a bucket of sparkplane_interruption_reaction_seconds: 1, 5, 10, 30 or 60", c.Observability.InterruptionReactionSeconds)
	}
	if !slices.Contains(submissionBuckets, float64(c.Observability.SubmissionLatencySeconds)) {
		fail("observability.submissionLatencySeconds", "%d: must be a bucket of sparkplane_sparkapplication_submission_latency_seconds: %v", c.Observability.SubmissionLatencySeconds, submissionBuckets)
	}

	if prefix, err := netip.ParsePrefix(c.Network.VPCCIDR); err != nil || !prefix.Addr().Is4() {
		fail("network.vpcCIDR", "%q is not an IPv4 CIDR such as 10.0.0.0/16", c.Network.VPCCIDR)
	} else if prefix.Bits() < 16 || prefix.Bits() > 28 {
		fail("network.vpcCIDR", "/%d: an AWS VPC is /16 to /28", prefix.Bits())
	}

	if u := c.Observability.RemoteWriteURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			fail("observability.remoteWriteURL", "%q is not an http(s) URL", u)
		}
	}
	checkDurationPrometheus := func(field, value string) {
		if !prometheusDurationPattern.MatchString(value) {
			fail(field, "%q is not a Prometheus duration such as 15d or 12h", value)
		}
	}
	checkDurationPrometheus("observability.retention", c.Observability.Retention)
	if _, err := resource.ParseQuantity(c.Observability.PrometheusMaxMemory); err != nil {
		fail("observability.prometheusMaxMemory", "%q is not a size such as 32Gi", c.Observability.PrometheusMaxMemory)
	}
	if msgs := validation.IsDNS1123Subdomain(c.ObjectStore.Bucket); len(msgs) > 0 || strings.Contains(c.ObjectStore.Bucket, "..") {
		fail("objectStore.bucket", "%q is not an S3 bucket name", c.ObjectStore.Bucket)
	}
	if e := c.ObjectStore.Endpoint; e != "" {
		if parsed, err := url.Parse(e); err != nil || parsed.Host == "" {
			fail("objectStore.endpoint", "%q is not a URL such as http://minio.minio:9000", e)
		}
	}
	for field, prefix := range map[string]string{"objectStore.eventLogPrefix": c.ObjectStore.EventLogPrefix, "objectStore.logsPrefix": c.ObjectStore.LogsPrefix} {
		if strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
			fail(field, "%q: write it without leading or trailing slashes", prefix)
		}
	}
	if c.HistoryServer.Image == "" || strings.ContainsAny(c.HistoryServer.Image, " \t") {
		fail("historyServer.image", "%q is not an image reference", c.HistoryServer.Image)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

var (
	durationPattern            = regexp.MustCompile(`^([0-9]+(s|m|h))+$`)
	budgetPattern              = regexp.MustCompile(`^((100|[0-9]{1,2})%|[0-9]+)$`)
	bottlerocketVersionPattern = regexp.MustCompile(`^(latest|v[0-9]+\.[0-9]+\.[0-9]+)$`)
	prometheusDurationPattern  = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)
)

// submissionBuckets are the buckets the operator's
// sparkplane_sparkapplication_submission_latency_seconds histogram must have for the
// submission SLO to be computable.
var submissionBuckets = []float64{1, 2, 5, 10, 30}

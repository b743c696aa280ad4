package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Bundle is a rendered platform bundle: the files `sparkplane platform render`
// writes, each holding typed objects.
type Bundle struct {
	Config Config
	Files  []File
}

// File is one file of the bundle: one concern, the practice it encodes and
// its objects.
type File struct {
	// Name is the path relative to the bundle's directory.
	Name string
	// What the file holds and Practice, the practice it encodes (both go
	// into the README).
	What     string
	Practice string
	// Objects are the file's API objects, in order.
	Objects []client.Object
	// Patch is set for files that patch an object the cluster already has
	// (CoreDNS, the EBS CSI controller): they are not kustomization resources
	// but are applied with `kubectl patch`.
	Patch *PatchTarget
}

// PatchTarget names the object a patch file applies to.
type PatchTarget struct {
	Resource  string // kubectl resource name, e.g. deployment
	Namespace string
	Name      string
}

// Command is the kubectl command that applies the patch file.
func (p PatchTarget) Command(file string) string {
	return fmt.Sprintf("kubectl -n %s patch %s %s --patch-file %s", p.Namespace, p.Resource, p.Name, file)
}

// Render builds the bundle for cfg (see DefaultConfig and LoadConfig). It
// validates cfg first and returns every problem, each naming its field.
func Render(cfg Config) (*Bundle, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bundle{Config: cfg}
	add := func(f File) { b.Files = append(b.Files, f) }

	add(File{Name: "namespaces.yaml", What: "Namespaces for sparkplane, monitoring and Spark applications.",
		Practice: "Separate system workloads from Spark jobs.", Objects: objects(namespaces(cfg))})
	add(File{Name: "priorityclasses.yaml", What: "PriorityClasses sparkplane-driver (higher) and sparkplane-executor.",
		Practice: "A driver outranks executors: losing a driver loses the whole application, losing an executor loses a few tasks.",
		Objects:  objects(PriorityClasses())})
	add(File{Name: "nodepools.yaml", What: "Karpenter NodePools: four executor tiers (weights 100 > 75 > 50 > 25), the driver pool and the system pool.",
		Practice: "Karpenter over Cluster Autoscaler; arm64 spot > amd64 spot > arm64 on-demand > amd64 on-demand with automatic fallback (CPU limits per tier); drivers on on-demand nodes in a single zone, never consolidated while they run; system-critical pods on their own pool (CriticalAddonsOnly).",
		Objects:  objects(nodePools(cfg))})
	if cfg.Provider == ProviderAWS {
		add(File{Name: "nodeclasses.yaml", What: "EC2NodeClasses: default (Bottlerocket, IMDSv2, tag-based subnet and security-group discovery) and nvme-raid0 (instance-store NVMe as RAID0).",
			Practice: "Container-optimised, immutable node OS (Bottlerocket: SELinux, atomic updates with rollback); NVMe/SSD RAID0 for shuffle throughput.",
			Objects:  objects(ec2NodeClasses(cfg))})
	} else {
		add(File{Name: "nodeclasses.yaml", What: "KWOKNodeClass default, so the same NodePools run on the local cluster through Karpenter's kwok provider.",
			Practice: "Test the scaling behaviour without a cloud account.", Objects: objects(kwokNodeClasses())})
	}
	add(File{Name: "storageclasses.yaml", What: "StorageClass for shuffle PVCs (WaitForFirstConsumer, volume expansion, Delete).",
		Practice: "Block-storage PVCs for shuffle when dynamic allocation and HA are on; PVC reuse (spark.kubernetes.driver.reusePersistentVolumeClaim) needs a class that binds in the pod's zone.",
		Objects:  objects(storageClasses(cfg))})
	add(File{Name: "coredns-autoscaler.yaml", What: "cluster-proportional-autoscaler for CoreDNS (linear: cores and nodes per replica) with its RBAC.",
		Practice: "Tune CoreDNS: replicas grow with the cluster, so thousands of executors resolving the driver's service do not overload it.",
		Objects:  objects(dnsAutoscaler(cfg))})
	add(File{Name: "prometheus.yaml", What: "Prometheus (operator CR) with remote write to a managed Prometheus, its RBAC, and a VerticalPodAutoscaler sizing it.",
		Practice: "Prometheus + Grafana; VPA for Prometheus (its memory grows with the series); remote write to a managed Prometheus for durable, global storage.",
		Objects:  objects(prometheus(cfg))})
	add(File{Name: "prometheus-rules.yaml", What: "PrometheusRules: the Kubernetes API SLOs and sparkplane's SLIs as recording rules and multi-window burn-rate alerts.",
		Practice: "SLI/SLO: mutating API calls p99 <= 1s; reads p99 <= 1s (resource), 5s (namespace), 30s (cluster); sparkplane's submission latency, interruption reaction and deadline misses.",
		Objects:  objects(prometheusRules(cfg))})
	add(File{Name: "podmonitors.yaml", What: "PodMonitors for the sparkplane operator and for Spark drivers and executors (Spark's PrometheusServlet endpoints).",
		Practice: "Observe every Spark application without per-job configuration.", Objects: objects(podMonitors(cfg))})
	add(File{Name: "grafana-dashboards.yaml", What: "Grafana dashboards as ConfigMaps (label grafana_dashboard=1): the fleet (nodes and cost by tier, applications, interruptions) and the SLOs.",
		Practice: "Prometheus + Grafana; watch the tier mix and the SLO budgets.", Objects: objects(dashboards(cfg))})
	add(File{Name: "fluent-bit.yaml", What: "Fluent Bit DaemonSet and configuration: pod metadata from the kubelet, logs to object storage.",
		Practice: "FluentBit for logs to object storage; metadata from the kubelet rather than the API server, so thousands of pods do not load the API server.",
		Objects:  objects(fluentBit(cfg))})
	add(File{Name: "spark-history-server.yaml", What: "Spark History Server Deployment and Service reading event logs from object storage, and the sparkConf applications use to write them there.",
		Practice: "Spark History Server for Spark events, kept after the pods are gone.", Objects: objects(historyServer(cfg))})
	if cfg.Provider == ProviderAWS {
		deployment, target := ebsCSIControllerPatch(cfg)
		add(File{Name: "patches/ebs-csi-controller.yaml", What: "Strategic-merge patch for the EBS CSI controller's csi-attacher and csi-provisioner.",
			Practice: "Raise CSI attacher/provisioner QPS, burst and workers for many PVCs (--kube-api-qps=100 --kube-api-burst=200 --worker-threads=100), so volumes follow pods within the Spot notice.",
			Objects:  objects(deployment), Patch: &target})
	}
	corefile, corefileTarget := coreDNSConfigPatch(cfg)
	add(File{Name: "patches/coredns-configmap.yaml", What: "Strategic-merge patch for CoreDNS's Corefile: a longer cache and its Prometheus endpoint.",
		Practice: "Tune CoreDNS (cache); see the README for ndots guidance.", Objects: objects(corefile), Patch: &corefileTarget})
	coredns, corednsTarget := coreDNSDeploymentPatch()
	add(File{Name: "patches/coredns-deployment.yaml", What: "Strategic-merge patch for the CoreDNS Deployment: on the system pool, spread over zones, with resources.",
		Practice: "System-critical pods on their own node group; tune CoreDNS.", Objects: objects(coredns), Patch: &corednsTarget})
	return b, nil
}

func objects[T client.Object](in []T) []client.Object {
	out := make([]client.Object, len(in))
	for i, obj := range in {
		out[i] = obj
	}
	return out
}

// Resources returns every object the kustomization applies (everything but the
// patches), in file order.
func (b *Bundle) Resources() []client.Object {
	var out []client.Object
	for _, f := range b.Files {
		if f.Patch == nil {
			out = append(out, f.Objects...)
		}
	}
	return out
}

// KarpenterObjects returns what the local cluster needs to run the bundle's
// node pools: the node classes, the NodePools and the PriorityClasses, in the
// order to apply them. `sparkplane dev up --karpenter` applies these from the
// kwok bundle.
func (b *Bundle) KarpenterObjects() []client.Object {
	var out []client.Object
	for _, name := range []string{"priorityclasses.yaml", "nodeclasses.yaml", "nodepools.yaml"} {
		out = append(out, b.File(name).Objects...)
	}
	return out
}

// File returns the file with the given name, or nil.
func (b *Bundle) File(name string) *File {
	i := slices.IndexFunc(b.Files, func(f File) bool { return f.Name == name })
	if i < 0 {
		return nil
	}
	return &b.Files[i]
}

// Output is one file's bytes.
type Output struct {
	Name string
	Data []byte
}

// Outputs renders the bundle's files as they are written to disk: each
// object file as YAML documents, then kustomization.yaml and README.md.
func (b *Bundle) Outputs() ([]Output, error) {
	var out []Output
	for _, f := range b.Files {
		data, err := MarshalYAML(f.Objects...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, Output{Name: f.Name, Data: data})
	}
	kustomization, err := yaml.Marshal(b.kustomization())
	if err != nil {
		return nil, err
	}
	out = append(out, Output{Name: "kustomization.yaml", Data: kustomization})
	out = append(out, Output{Name: "README.md", Data: b.readme()})
	return out, nil
}

// MarshalYAML writes objects as a YAML stream. Fields the server fills in
// (status, creationTimestamp) and nulls are left out.
func MarshalYAML(objs ...client.Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
		doc, err := toMap(obj)
		if err != nil {
			return nil, err
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(data)
	}
	return buf.Bytes(), nil
}

// ToUnstructured returns obj as the bundle writes it (no status, no nulls),
// ready for a server-side apply with a dynamic or unstructured client.
func ToUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	doc, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	// json.Number values become int64 or float64, as unstructured requires.
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return u, nil
}

// toMap is obj as JSON-compatible values without status, nulls or an empty
// creationTimestamp.
func toMap(obj client.Object) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var doc map[string]any
	if err := decoder.Decode(&doc); err != nil {
		return nil, err
	}
	delete(doc, "status")
	return pruneNulls(doc).(map[string]any), nil
}

func pruneNulls(value any) any {
	switch v := value.(type) {
	case map[string]any:
		for key, item := range v {
			if item == nil {
				delete(v, key)
				continue
			}
			v[key] = pruneNulls(item)
		}
		return v
	case []any:
		for i := range v {
			v[i] = pruneNulls(v[i])
		}
		return v
	default:
		return v
	}
}

package platform

import (
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objectOf is the element type of the object lists the builders return.
type objectOf = client.Object

// Kustomization is the part of kustomize's kustomize.config.k8s.io/v1beta1
// Kustomization the bundle writes.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func (b *Bundle) kustomization() Kustomization {
	k := Kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	for _, f := range b.Files {
		if f.Patch == nil {
			k.Resources = append(k.Resources, f.Name)
		}
	}
	return k
}

// readme is the README.md written into the bundle's directory.
func (b *Bundle) readme() []byte {
	cfg := b.Config
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("# sparkplane platform bundle (provider %s, cluster %s)", cfg.Provider, cfg.ClusterName)
	line("")
	line("Rendered by `sparkplane platform render --provider %s`. Every file is generated from typed", cfg.Provider)
	line("API objects; change platform.yaml and render again rather than editing them.")
	line("")
	line("## Apply")
	line("")
	line("Install the CRDs first (Karpenter and its %s node class, the Prometheus operator, the", map[Provider]string{ProviderAWS: "EC2NodeClass", ProviderKWOK: "KWOKNodeClass"}[cfg.Provider])
	line("Vertical Pod Autoscaler), then:")
	line("")
	line("    kubectl apply --server-side -k .")
	for _, f := range b.Files {
		if f.Patch != nil {
			line("    %s", f.Patch.Command(f.Name))
		}
	}
	line("")
	line("## Files")
	line("")
	line("| file | what | practice |")
	line("| --- | --- | --- |")
	for _, f := range b.Files {
		line("| `%s` | %s | %s |", f.Name, f.What, f.Practice)
	}
	line("| `kustomization.yaml` | The kustomization over every file above except `patches/`. | One `kubectl apply -k`. |")
	line("")
	line("## Tiers")
	line("")
	line("| NodePool | weight | vCPU limit |")
	line("| --- | --- | --- |")
	for _, tier := range ExecutorTiers {
		line("| `%s` | %d | %d |", tier.NodePool, tier.Weight, tier.cpuLimit(cfg.Executors.CPULimits))
	}
	line("| `%s` (on-demand, zone %s, taint `%s=true:NoSchedule`) | - | %d |", NodePoolDriver, cfg.DriverZone, DriverTaintKey, cfg.Driver.CPULimit)
	line("| `%s` (on-demand, taint `%s=true:NoSchedule`) | - | %d |", NodePoolSystem, CriticalAddonsOnlyTaintKey, cfg.System.CPULimit)
	line("")
	line("Karpenter tries the highest weight first and falls back when a tier's limit is reached or")
	line("its capacity is unavailable. Drivers select `%s=%s` and tolerate the driver taint.", LabelNodeRole, NodeRoleDriver)
	line("")
	line("## DNS: ndots")
	line("")
	line("Pods default to `ndots:5`, so a name such as `my-app-driver-svc.spark.svc` is first tried")
	line("against every search domain: several lookups per connection, multiplied by thousands of")
	line("executors. sparkplane's pod templates set `dnsConfig.options: [{name: ndots, value: \"2\"}]`;")
	line("do the same for other chatty workloads, or use fully qualified names with a trailing dot.")
	line("")
	line("## Spark applications")
	line("")
	line("`spark-history-server.yaml` holds the ConfigMap `spark-application-defaults` with the sparkConf")
	line("that makes applications write event logs to `%s` and serve Prometheus metrics.", cfg.eventLogDir())
	line("The History Server image needs the hadoop-aws and AWS SDK jars (set historyServer.image).")
	if cfg.Provider == ProviderAWS {
		line("")
		line("The EBS CSI patch replaces the sidecars' argument lists; if the add-on is managed by Helm,")
		line("set the same flags in its values (sidecars.attacher/provisioner.additionalArgs) instead.")
	}
	return []byte(s.String())
}

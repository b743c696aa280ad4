// Package platform renders the cluster side of sparkplane's practices — the
// "platform bundle" that `sparkplane platform render` writes: Karpenter
// NodePools in the tier order (arm64 spot > amd64 spot > arm64 on-demand >
// amd64 on-demand), the on-demand driver pool and the system pool, node classes
// (EC2NodeClass for aws, KWOKNodeClass for the local cluster), StorageClasses,
// PriorityClasses, CoreDNS and EBS CSI tuning patches, Prometheus rules with the
// Kubernetes API SLOs as multi-window burn-rate alerts, PodMonitors, Grafana
// dashboards, Prometheus with a VPA and remote write, Fluent Bit and the Spark
// History Server.
//
// It is pure: Render takes a Config and returns typed API objects grouped into
// files; it holds no client, no clock and starts no goroutines. Objects are
// built from Go API types (Karpenter's own for NodePool and KWOKNodeClass, the
// Prometheus operator's for its resources, k8s.io/api for the core ones) or,
// where the upstream module is too heavy (EC2NodeClass, VerticalPodAutoscaler),
// from small typed mirrors that the tests check against the upstream CRDs with
// a server-side dry run. Nothing is produced from string templates.
//
// PlanNetwork sizes the VPC for a node and executor count (`sparkplane platform
// plan-network`).
package platform

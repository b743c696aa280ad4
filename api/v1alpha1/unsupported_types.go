package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Unsupported is a Kubeflow v1beta2 field sparkplane does not implement. It is
// in the schema only so that the API server refuses a manifest that sets it,
// with a message naming the field and what to use instead (a CEL rule on
// the parent), instead of pruning it silently. Its value is never read.
// docs/migrating.md lists every Kubeflow field and its status;
// `sparkplane convert` rewrites the ones that have a direct equivalent.
type Unsupported = apiextensionsv1.JSON

// The refusals, one per Kubeflow field sparkplane does not implement. Each
// names the field and the alternative; the CEL rules on SparkApplicationSpec,
// DriverSpec and ExecutorSpec carry the same text (CEL messages must be
// literals).
const (
	UnsupportedFailureRetries   = "failureRetries is Kubeflow's deprecated retry count: use restartPolicy.onFailureRetries (sparkplane convert rewrites it)"
	UnsupportedRetryInterval    = "retryInterval is Kubeflow's deprecated retry interval: use restartPolicy.onFailureRetryInterval (sparkplane convert rewrites it)"
	UnsupportedTemplate         = "a pod template is not supported: use the typed fields (affinity, tolerations, volumeMounts, sidecars, initContainers, securityContext, ...) or a SparkProfile"
	UnsupportedGPU              = "gpu is not supported: for executors set sparkConf spark.executor.resource.gpu.amount and spark.executor.resource.gpu.vendor (e.g. nvidia.com), which Spark requests on the executor pods"
	UnsupportedEnvVars          = "envVars is deprecated in Kubeflow: use env (a list of name/value; sparkplane convert rewrites it)"
	UnsupportedEnvSecretKeyRefs = "envSecretKeyRefs is deprecated in Kubeflow: use env with valueFrom.secretKeyRef (sparkplane convert rewrites it)"
	UnsupportedRuntimeClassName = "runtimeClassName is not supported: schedule the pods onto nodes of that runtime with nodeSelector or affinity instead"
	UnsupportedPodName          = "driver.podName is for Kubeflow's client modes; sparkplane runs cluster mode only and names the driver <app>-<attempt>-driver: remove it"
	UnsupportedKubernetesMaster = "driver.kubernetesMaster is not supported: the operator sets spark.master for every application: remove it"
	UnsupportedPorts            = "ports is not supported: expose a driver port with spec.driverIngressOptions, or run a sidecar that declares it"
)

// UnsupportedPort is the shape of Kubeflow's driver/executor ports entries,
// typed only so the refusal rule can see the field.
type UnsupportedPort struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// +optional
	ContainerPort int32 `json:"containerPort,omitempty"`
}

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// SparkUIConfiguration is the Service (and, when the operator runs with
// --ingress-url-format, the Ingress) that exposes the driver's Spark UI, as
// Kubeflow's spec.sparkUIOptions. Without it the UI is still reachable in the
// cluster through the driver's headless Service (status.driverInfo.webUIAddress).
type SparkUIConfiguration struct {
	// ServicePort is the UI Service's port (default: the UI port, 4040).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ServicePort *int32 `json:"servicePort,omitempty"`
	// ServicePortName names the Service port (default spark-driver-ui-port).
	// +optional
	// +kubebuilder:validation:MaxLength=15
	ServicePortName *string `json:"servicePortName,omitempty"`
	// ServiceType of the UI Service (default ClusterIP).
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// ServiceAnnotations are added to the UI Service.
	// +optional
	ServiceAnnotations map[string]string `json:"serviceAnnotations,omitempty"`
	// ServiceLabels are added to the UI Service.
	// +optional
	ServiceLabels map[string]string `json:"serviceLabels,omitempty"`
	// IngressAnnotations are added to the UI Ingress (e.g. the ingress class).
	// +optional
	IngressAnnotations map[string]string `json:"ingressAnnotations,omitempty"`
	// IngressTLS of the UI Ingress.
	// +optional
	IngressTLS []networkingv1.IngressTLS `json:"ingressTLS,omitempty"`
}

// DriverIngressConfiguration exposes another port of the driver (e.g. Spark
// Connect's 15002) through a Service and an Ingress, as Kubeflow's
// spec.driverIngressOptions.
type DriverIngressConfiguration struct {
	// ServicePort is the driver's port, and the Service's.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ServicePort *int32 `json:"servicePort"`
	// ServicePortName names the port; the Service is <attempt prefix>-<name>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ServicePortName *string `json:"servicePortName"`
	// ServiceType of the Service (default ClusterIP).
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// ServiceAnnotations are added to the Service.
	// +optional
	ServiceAnnotations map[string]string `json:"serviceAnnotations,omitempty"`
	// ServiceLabels are added to the Service.
	// +optional
	ServiceLabels map[string]string `json:"serviceLabels,omitempty"`
	// IngressURLFormat is the Ingress address, with {{$appName}} and
	// {{$appNamespace}} filled in: a host
	// ({{$appName}}.{{$appNamespace}}.example.com) or a host and path
	// (example.com/{{$appNamespace}}/{{$appName}}). Empty: no Ingress.
	// +optional
	IngressURLFormat string `json:"ingressURLFormat,omitempty"`
	// IngressAnnotations are added to the Ingress.
	// +optional
	IngressAnnotations map[string]string `json:"ingressAnnotations,omitempty"`
	// IngressTLS of the Ingress.
	// +optional
	IngressTLS []networkingv1.IngressTLS `json:"ingressTLS,omitempty"`
}

package submit

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The Spark UI's Service and Ingress (spec.sparkUIOptions, the operator's
// --ingress-url-format) and the Services and Ingresses of
// spec.driverIngressOptions. All are per attempt and owned by the driver pod,
// so they exist while the driver does.
const (
	// DefaultUIServicePortName names the UI Service's port (Kubeflow's).
	DefaultUIServicePortName = "spark-driver-ui-port"
	// ConfUIProxyBase is set for an Ingress that routes by path, so the
	// UI's links carry the path.
	ConfUIProxyBase = "spark.ui.proxyBase"
	// AnnotationRewriteTarget is the ingress-nginx annotation that strips
	// the path prefix before the request reaches the UI.
	AnnotationRewriteTarget = "nginx.ingress.kubernetes.io/rewrite-target"
)

// IngressURL is an Ingress address made from a URL format.
type IngressURL struct {
	Host string
	// Path is "" for host routing, else the prefix (e.g. /spark/pi).
	Path string
}

// ExpandIngressURL fills {{$appName}} and {{$appNamespace}} into format and
// splits it into host and path; a leading http:// or https:// is dropped.
func ExpandIngressURL(format, appName, namespace string) (IngressURL, error) {
	s := strings.NewReplacer("{{$appName}}", appName, "{{$appNamespace}}", namespace).Replace(format)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	host, path, _ := strings.Cut(s, "/")
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return IngressURL{}, fmt.Errorf("%q gives host %q, which is not a DNS name (%s); write e.g. {{$appName}}.{{$appNamespace}}.example.com or example.com/{{$appNamespace}}/{{$appName}}", format, host, strings.Join(errs, "; "))
	}
	path = strings.Trim(path, "/")
	if strings.ContainsAny(path, " ?#{}") {
		return IngressURL{}, fmt.Errorf("%q gives path %q, which has characters a URL path cannot have", format, path)
	}
	if path != "" {
		path = "/" + path
	}
	return IngressURL{Host: host, Path: path}, nil
}

// ValidateIngressURLFormat checks the operator's --ingress-url-format: it
// must name the application, so two applications never share an address.
func ValidateIngressURLFormat(format string) error {
	if !strings.Contains(format, "{{$appName}}") {
		return errors.New("--ingress-url-format must contain {{$appName}} (and {{$appNamespace}} unless every application name is unique across namespaces)")
	}
	_, err := ExpandIngressURL(format, "app", "namespace")
	return err
}

// url renders the address with the scheme TLS implies.
func (u IngressURL) url(tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	return scheme + u.Host + u.Path + "/"
}

// uiConf sets spark.ui.proxyBase when the UI Ingress routes by path (unless
// spec.sparkConf sets it) and resolves the UI's Ingress address.
func (b *builder) uiConf() {
	if b.opts.IngressURLFormat == "" {
		return
	}
	u, err := ExpandIngressURL(b.opts.IngressURLFormat, b.app.Name, b.app.Namespace)
	if err != nil {
		b.errs = append(b.errs, field.Invalid(specPath.Child("sparkUIOptions"), b.opts.IngressURLFormat, "the operator's --ingress-url-format: "+err.Error()))
		return
	}
	b.uiIngress = &u
	if _, set := b.spec.SparkConf[ConfUIProxyBase]; !set && u.Path != "" {
		b.conf[ConfUIProxyBase] = u.Path
	}
}

// exposures builds the UI Service and Ingress and the driverIngressOptions'
// Services and Ingresses into objs.
func (b *builder) exposures(objs *Objects) {
	ui := b.spec.SparkUIOptions
	if ui == nil && b.uiIngress == nil {
		return
	}
	if ui == nil {
		ui = &v1alpha1.SparkUIConfiguration{}
	}
	port := ptr.Deref(ui.ServicePort, b.uiPort)
	objs.UIService = b.service(b.names.Prefix+"-ui-svc", ui.ServiceLabels, ui.ServiceAnnotations, ptr.Deref(ui.ServiceType, corev1.ServiceTypeClusterIP),
		corev1.ServicePort{Name: ptr.Deref(ui.ServicePortName, DefaultUIServicePortName), Port: port, TargetPort: intstr.FromInt32(b.uiPort), Protocol: corev1.ProtocolTCP})
	if b.uiIngress != nil {
		objs.UIIngress = b.ingress(b.names.Prefix+"-ui-ingress", *b.uiIngress, objs.UIService.Name, port, ui.IngressAnnotations, ui.IngressTLS)
		objs.UIIngressURL = b.uiIngress.url(len(ui.IngressTLS) > 0)
	}
	for i, opt := range b.spec.DriverIngressOptions {
		name, port := ptr.Deref(opt.ServicePortName, ""), ptr.Deref(opt.ServicePort, 0)
		svc := b.service(b.names.Prefix+"-"+name, opt.ServiceLabels, opt.ServiceAnnotations, ptr.Deref(opt.ServiceType, corev1.ServiceTypeClusterIP),
			corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP})
		objs.PortServices = append(objs.PortServices, svc)
		if opt.IngressURLFormat == "" {
			continue
		}
		u, err := ExpandIngressURL(opt.IngressURLFormat, b.app.Name, b.app.Namespace)
		if err != nil {
			b.errs = append(b.errs, field.Invalid(specPath.Child("driverIngressOptions").Index(i).Child("ingressURLFormat"), opt.IngressURLFormat, err.Error()))
			continue
		}
		objs.PortIngresses = append(objs.PortIngresses, b.ingress(svc.Name+"-ingress", u, svc.Name, port, opt.IngressAnnotations, opt.IngressTLS))
	}
}

func (b *builder) service(name string, userLabels, annotations map[string]string, serviceType corev1.ServiceType, port corev1.ServicePort) *corev1.Service {
	labels := maps.Clone(userLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.LabelApplication] = b.app.Name
	labels[spark.LabelAppSelector] = b.names.AppID
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.app.Namespace, Labels: labels, Annotations: maps.Clone(annotations)},
		Spec: corev1.ServiceSpec{
			Type:     serviceType,
			Selector: map[string]string{spark.LabelAppSelector: b.names.AppID, spark.LabelRole: spark.RoleDriver},
			Ports:    []corev1.ServicePort{port},
		},
	}
}

// ingress routes u to the Service's port. A path route strips the path
// before the request reaches the driver (ingress-nginx's rewrite-target,
// unless the annotations set one), as Kubeflow's does.
func (b *builder) ingress(name string, u IngressURL, service string, port int32, annotations map[string]string, tls []networkingv1.IngressTLS) *networkingv1.Ingress {
	annotations = maps.Clone(annotations)
	path, pathType := "/", networkingv1.PathTypePrefix
	if u.Path != "" {
		path, pathType = u.Path+"(/|$)(.*)", networkingv1.PathTypeImplementationSpecific
		if _, set := annotations[AnnotationRewriteTarget]; !set {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[AnnotationRewriteTarget] = "/$2"
		}
	}
	var tlsCopy []networkingv1.IngressTLS
	for _, t := range tls {
		tlsCopy = append(tlsCopy, *t.DeepCopy())
	}
	return &networkingv1.Ingress{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.app.Namespace, Annotations: annotations, Labels: map[string]string{
			v1alpha1.LabelApplication: b.app.Name, spark.LabelAppSelector: b.names.AppID}},
		Spec: networkingv1.IngressSpec{
			TLS: tlsCopy,
			Rules: []networkingv1.IngressRule{{Host: u.Host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &pathType, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: port}}}}},
			}}}},
		},
	}
}

// DriverInfo is status.driverInfo for the attempt: the UI Service (the
// headless driver Service when there is no UI Service) and the Ingress.
func (o *Objects) DriverInfo() v1alpha1.DriverInfo {
	svc, portName := o.DriverService, UIPortName
	if o.UIService != nil {
		svc, portName = o.UIService, o.UIService.Spec.Ports[0].Name
	}
	port := int32(DefaultUIPort)
	for _, p := range svc.Spec.Ports {
		if p.Name == portName {
			port = p.Port
		}
	}
	info := v1alpha1.DriverInfo{
		PodName:          o.Names.DriverPod,
		WebUIServiceName: svc.Name,
		WebUIPort:        port,
		WebUIAddress:     fmt.Sprintf("%s.%s.svc:%d", svc.Name, svc.Namespace, port),
	}
	if o.UIIngress != nil {
		info.WebUIIngressName = o.UIIngress.Name
		info.WebUIIngressAddress = o.UIIngressURL
	}
	return info
}

package submit

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestExpandIngressURL(t *testing.T) {
	cases := map[string]struct {
		format     string
		want       IngressURL
		wantErrSub string
	}{
		"host":         {format: "{{$appName}}.{{$appNamespace}}.example.com", want: IngressURL{Host: "pi.spark.example.com"}},
		"path":         {format: "example.com/{{$appNamespace}}/{{$appName}}", want: IngressURL{Host: "example.com", Path: "/spark/pi"}},
		"scheme, /":    {format: "https://ui.example.com/{{$appName}}/", want: IngressURL{Host: "ui.example.com", Path: "/pi"}},
		"bad host":     {format: "{{$appName}}_ui.example.com", wantErrSub: "not a DNS name"},
		"empty host":   {format: "/{{$appName}}", wantErrSub: "not a DNS name"},
		"query in url": {format: "example.com/{{$appName}}?x=1", wantErrSub: "path"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ExpandIngressURL(tc.format, "pi", "spark")
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("error = %v, want one about %q", err, tc.wantErrSub)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if err := ValidateIngressURLFormat("spark.example.com"); err == nil {
		t.Error("a format without {{$appName}} gives every application one address; it must be refused")
	}
}

// TestUIGolden pins the UI Service and Ingress of the host and the path
// forms and a driverIngressOptions port (testdata/ui-<form>.golden.yaml).
func TestUIGolden(t *testing.T) {
	withOptions := scalaApp()
	withOptions.Spec.SparkUIOptions = &v1alpha1.SparkUIConfiguration{
		ServicePort: ptr.To[int32](80), ServiceType: ptr.To(corev1.ServiceTypeNodePort),
		ServiceAnnotations: map[string]string{"team": "a"}, IngressAnnotations: map[string]string{"kubernetes.io/ingress.class": "nginx"},
		IngressTLS: []networkingv1.IngressTLS{{Hosts: []string{"spark-pi.analytics.example.com"}, SecretName: "ui-tls"}},
	}
	withOptions.Spec.DriverIngressOptions = []v1alpha1.DriverIngressConfiguration{{
		ServicePort: ptr.To[int32](15002), ServicePortName: ptr.To("connect"), IngressURLFormat: "connect.example.com/{{$appName}}",
	}}
	cases := map[string]struct {
		app     *v1alpha1.SparkApplication
		format  string
		wantURL string
	}{
		"host": {withOptions, "{{$appName}}.{{$appNamespace}}.example.com", "https://spark-pi.analytics.example.com/"},
		"path": {scalaApp(), "example.com/{{$appNamespace}}/{{$appName}}", "http://example.com/analytics/spark-pi/"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs, err := Build(tc.app, Options{Attempt: 1, IngressURLFormat: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "ui-"+name+".golden.yaml", anySlice(objs.Dependents()[3:])...) // the UI's, after the ConfigMaps and the driver Service
			info := objs.DriverInfo()
			if info.WebUIServiceName != "spark-pi-1-ui-svc" || info.WebUIIngressName != "spark-pi-1-ui-ingress" || info.WebUIIngressAddress != tc.wantURL {
				t.Errorf("driverInfo = %+v, want the UI Service, its Ingress and %s", info, tc.wantURL)
			}
		})
	}

	// The path form sets spark.ui.proxyBase; the host form does not.
	objs, _ := Build(scalaApp(), Options{Attempt: 1, IngressURLFormat: "example.com/{{$appNamespace}}/{{$appName}}"})
	if objs.Conf[ConfUIProxyBase] != "/analytics/spark-pi" {
		t.Errorf("path form: spark.ui.proxyBase = %q", objs.Conf[ConfUIProxyBase])
	}
	objs, _ = Build(scalaApp(), Options{Attempt: 1, IngressURLFormat: "{{$appName}}.example.com"})
	if _, set := objs.Conf[ConfUIProxyBase]; set {
		t.Errorf("host form must not set spark.ui.proxyBase")
	}
	// Without options or a format: no UI Service (the headless Service serves the UI).
	objs, _ = Build(scalaApp(), Options{Attempt: 1})
	if objs.UIService != nil || len(objs.Dependents()) != 3 || objs.DriverInfo().WebUIServiceName != objs.Names.DriverService {
		t.Errorf("no sparkUIOptions, no format: want only the driver's own objects, got %d dependents", len(objs.Dependents()))
	}
}

package v1alpha1_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/toolchain"
)

// TestUnsupportedKubeflowFieldsRefused: each Kubeflow field sparkplane does
// not implement is refused by the API server with its path and the
// alternative (the same text as the Unsupported* constants convert uses).
func TestUnsupportedKubeflowFieldsRefused(t *testing.T) {
	ns := env.Namespace(t)
	cases := map[string]struct {
		path  []string
		value any
		want  string
	}{
		"failureRetries":            {[]string{"spec", "failureRetries"}, int64(3), v1alpha1.UnsupportedFailureRetries},
		"retryInterval":             {[]string{"spec", "retryInterval"}, int64(3), v1alpha1.UnsupportedRetryInterval},
		"driver.template":           {[]string{"spec", "driver", "template"}, map[string]any{"metadata": map[string]any{}}, v1alpha1.UnsupportedTemplate},
		"executor.gpu":              {[]string{"spec", "executor", "gpu"}, map[string]any{"name": "nvidia.com/gpu", "quantity": int64(1)}, v1alpha1.UnsupportedGPU},
		"driver.envVars":            {[]string{"spec", "driver", "envVars"}, map[string]any{"A": "1"}, v1alpha1.UnsupportedEnvVars},
		"executor.envSecretKeyRefs": {[]string{"spec", "executor", "envSecretKeyRefs"}, map[string]any{"A": map[string]any{"name": "s", "key": "k"}}, v1alpha1.UnsupportedEnvSecretKeyRefs},
		"driver.runtimeClassName":   {[]string{"spec", "driver", "runtimeClassName"}, "gvisor", v1alpha1.UnsupportedRuntimeClassName},
		"driver.podName":            {[]string{"spec", "driver", "podName"}, "x", v1alpha1.UnsupportedPodName},
		"driver.kubernetesMaster":   {[]string{"spec", "driver", "kubernetesMaster"}, "https://x", v1alpha1.UnsupportedKubernetesMaster},
		"executor.ports":            {[]string{"spec", "executor", "ports"}, []any{map[string]any{"name": "p", "containerPort": int64(1), "protocol": "TCP"}}, v1alpha1.UnsupportedPorts},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(validApp(ns))
			if err != nil {
				t.Fatal(err)
			}
			app := &unstructured.Unstructured{Object: obj}
			app.SetAPIVersion(v1alpha1.GroupVersion.String())
			app.SetKind("SparkApplication")
			if err := unstructured.SetNestedField(app.Object, tc.value, tc.path...); err != nil {
				t.Fatal(err)
			}
			err = env.Client.Create(context.Background(), app)
			field := strings.Join(tc.path, ".")
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create with %s = %v\nwant Invalid naming %s and %q", field, err, field, tc.want)
			}
		})
	}
}

// TestKubeflowExamplesApplyStrict: the incumbent's example shapes
// (test/testdata/kubeflow) are accepted with kubectl apply
// --validate=strict after changing apiVersion alone.
func TestKubeflowExamplesApplyStrict(t *testing.T) {
	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData, Token: env.Config.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest", Namespace: ns}
	cfg.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../test/testdata/kubeflow/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			manifest := strings.Replace(string(data), "apiVersion: sparkoperator.k8s.io/v1beta2", "apiVersion: "+v1alpha1.GroupVersion.String(), 1)
			manifest = strings.Replace(manifest, "namespace: default", "namespace: "+ns, 1)
			if manifest == string(data) {
				t.Fatal("the example has no Kubeflow apiVersion to change")
			}
			cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "--validate=strict", "--server-side", "--dry-run=server", "-f", "-")
			cmd.Stdin = strings.NewReader(manifest)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("kubectl apply --validate=strict: %v\n%s", err, out)
			}
		})
	}
}

// TestMonitoringValidation: the exporter flags need monitoring.prometheus;
// a monitoring block without them (PrometheusServlet users) is valid.
func TestMonitoringValidation(t *testing.T) {
	ns := env.Namespace(t)
	cases := map[string]struct {
		monitoring map[string]any
		wantErr    string
	}{
		"metrics.properties only": {monitoring: map[string]any{"metricsProperties": "*.sink.prometheusServlet.class=org.apache.spark.metrics.sink.PrometheusServlet"}},
		"exporter":                {monitoring: map[string]any{"exposeDriverMetrics": true, "prometheus": map[string]any{"jmxExporterJar": "/p.jar"}}},
		"flag without exporter":   {monitoring: map[string]any{"exposeExecutorMetrics": true}, wantErr: "spec.monitoring.prometheus"},
		"both metrics files":      {monitoring: map[string]any{"metricsProperties": "x", "metricsPropertiesFile": "/x"}, wantErr: "spec.monitoring.metricsPropertiesFile"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(validApp(ns))
			if err != nil {
				t.Fatal(err)
			}
			app := &unstructured.Unstructured{Object: obj}
			app.SetAPIVersion(v1alpha1.GroupVersion.String())
			app.SetKind("SparkApplication")
			app.SetGenerateName("mon-")
			app.SetName("")
			if err := unstructured.SetNestedField(app.Object, tc.monitoring, "spec", "monitoring"); err != nil {
				t.Fatal(err)
			}
			err = env.Client.Create(context.Background(), app)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused a valid monitoring block: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("create = %v, want Invalid naming %s", err, tc.wantErr)
			}
		})
	}
}

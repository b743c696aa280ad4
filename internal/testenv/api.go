package testenv

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// SparkplaneOptions are the Options of an Env serving sparkplane's API: the
// client-go and sparkplane types in a scheme of their own, and sparkplane's
// CRDs installed. extraCRDPaths add other CRDs (a scheduler's PodGroup, say).
func SparkplaneOptions(extraCRDPaths ...string) (Options, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return Options{}, fmt.Errorf("building the scheme: %w", err)
		}
	}
	crds, err := v1alpha1.CRDs()
	if err != nil {
		return Options{}, fmt.Errorf("reading sparkplane's CRDs: %w", err)
	}
	return Options{CRDs: crds, CRDPaths: extraCRDPaths, Scheme: scheme}, nil
}

// MainSparkplane is Main with SparkplaneOptions: the TestMain of a package
// whose tests need sparkplane's API on a real API server.
func MainSparkplane(m *testing.M, env **Env, extraCRDPaths ...string) {
	opts, err := SparkplaneOptions(extraCRDPaths...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	Main(m, opts, env)
}

// Package testenv starts a real kube-apiserver and etcd (the binaries built by
// hack/tools.sh) through controller-runtime's envtest, for integration tests.
// A test package starts one Env in TestMain and gives each test its own
// namespace.
package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sparkplane/sparkplane/internal/toolchain"
)

// Options configure an Env.
type Options struct {
	// CRDs are installed before Start returns.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// CRDPaths are files or folders of CRD manifests installed before Start returns.
	CRDPaths []string
	// Scheme the client uses; client-go's scheme when nil.
	Scheme *runtime.Scheme
}

// Env is a running API server.
type Env struct {
	Config *rest.Config
	Client client.Client
	env    *envtest.Environment
}

// Start starts etcd and kube-apiserver. It returns an error naming `make tools`
// when the binaries have not been built.
func Start(opts Options) (*Env, error) {
	apiserver, err := toolchain.KubeAPIServer.Path()
	if err != nil {
		return nil, err
	}
	etcd, err := toolchain.Etcd.Path()
	if err != nil {
		return nil, err
	}
	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		return nil, err
	}
	scheme := opts.Scheme
	if scheme == nil {
		scheme = clientgoscheme.Scheme
	}
	env := &envtest.Environment{
		CRDs:                  opts.CRDs,
		CRDDirectoryPaths:     opts.CRDPaths,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: apiserver}
	env.ControlPlane.KubectlPath = kubectl
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest control plane: %w", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, env: env}, nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// Namespace creates a namespace named after the test and deletes it when the
// test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(name)
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Trim(name, "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// StartManager creates a controller-runtime manager against the Env (its
// client's scheme, no metrics or probe listener, controller names that may
// repeat across the tests of one process), lets register add controllers and
// caches to it, and runs it until stop is called or the test ends; stop may
// be called more than once.
func (e *Env) StartManager(t testing.TB, register func(manager.Manager) error) (stop func()) {
	t.Helper()
	mgr, err := manager.New(e.Config, manager.Options{
		Scheme:                 e.Client.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := register(mgr); err != nil {
		t.Fatal(err)
	}
	return Run(t, "manager", mgr.Start)
}

// Run runs start (a manager's or the operator's Start) in the background
// until stop is called or the test ends, and fails the test, naming what,
// when it returns an error; stop may be called more than once.
func Run(t testing.TB, what string, start func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// Main is a TestMain helper: it starts an Env, runs the tests and stops it.
// When the binaries are missing it fails (never skips) with the message that
// says how to build them, so CI cannot pass without running these tests.
func Main(m *testing.M, opts Options, env **Env) {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
	}
	os.Exit(code)
}

// ShuffleStorageClass creates, once, the StorageClass the built-in profiles'
// shuffle PVCs use (the platform bundle's, with no provisioner here): without
// it an application on such a profile ends Failed at once.
func (e *Env) ShuffleStorageClass(t testing.TB, name string) {
	t.Helper()
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "kubernetes.io/no-provisioner"}
	if err := e.Client.Create(context.Background(), class); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating StorageClass %s: %v", name, err)
	}
}

//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/controller/queue"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/internal/toolchain"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestKueueAdmitsOneApplicationAtATime: Kueue, built from its Go module
// (tools/kueue), runs on the local cluster with a ClusterQueue that has room
// for one application. Two applications labelled for its LocalQueue: the
// first is admitted and submitted, the second waits Suspended with no driver;
// when the first ends its Workload goes, and the second is admitted and runs.
func TestKueueAdmitsOneApplicationAtATime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	kueue, err := toolchain.Kueue.Path()
	if err != nil {
		t.Fatal(err)
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	ctx := context.Background()
	admin, err := client.New(c.Config, client.Options{Scheme: cli.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	installKueueCRDs(t, admin)
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kueue-system"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	startKueue(t, c, kueue)
	cl := operatorOn(t, c, sparkprofile.ResolverOptions{})
	ns := c.Namespace(t)

	// Room for one application: 2 CPUs (driver 1 + executor 1), 4 GiB.
	for _, manifest := range []string{
		`{"apiVersion":"kueue.x-k8s.io/v1beta1","kind":"ResourceFlavor","metadata":{"name":"default"}}`,
		`{"apiVersion":"kueue.x-k8s.io/v1beta1","kind":"ClusterQueue","metadata":{"name":"spark"},"spec":{"namespaceSelector":{},
		  "resourceGroups":[{"coveredResources":["cpu","memory"],"flavors":[{"name":"default","resources":[
		  {"name":"cpu","nominalQuota":"3"},{"name":"memory","nominalQuota":"4Gi"}]}]}]}}`,
		`{"apiVersion":"kueue.x-k8s.io/v1beta1","kind":"LocalQueue","metadata":{"name":"team","namespace":"` + ns + `"},"spec":{"clusterQueue":"spark"}}`,
	} {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetKind(), err)
		}
	}
	newApp := func(name string) *v1alpha1.SparkApplication {
		app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.LabelKueueQueueName: "team"}}}
		app.Spec.Type = v1alpha1.SparkApplicationTypeScala
		app.Spec.SparkVersion = "3.5.3"
		app.Spec.Image = ptr.To("spark:3.5.3")
		app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
		app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
		app.Spec.Driver.Cores = ptr.To[int32](1)
		app.Spec.Executor.Cores = ptr.To[int32](1)
		app.Spec.Executor.Instances = ptr.To[int32](1)
		if err := cl.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	first, second := newApp("first"), newApp("second")
	get := func(app *v1alpha1.SparkApplication) *v1alpha1.SparkApplication {
		out := &v1alpha1.SparkApplication{}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var running, waiting *v1alpha1.SparkApplication
	testenv.Eventually(t, 2*time.Minute, "one application admitted and submitted, the other suspended", func() (bool, error) {
		a, b := get(first), get(second)
		switch {
		case a.Status.Attempts == 1 && b.Status.State == v1alpha1.StateSuspended:
			running, waiting = a, b
		case b.Status.Attempts == 1 && a.Status.State == v1alpha1.StateSuspended:
			running, waiting = b, a
		default:
			return false, nil
		}
		return true, nil
	})
	// The waiting one stays so: no driver while the first holds the quota.
	time.Sleep(5 * time.Second)
	if w := get(waiting); w.Status.Attempts != 0 || w.Status.State != v1alpha1.StateSuspended {
		t.Fatalf("%s started while %s held the queue's room: state %q attempts %d", w.Name, running.Name, w.Status.State, w.Status.Attempts)
	}
	// Kueue's own view: the running one's Workload admitted, the waiting
	// one's pending for quota.
	workload := func(app *v1alpha1.SparkApplication) *unstructured.Unstructured {
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(queue.WorkloadGVK)
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: queue.WorkloadName(app)}, w); err != nil {
			t.Fatalf("Workload of %s: %v", app.Name, err)
		}
		return w
	}
	if c := workloadCondition(workload(running), "Admitted"); c["status"] != "True" {
		t.Fatalf("Workload of the running %s is not Admitted: %v", running.Name, c)
	}
	if c := workloadCondition(workload(waiting), "QuotaReserved"); c["status"] == "True" {
		t.Fatalf("Workload of the waiting %s holds quota: %v", waiting.Name, c)
	} else {
		t.Logf("%s's Workload waits: %v", waiting.Name, c["message"])
	}
	// The first ends (its driver reports success, as the kubelet would).
	driver := &corev1.Pod{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: running.Status.DriverInfo.PodName}, driver); err != nil {
		t.Fatal(err)
	}
	base := driver.DeepCopy()
	driver.Status.Phase = corev1.PodSucceeded
	if err := cl.Status().Patch(ctx, driver, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*time.Minute, "the second application admitted and submitted after the first ended", func() (bool, error) {
		w := get(waiting)
		return w.Status.Attempts == 1 && w.Spec.Suspend != nil && !*w.Spec.Suspend, nil
	})
	if c := workloadCondition(workload(waiting), "Admitted"); c["status"] != "True" {
		t.Fatalf("Workload of %s is not Admitted after it started: %v", waiting.Name, c)
	}
	if got := get(running); !got.Status.State.IsTerminal() {
		t.Fatalf("%s started before %s ended (state %q)", waiting.Name, running.Name, got.Status.State)
	}
	t.Logf("%s ran first; %s waited Suspended, then was admitted", running.Name, waiting.Name)
}

// workloadCondition returns the Workload's condition of that type (nil if
// there is none).
func workloadCondition(w *unstructured.Unstructured, conditionType string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(w.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == conditionType {
			return m
		}
	}
	return nil
}

// installKueueCRDs installs the CRDs of the Kueue module tools/kueue pins.
func installKueueCRDs(t *testing.T, c client.Client) {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kueue")
	cmd.Dir = filepath.Join(framework.RepoRoot(t), "tools", "kueue")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("finding the Kueue module (make tools downloads it): %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config/components/crd/bases/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Kueue CRDs: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		testenv.Eventually(t, time.Minute, crd.Name+" established", func() (bool, error) {
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(crd), crd); err != nil {
				return false, err
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
	}
}

// startKueue runs Kueue's manager against the cluster until the test ends.
// Its webhooks are not registered with the API server (there is no Service
// to reach them), so its server gets a throwaway certificate.
func startKueue(t *testing.T, c *framework.Cluster, binary string) {
	t.Helper()
	dir := t.TempDir()
	writeSelfSignedCert(t, dir)
	port := freePort(t)
	config := fmt.Sprintf(`apiVersion: config.kueue.x-k8s.io/v1beta1
kind: Configuration
namespace: kueue-system
health:
  healthProbeBindAddress: "127.0.0.1:%d"
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: %d
  certDir: %s
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
integrations:
  frameworks: ["batch/job"]
  externalFrameworks: ["SparkApplication.v1alpha1.sparkplane.io"]
`, freePort(t), port, dir)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(c.Dir, "kueue.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The visibility API server (on by default) needs in-cluster
	// delegated authentication and exits without it; the test does not use it.
	cmd := exec.Command(binary, "--config", path, "--feature-gates=VisibilityOnDemand=false")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeSelfSignedCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kueue-webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

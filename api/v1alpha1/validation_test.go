package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainSparkplane(m, &env) }

func validApp(ns string) *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: ns},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
			Driver: v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{
				Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g"),
			}},
			Executor: v1alpha1.ExecutorSpec{
				SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](2), Memory: ptr.To[v1alpha1.MemorySize]("4096m")},
				Instances:    ptr.To[int32](2),
			},
		},
	}
}

// TestValidation creates applications against a real API server with the
// embedded CRD and checks each invalid spec is refused with its field path.
func TestValidation(t *testing.T) {
	ns := env.Namespace(t)
	cases := map[string]struct {
		mutate func(*v1alpha1.SparkApplication)
		// wantField and wantText must both appear in the API server's error;
		// empty wantField means the spec is valid.
		wantField, wantText string
	}{
		"valid scala": {mutate: func(*v1alpha1.SparkApplication) {}},
		"valid python": {mutate: func(a *v1alpha1.SparkApplication) {
			a.Spec.Type = v1alpha1.SparkApplicationTypePython
			a.Spec.MainClass = nil
			a.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/src/main/python/pi.py")
		}},
		"valid per-pod images, memory units": {mutate: func(a *v1alpha1.SparkApplication) {
			a.Spec.Image = nil
			a.Spec.Driver.Image = ptr.To("spark:driver")
			a.Spec.Executor.Image = ptr.To("spark:executor")
			a.Spec.Driver.Memory = ptr.To[v1alpha1.MemorySize]("512MB")
			a.Spec.Executor.MemoryOverhead = ptr.To[v1alpha1.MemorySize]("1024")
			a.Spec.Executor.CoreRequest = ptr.To[v1alpha1.CPUQuantity]("500m")
		}},
		"malformed driver memory": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Driver.Memory = ptr.To[v1alpha1.MemorySize]("12x") },
			wantField: "spec.driver.memory", wantText: "Spark memory size",
		},
		"kubernetes-style executor memory": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Memory = ptr.To[v1alpha1.MemorySize]("4Gi") },
			wantField: "spec.executor.memory", wantText: "4g or 4096m",
		},
		"fractional memory overhead": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Driver.MemoryOverhead = ptr.To[v1alpha1.MemorySize]("1.5g") },
			wantField: "spec.driver.memoryOverhead", wantText: "Spark memory size",
		},
		"zero executor cores": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Cores = ptr.To[int32](0) },
			wantField: "spec.executor.cores", wantText: "greater than or equal to 1",
		},
		"negative driver cores": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Driver.Cores = ptr.To[int32](-2) },
			wantField: "spec.driver.cores", wantText: "greater than or equal to 1",
		},
		"zero core request": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Executor.CoreRequest = ptr.To[v1alpha1.CPUQuantity]("0") },
			wantField: "spec.executor.coreRequest", wantText: "positive CPU quantity",
		},
		"garbage core limit": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Driver.CoreLimit = ptr.To[v1alpha1.CPUQuantity]("two") },
			wantField: "spec.driver.coreLimit", wantText: "positive CPU quantity",
		},
		"python with mainClass": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Type = v1alpha1.SparkApplicationTypePython },
			wantField: "spec.mainClass", wantText: "Java and Scala applications only",
		},
		"scala without mainClass": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.MainClass = nil },
			wantField: "spec.mainClass", wantText: "needs mainClass",
		},
		"missing image": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Image = nil },
			wantField: "spec.image", wantText: "an image is required",
		},
		"only driver image": {
			mutate: func(a *v1alpha1.SparkApplication) {
				a.Spec.Image = nil
				a.Spec.Driver.Image = ptr.To("spark:driver")
			},
			wantField: "spec.image", wantText: "an image is required",
		},
		"unknown type": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Type = "Go" },
			wantField: "spec.type", wantText: "Unsupported value",
		},
		"client mode": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Mode = "client" },
			wantField: "spec.mode", wantText: "Unsupported value",
		},
		"negative instances": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = ptr.To[int32](-1) },
			wantField: "spec.executor.instances", wantText: "greater than or equal to 0",
		},
		"min above max executors": {
			mutate: func(a *v1alpha1.SparkApplication) {
				a.Spec.DynamicAllocation = &v1alpha1.DynamicAllocation{Enabled: true, MinExecutors: ptr.To[int32](5), MaxExecutors: ptr.To[int32](2)}
			},
			wantField: "spec.dynamicAllocation.minExecutors", wantText: "must not exceed maxExecutors",
		},
		"unknown restart policy": {
			mutate:    func(a *v1alpha1.SparkApplication) { a.Spec.RestartPolicy.Type = "Sometimes" },
			wantField: "spec.restartPolicy.type", wantText: "Unsupported value",
		},
	}
	t.Run("name too long for a label", func(t *testing.T) {
		app := validApp(ns)
		app.Name = strings.Repeat("a", 64)
		err := env.Client.Create(context.Background(), app)
		if err == nil || !strings.Contains(err.Error(), "metadata.name must be at most 63 characters") {
			t.Errorf("want the 63-character name rule, got %v", err)
		}
	})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := validApp(ns)
			app.Name = "app-" + strings.ReplaceAll(strings.ToLower(name), " ", "-")
			app.Name = strings.NewReplacer(",", "", "(", "", ")", "").Replace(app.Name)
			tc.mutate(app)
			err := env.Client.Create(context.Background(), app)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid spec accepted; want an error on %s", tc.wantField)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantField+":") && !strings.Contains(err.Error(), tc.wantField+" ") {
				t.Errorf("error does not name %s:\n%v", tc.wantField, err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error does not say %q:\n%v", tc.wantText, err)
			}
		})
	}
}

// TestCRDs checks the embedded manifests decode and describe the contract
// other packages and kubectl rely on.
func TestCRDs(t *testing.T) {
	crds, err := v1alpha1.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, crd := range crds {
		if crd.Name != "sparkapplications.sparkplane.io" {
			continue
		}
		found = true
		if crd.Spec.Scope != "Namespaced" {
			t.Errorf("scope = %s, want Namespaced", crd.Spec.Scope)
		}
		if got := crd.Spec.Names.ShortNames; len(got) == 0 || got[0] != "sparkapp" {
			t.Errorf("short names = %v, want sparkapp first", got)
		}
		v := crd.Spec.Versions[0]
		if v.Name != "v1alpha1" || v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("version %s: want v1alpha1 with a status subresource", v.Name)
		}
		var cols []string
		for _, c := range v.AdditionalPrinterColumns {
			cols = append(cols, c.Name)
		}
		if got := strings.Join(cols, ","); got != "State,Attempts,Executors,Driver,Profile,Cluster,App ID,Age" {
			t.Errorf("printer columns = %s", got)
		}
	}
	if !found {
		t.Fatal("sparkapplications.sparkplane.io is not among the embedded CRDs")
	}
}

package spark

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestResources(t *testing.T) {
	cases := map[string]struct {
		conf     map[string]string
		jvm      bool
		keys     RoleKeys
		want     PodResources
		wantErrs []string // keys of the reported errors, in order
	}{
		"executor defaults, JVM": {conf: map[string]string{}, jvm: true, keys: ExecutorKeys,
			want: PodResources{CPURequest: "1", MemoryMiB: 1024, OverheadMiB: 384}},
		"driver defaults, Python": {conf: map[string]string{"spark.driver.memory": "4g"}, keys: DriverKeys,
			want: PodResources{CPURequest: "1", MemoryMiB: 4096, OverheadMiB: 1638}},
		"shared factor": {conf: map[string]string{"spark.kubernetes.memoryOverheadFactor": "0.2", "spark.executor.memory": "10g"}, jvm: true, keys: ExecutorKeys,
			want: PodResources{CPURequest: "1", MemoryMiB: 10240, OverheadMiB: 2048}},
		"role factor beats shared": {conf: map[string]string{"spark.kubernetes.memoryOverheadFactor": "0.2", "spark.executor.memoryOverheadFactor": "0.5", "spark.executor.memory": "2g"}, jvm: true, keys: ExecutorKeys,
			want: PodResources{CPURequest: "1", MemoryMiB: 2048, OverheadMiB: 1024}},
		"explicit overhead beats factor": {conf: map[string]string{"spark.executor.memoryOverhead": "100m", "spark.executor.memoryOverheadFactor": "0.5"}, jvm: true, keys: ExecutorKeys,
			want: PodResources{CPURequest: "1", MemoryMiB: 1024, OverheadMiB: 100}},
		"cores then request then limit": {conf: map[string]string{"spark.driver.cores": "3", "spark.kubernetes.driver.limit.cores": "4"}, jvm: true, keys: DriverKeys,
			want: PodResources{CPURequest: "3", CPULimit: "4", MemoryMiB: 1024, OverheadMiB: 384}},
		"request beats cores": {conf: map[string]string{"spark.executor.cores": "3", "spark.kubernetes.executor.request.cores": "1500m"}, jvm: true, keys: ExecutorKeys,
			want: PodResources{CPURequest: "1500m", MemoryMiB: 1024, OverheadMiB: 384}},
		"bad values reported in order": {conf: map[string]string{"spark.executor.memory": "4Gi", "spark.executor.memoryOverheadFactor": "x", "spark.executor.cores": "0"}, jvm: true, keys: ExecutorKeys,
			want:     PodResources{CPURequest: "0", OverheadMiB: 384},
			wantErrs: []string{"spark.executor.memory", "spark.executor.memoryOverheadFactor", "spark.executor.cores", "spark.kubernetes.executor.request.cores"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			factor, ferr := DefaultOverheadFactor(tc.conf, tc.jvm)
			if ferr != nil {
				t.Fatal(ferr)
			}
			got, errs := Resources(tc.conf, tc.keys, factor)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
			}
			if diff := cmp.Diff(tc.wantErrs, keys); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultOverheadFactor(t *testing.T) {
	if f, err := DefaultOverheadFactor(nil, true); err != nil || f != 0.1 {
		t.Errorf("JVM: %v %v", f, err)
	}
	if f, err := DefaultOverheadFactor(nil, false); err != nil || f != 0.4 {
		t.Errorf("non-JVM: %v %v", f, err)
	}
	if _, err := DefaultOverheadFactor(map[string]string{ConfMemoryOverheadFactor: "-1"}, true); err == nil || err.Key != ConfMemoryOverheadFactor {
		t.Errorf("negative factor: %v", err)
	}
}

func TestInitialExecutors(t *testing.T) {
	cases := map[string]struct {
		conf map[string]string
		want int64
	}{
		"default":            {map[string]string{}, 2},
		"instances":          {map[string]string{"spark.executor.instances": "7"}, 7},
		"zero":               {map[string]string{"spark.executor.instances": "0"}, 0},
		"dynamic, min wins":  {map[string]string{"spark.executor.instances": "1", "spark.dynamicAllocation.enabled": "true", "spark.dynamicAllocation.minExecutors": "5", "spark.dynamicAllocation.initialExecutors": "3"}, 5},
		"dynamic off ignore": {map[string]string{"spark.dynamicAllocation.enabled": "false", "spark.dynamicAllocation.minExecutors": "5"}, 2},
	}
	for name, tc := range cases {
		if got := InitialExecutors(tc.conf); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
}

// TestSizingFromSpec: typed fields override spec.sparkConf, which is read
// when no typed field is set.
func TestSizingFromSpec(t *testing.T) {
	spec := &v1alpha1.SparkApplicationSpec{Type: v1alpha1.SparkApplicationTypeScala}
	spec.SparkConf = map[string]string{"spark.executor.memory": "8g", "spark.executor.cores": "2", "spark.executor.instances": "6"}
	if r := ExecutorResources(spec); r.MemoryMiB != 8192 || r.OverheadMiB != 819 || r.MilliCPU() != 2000 {
		t.Errorf("from sparkConf: %+v", r)
	}
	if n := WantedExecutors(spec); n != 6 {
		t.Errorf("wanted executors from sparkConf: %d", n)
	}
	spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("2g"))
	spec.Executor.Instances = ptr.To[int32](0)
	if r := ExecutorResources(spec); r.MemoryMiB != 2048 || r.OverheadMiB != 384 {
		t.Errorf("typed field: %+v", r)
	}
	if n := WantedExecutors(spec); n != 1 {
		t.Errorf("wanted executors is at least 1: %d", n)
	}
	spec.Type = v1alpha1.SparkApplicationTypePython
	if r := ExecutorResources(spec); r.OverheadMiB != 819 {
		t.Errorf("Python factor 0.4 of 2g: %+v", r)
	}
}

package emulator

import (
	"testing"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The emulator keeps its own copy of Spark's vocabulary on purpose: it reads
// what the operator wrote the way a real driver would, so it checks
// submission independently. These tests keep the two copies in agreement.

func TestLabelsAgreeWithOperator(t *testing.T) {
	for name, pair := range map[string][2]string{
		"role":          {LabelSparkRole, spark.LabelRole},
		"app selector":  {LabelAppSelector, spark.LabelAppSelector},
		"spark version": {LabelSparkVersion, spark.LabelVersion},
		"executor id":   {LabelExecutorID, spark.LabelExecID},
		"app name":      {LabelAppName, spark.LabelAppName},
		"application":   {LabelApplication, v1alpha1.LabelApplication},
		"driver":        {RoleDriver, spark.RoleDriver},
		"executor":      {RoleExecutor, spark.RoleExecutor},
		"driver name":   {defaultDriverName, spark.DriverContainerName},
		"exec name":     {defaultExecutorName, spark.ExecutorContainerName},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s: emulator %q, operator %q", name, pair[0], pair[1])
		}
	}
}

// TestExecutorSizeAgreesWithOperator: for the spark.properties submission
// writes (it always sets spark.kubernetes.memoryOverheadFactor), the emulator
// sizes executors as the operator's sizing rules do.
func TestExecutorSizeAgreesWithOperator(t *testing.T) {
	cases := map[string]map[string]string{
		"defaults":          {},
		"8g":                {"spark.executor.memory": "8g"},
		"python factor":     {"spark.kubernetes.memoryOverheadFactor": "0.4", "spark.executor.memory": "4096m"},
		"executor factor":   {"spark.executor.memoryOverheadFactor": "0.25", "spark.executor.memory": "4g"},
		"explicit":          {"spark.executor.memoryOverhead": "1g", "spark.executor.cores": "4"},
		"core request":      {"spark.kubernetes.executor.request.cores": "500m", "spark.kubernetes.executor.limit.cores": "2"},
		"small overhead":    {"spark.executor.memory": "512m"},
		"large no unit":     {"spark.executor.memory": "20480"},
		"overhead in mb":    {"spark.executor.memoryOverhead": "700mb"},
		"cores, no request": {"spark.executor.cores": "3"},
	}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			if _, ok := conf[spark.ConfMemoryOverheadFactor]; !ok {
				conf[spark.ConfMemoryOverheadFactor] = "0.1"
			}
			factor, ferr := spark.DefaultOverheadFactor(conf, true)
			want, errs := spark.Resources(conf, spark.ExecutorKeys, factor)
			if ferr != nil || len(errs) > 0 {
				t.Fatalf("operator refuses %v: %v %v", conf, ferr, errs)
			}
			got, err := executorResources(Conf(conf))
			if err != nil {
				t.Fatalf("emulator refuses %v: %v", conf, err)
			}
			if got.MemoryMiB != want.MemoryMiB || got.OverheadMiB != want.OverheadMiB || got.CoresRequest != want.CPURequest || got.CoresLimit != want.CPULimit {
				t.Errorf("emulator %d+%d MiB, cpu %q/%q; operator %d+%d MiB, cpu %q/%q",
					got.MemoryMiB, got.OverheadMiB, got.CoresRequest, got.CoresLimit, want.MemoryMiB, want.OverheadMiB, want.CPURequest, want.CPULimit)
			}
		})
	}
}

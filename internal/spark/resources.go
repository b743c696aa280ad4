package spark

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
)

// RoleKeys are the properties that size one role's pod.
type RoleKeys struct {
	Cores, CoreRequest, CoreLimit  string
	Memory, MemoryOverhead, Factor string
}

var (
	// DriverKeys size the driver pod (Spark's BasicDriverFeatureStep).
	DriverKeys = RoleKeys{ConfDriverCores, ConfDriverCoreRequest, ConfDriverCoreLimit, ConfDriverMemory, ConfDriverMemoryOverhead, ConfDriverOverheadFactor}
	// ExecutorKeys size an executor pod (Spark's BasicExecutorFeatureStep).
	ExecutorKeys = RoleKeys{ConfExecutorCores, ConfExecutorCoreRequest, ConfExecutorCoreLimit, ConfExecutorMemory, ConfExecutorMemoryOverhead, ConfExecutorOverheadFactor}
)

// ConfError is a property whose value Spark would refuse. Message says what
// a good value looks like.
type ConfError struct {
	Key, Value, Message string
}

func (e ConfError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Key, e.Value, e.Message)
}

// PodResources are one pod's requests as Spark computes them.
type PodResources struct {
	// CPURequest is the CPU request quantity: the role's request.cores, else
	// its cores.
	CPURequest string
	// CPULimit is the CPU limit quantity; "" when none is set.
	CPULimit string
	// MemoryMiB is the JVM heap (spark.<role>.memory).
	MemoryMiB int64
	// OverheadMiB is memoryOverhead, else max(memory × factor, 384 MiB).
	OverheadMiB int64
}

// MemoryRequestMiB is the pod's memory request and limit: memory plus overhead.
func (r PodResources) MemoryRequestMiB() int64 { return r.MemoryMiB + r.OverheadMiB }

// MilliCPU is the CPU request in millicores, 0 when CPURequest is invalid.
func (r PodResources) MilliCPU() int64 {
	q, err := resource.ParseQuantity(r.CPURequest)
	if err != nil {
		return 0
	}
	return q.MilliValue()
}

// DefaultOverheadFactor is the memory overhead factor both roles fall back
// to: spark.kubernetes.memoryOverheadFactor when set, else 0.1 for JVM
// applications and 0.4 for the others (Python, R).
func DefaultOverheadFactor(conf map[string]string, jvm bool) (float64, *ConfError) {
	factor := JVMMemoryOverheadFactor
	if !jvm {
		factor = NonJVMMemoryOverheadFactor
	}
	v, ok := conf[ConfMemoryOverheadFactor]
	if !ok {
		return factor, nil
	}
	f, err := ParseOverheadFactor(v)
	if err != nil {
		return factor, &ConfError{Key: ConfMemoryOverheadFactor, Value: v, Message: err.Error()}
	}
	return f, nil
}

// Resources computes one role's pod requests from the effective
// configuration, as Spark 3.5 does, given the default overhead factor
// (DefaultOverheadFactor). Invalid values are reported, in the order memory,
// factor, overhead, cores, request, limit, and count as zero.
func Resources(conf map[string]string, keys RoleKeys, defaultFactor float64) (PodResources, []ConfError) {
	var r PodResources
	var errs []ConfError
	memory := func(key, def string) int64 {
		v, ok := conf[key]
		if !ok {
			v = def
		}
		mib, err := ParseMemoryMiB(v)
		if err != nil {
			errs = append(errs, ConfError{Key: key, Value: v, Message: err.Error()})
		}
		return mib
	}
	cpu := func(key, def string) string {
		v, ok := conf[key]
		if !ok {
			if def == "" {
				return ""
			}
			v = def
		}
		if q, err := resource.ParseQuantity(v); err != nil || q.Sign() <= 0 {
			errs = append(errs, ConfError{Key: key, Value: v, Message: "must be a positive CPU quantity (e.g. 500m or 2)"})
		}
		return v
	}

	r.MemoryMiB = memory(keys.Memory, DefaultMemory)
	factor := defaultFactor
	if v, ok := conf[keys.Factor]; ok {
		f, err := ParseOverheadFactor(v)
		if err != nil {
			errs = append(errs, ConfError{Key: keys.Factor, Value: v, Message: err.Error()})
		} else {
			factor = f
		}
	}
	if _, ok := conf[keys.MemoryOverhead]; ok {
		r.OverheadMiB = memory(keys.MemoryOverhead, "")
	} else {
		r.OverheadMiB = MemoryOverheadMiB(r.MemoryMiB, factor)
	}
	cores := cpu(keys.Cores, DefaultCores)
	r.CPURequest = cpu(keys.CoreRequest, cores)
	r.CPULimit = cpu(keys.CoreLimit, "")
	return r, errs
}

// InitialExecutors is how many executors Spark asks for when the
// application starts: spark.executor.instances (default 2), and with dynamic
// allocation the largest of that, initialExecutors and minExecutors.
// Unparsable counts are skipped.
func InitialExecutors(conf map[string]string) int64 {
	count := func(key string) int64 {
		n, err := strconv.ParseInt(conf[key], 10, 32)
		if err != nil {
			return 0
		}
		return n
	}
	n := int64(DefaultInstances)
	if _, ok := conf[ConfExecutorInstances]; ok {
		n = count(ConfExecutorInstances)
	}
	if enabled, _ := strconv.ParseBool(conf[ConfDynamicAllocationEnabled]); enabled {
		n = max(n, count(ConfDynamicAllocationInitialExecutors), count(ConfDynamicAllocationMinExecutors))
	}
	return n
}

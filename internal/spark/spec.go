package spark

import (
	"maps"
	"strconv"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// SizingConf returns the properties the typed sizing fields of spec set:
// cores, core requests and limits, memory, memory overhead and its factor,
// executor instances and dynamic allocation. They override the same keys in
// spec.sparkConf.
func SizingConf(spec *v1alpha1.SparkApplicationSpec) map[string]string {
	conf := map[string]string{}
	set := func(key string, value *string) {
		if value != nil {
			conf[key] = *value
		}
	}
	setCPU := func(key string, value *v1alpha1.CPUQuantity) {
		if value != nil {
			conf[key] = string(*value)
		}
	}
	setMemory := func(key string, value *v1alpha1.MemorySize) {
		if value != nil {
			conf[key] = string(*value)
		}
	}
	setCount := func(key string, value *int32) {
		if value != nil {
			conf[key] = strconv.Itoa(int(*value))
		}
	}
	set(ConfMemoryOverheadFactor, spec.MemoryOverheadFactor)
	setCount(ConfDriverCores, spec.Driver.Cores)
	setCount(ConfExecutorCores, spec.Executor.Cores)
	setCPU(ConfDriverCoreRequest, spec.Driver.CoreRequest)
	setCPU(ConfDriverCoreLimit, spec.Driver.CoreLimit)
	setCPU(ConfExecutorCoreRequest, spec.Executor.CoreRequest)
	setCPU(ConfExecutorCoreLimit, spec.Executor.CoreLimit)
	setMemory(ConfDriverMemory, spec.Driver.Memory)
	setMemory(ConfDriverMemoryOverhead, spec.Driver.MemoryOverhead)
	setMemory(ConfExecutorMemory, spec.Executor.Memory)
	setMemory(ConfExecutorMemoryOverhead, spec.Executor.MemoryOverhead)
	setCount(ConfExecutorInstances, spec.Executor.Instances)
	if da := spec.DynamicAllocation; da != nil {
		conf[ConfDynamicAllocationEnabled] = strconv.FormatBool(da.Enabled)
		if da.Enabled {
			shuffleTracking := true
			if da.ShuffleTrackingEnabled != nil {
				shuffleTracking = *da.ShuffleTrackingEnabled
			}
			conf[ConfShuffleTrackingEnabled] = strconv.FormatBool(shuffleTracking)
		}
		setCount(ConfDynamicAllocationInitialExecutors, da.InitialExecutors)
		setCount(ConfDynamicAllocationMinExecutors, da.MinExecutors)
		setCount(ConfDynamicAllocationMaxExecutors, da.MaxExecutors)
		if da.ShuffleTrackingTimeout != nil {
			conf[ConfShuffleTrackingTimeout] = strconv.FormatInt(*da.ShuffleTrackingTimeout, 10) + "ms"
		}
	}
	return conf
}

// ExecutorResources is what one executor of the application requests, read
// the way submission reads it: spec.sparkConf overridden by the typed
// fields. Invalid values count as zero here; submission refuses them with an
// error naming the field.
func ExecutorResources(spec *v1alpha1.SparkApplicationSpec) PodResources {
	conf := sizingView(spec)
	factor, _ := DefaultOverheadFactor(conf, spec.Type.IsJVM())
	r, _ := Resources(conf, ExecutorKeys, factor)
	return r
}

// WantedExecutors is InitialExecutors of the application (sparkConf
// overridden by the typed fields), at least 1.
func WantedExecutors(spec *v1alpha1.SparkApplicationSpec) int64 {
	return max(InitialExecutors(sizingView(spec)), 1)
}

// sizingView is spec.sparkConf overridden by SizingConf: what sizing reads.
func sizingView(spec *v1alpha1.SparkApplicationSpec) map[string]string {
	conf := maps.Clone(spec.SparkConf)
	if conf == nil {
		conf = map[string]string{}
	}
	maps.Copy(conf, SizingConf(spec))
	return conf
}

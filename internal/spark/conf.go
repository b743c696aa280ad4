package spark

// Configuration keys that more than one package reads or writes.
const (
	ConfAppID        = "spark.app.id"
	ConfAppName      = "spark.app.name"
	ConfResourceType = "spark.kubernetes.resource.type"

	ConfDriverCores          = "spark.driver.cores"
	ConfDriverCoreRequest    = "spark.kubernetes.driver.request.cores"
	ConfDriverCoreLimit      = "spark.kubernetes.driver.limit.cores"
	ConfDriverMemory         = "spark.driver.memory"
	ConfDriverMemoryOverhead = "spark.driver.memoryOverhead"
	ConfDriverOverheadFactor = "spark.driver.memoryOverheadFactor"

	ConfExecutorCores          = "spark.executor.cores"
	ConfExecutorCoreRequest    = "spark.kubernetes.executor.request.cores"
	ConfExecutorCoreLimit      = "spark.kubernetes.executor.limit.cores"
	ConfExecutorMemory         = "spark.executor.memory"
	ConfExecutorMemoryOverhead = "spark.executor.memoryOverhead"
	ConfExecutorOverheadFactor = "spark.executor.memoryOverheadFactor"
	ConfExecutorInstances      = "spark.executor.instances"

	// ConfMemoryOverheadFactor is the factor both roles default to.
	ConfMemoryOverheadFactor = "spark.kubernetes.memoryOverheadFactor"

	ConfDynamicAllocationEnabled          = "spark.dynamicAllocation.enabled"
	ConfDynamicAllocationInitialExecutors = "spark.dynamicAllocation.initialExecutors"
	ConfDynamicAllocationMinExecutors     = "spark.dynamicAllocation.minExecutors"
	ConfDynamicAllocationMaxExecutors     = "spark.dynamicAllocation.maxExecutors"
	ConfShuffleTrackingEnabled            = "spark.dynamicAllocation.shuffleTracking.enabled"
	ConfShuffleTrackingTimeout            = "spark.dynamicAllocation.shuffleTracking.timeout"

	ConfDecommissionEnabled        = "spark.decommission.enabled"
	ConfStorageDecommissionEnabled = "spark.storage.decommission.enabled"
)

// Defaults Spark 3.5 uses when a key is unset.
const (
	DefaultCores     = "1"
	DefaultMemory    = "1g"
	DefaultInstances = 2
)

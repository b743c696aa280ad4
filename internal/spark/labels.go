package spark

// Labels Spark puts on the pods it creates (and spark-submit on the driver).
const (
	// LabelAppSelector is on every pod of one run; its value is spark.app.id.
	LabelAppSelector = "spark-app-selector"
	// LabelRole is RoleDriver or RoleExecutor.
	LabelRole = "spark-role"
	// LabelAppName is the application name made into a label value.
	LabelAppName = "spark-app-name"
	// LabelVersion is the Spark version.
	LabelVersion = "spark-version"
	// LabelExecID is on executor pods: the executor's id.
	LabelExecID = "spark-exec-id"

	RoleDriver   = "driver"
	RoleExecutor = "executor"

	DriverContainerName   = "spark-kubernetes-driver"
	ExecutorContainerName = "spark-kubernetes-executor"
)

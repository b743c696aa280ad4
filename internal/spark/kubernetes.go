package spark

// The spark.kubernetes.* confs spark-submit turns into driver pod and
// service fields (Spark's BasicDriverFeatureStep, DriverServiceFeatureStep,
// MountSecretsFeatureStep, EnvSecretsFeatureStep,
// DriverKubernetesCredentialsFeatureStep), and their executor equivalents,
// which the driver applies itself when it creates executors
// (docs/sparkapplication.md has the table; internal/submit applies
// them).
const (
	ConfDriverLabel             = "spark.kubernetes.driver.label."
	ConfDriverAnnotation        = "spark.kubernetes.driver.annotation."
	ConfDriverServiceLabel      = "spark.kubernetes.driver.service.label."
	ConfDriverServiceAnnotation = "spark.kubernetes.driver.service.annotation."
	ConfExecutorLabel           = "spark.kubernetes.executor.label."
	ConfExecutorAnnotation      = "spark.kubernetes.executor.annotation."
	ConfDriverSecrets           = "spark.kubernetes.driver.secrets."
	ConfDriverSecretKeyRef      = "spark.kubernetes.driver.secretKeyRef."
	ConfExecutorSecrets         = "spark.kubernetes.executor.secrets."
	ConfNodeSelector            = "spark.kubernetes.node.selector."
	ConfDriverNodeSelector      = "spark.kubernetes.driver.node.selector."
	ConfExecutorNodeSelector    = "spark.kubernetes.executor.node.selector."
	ConfDriverEnv               = "spark.kubernetes.driverEnv."
	ConfExecutorEnv             = "spark.executorEnv."
	ConfExecutorServiceAccount  = "spark.kubernetes.authenticate.executor.serviceAccountName"
	ConfPullSecrets             = "spark.kubernetes.container.image.pullSecrets"
	ConfSchedulerName           = "spark.kubernetes.scheduler.name"
	ConfDriverSchedulerName     = "spark.kubernetes.driver.scheduler.name"
	ConfExecutorSchedulerName   = "spark.kubernetes.executor.scheduler.name"
	ConfDriverPodTemplateFile   = "spark.kubernetes.driver.podTemplateFile"
	ConfExecutorDisableConfMap  = "spark.kubernetes.executor.disableConfigMap"
	// SparkDefaultsFile is the conf-directory file whose entries
	// spark-submit reads below --conf.
	SparkDefaultsFile = "spark-defaults.conf"
	// ConfDriverServiceAccount is the driver's account.
	ConfDriverServiceAccount = "spark.kubernetes.authenticate.driver.serviceAccountName"
	// ConfExecutorHadoopConfigMap is what spark-submit tells the driver the
	// executors' Hadoop ConfigMap is (HadoopConfExecutorFeatureStep).
	ConfExecutorHadoopConfigMap = "spark.kubernetes.executor.hadoopConfigMapName"
)

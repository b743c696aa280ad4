// Package shuffle holds the values of sparkplane's shuffle-on-PVC choice
// that both the profiles (internal/profile) and the advisor's --emit-conf
// patch (internal/advisor) write, so the two never disagree. It imports
// nothing: the advisor stays free of Kubernetes packages.
package shuffle

const (
	// StorageClass is the StorageClass of on-demand shuffle claims when a
	// profile names none: the one `sparkplane platform render` creates
	// (storage.shuffleStorageClass). Spark 3.5 creates an OnDemand claim only
	// when both a storage class and a size are set, so a class is always
	// written.
	StorageClass = "sparkplane-shuffle"
	// ClaimSize is the size of each executor's on-demand shuffle claim.
	ClaimSize = "100Gi"
	// MountPath follows the <root>/spark-*/executor-* layout that Spark's
	// KubernetesLocalDiskShuffleExecutorComponents scans to recover shuffle
	// files from a reused claim.
	MountPath = "/data/spark-x/executor-x"
	// VolumePrefix is the conf prefix of the executors' shuffle claim: a
	// volume named spark-local-dir-1 is Spark's local directory.
	VolumePrefix = "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1."
)

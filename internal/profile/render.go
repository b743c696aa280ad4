package profile

import (
	"strconv"
	"strings"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark/shuffle"
)

// Spark configuration keys sparkplane writes. They are Spark's contracts;
// see Spark's running-on-kubernetes and configuration docs and Celeborn's
// Spark client docs.
const (
	confDecommissionEnabled        = "spark.decommission.enabled"
	confStorageDecommissionEnabled = "spark.storage.decommission.enabled"
	confStorageDecommissionShuffle = "spark.storage.decommission.shuffleBlocks.enabled"
	confStorageDecommissionRDD     = "spark.storage.decommission.rddBlocks.enabled"
	confFallbackStoragePath        = "spark.storage.decommission.fallbackStorage.path"

	confOwnPVC          = "spark.kubernetes.driver.ownPersistentVolumeClaim"
	confReusePVC        = "spark.kubernetes.driver.reusePersistentVolumeClaim"
	confWaitToReusePVC  = "spark.kubernetes.driver.waitToReusePersistentVolumeClaim"
	confShuffleIOPlugin = "spark.shuffle.sort.io.plugin.class"
	confLocalDirsTmpfs  = "spark.kubernetes.local.dirs.tmpfs"

	// localDirVolume is the executor volume Spark uses as its local dir: a
	// volume whose name starts with spark-local-dir- replaces the emptyDir.
	localDirVolume       = "spark-local-dir-1"
	pvcVolumePrefix      = shuffle.VolumePrefix
	hostPathVolumePrefix = "spark.kubernetes.executor.volumes.hostPath." + localDirVolume + "."

	// KubernetesLocalDiskShuffleDataIO recovers shuffle files found on a
	// reused claim (its executor side is KubernetesLocalDiskShuffleExecutorComponents).
	localDiskShuffleDataIO = "org.apache.spark.shuffle.KubernetesLocalDiskShuffleDataIO"

	confShuffleManager        = "spark.shuffle.manager"
	celebornShuffleManager    = "org.apache.spark.shuffle.celeborn.SparkShuffleManager"
	celebornShuffleDataIO     = "org.apache.spark.shuffle.celeborn.CelebornShuffleDataIO"
	confSerializer            = "spark.serializer"
	kryoSerializer            = "org.apache.spark.serializer.KryoSerializer"
	confCelebornMasters       = "spark.celeborn.master.endpoints"
	confShuffleServiceEnabled = "spark.shuffle.service.enabled"
	confCelebornWriter        = "spark.celeborn.client.spark.shuffle.writer"
	confCelebornReplicate     = "spark.celeborn.client.push.replicate.enabled"
	confLocalShuffleReader    = "spark.sql.adaptive.localShuffleReader.enabled"
)

// confEntry is one sparkConf entry a policy contributes.
type confEntry struct {
	key, value string
	src        Source
	policy     string
}

// storageConf renders a shuffle storage choice (defaults filled in) as
// sparkConf.
func storageConf(st v1alpha1.ShuffleStorage, src Source) []confEntry {
	const policy = "shuffleStorage"
	e := func(k, v string) confEntry {
		return confEntry{key: k, value: v, src: src, policy: policy + "." + string(st.Type)}
	}
	switch st.Type {
	case v1alpha1.ShuffleEmptyDir:
		if st.EmptyDir != nil && st.EmptyDir.Medium == "Memory" {
			return []confEntry{e(confLocalDirsTmpfs, "true")}
		}
		return nil
	case v1alpha1.ShufflePersistentVolumeClaim:
		pvc := st.PersistentVolumeClaim
		out := []confEntry{
			e(pvcVolumePrefix+"options.claimName", "OnDemand"),
			e(pvcVolumePrefix+"options.sizeLimit", pvc.Size.String()),
			e(pvcVolumePrefix+"mount.path", pvc.MountPath),
			e(pvcVolumePrefix+"mount.readOnly", "false"),
		}
		// Spark 3.5 creates an OnDemand claim only when a storage class is
		// set; without one the executor would wait for a claim nobody makes.
		storageClass := pvc.StorageClassName
		if storageClass == "" {
			storageClass = DefaultShuffleStorageClass
		}
		out = append(out, e(pvcVolumePrefix+"options.storageClass", storageClass))
		if *pvc.Reuse {
			out = append(out,
				e(confOwnPVC, "true"),
				e(confReusePVC, "true"),
				e(confWaitToReusePVC, "true"),
			)
			if *pvc.ShuffleRecovery {
				out = append(out, e(confShuffleIOPlugin, localDiskShuffleDataIO))
			}
		}
		return out
	case v1alpha1.ShuffleLocalNVMe:
		nvme := st.LocalNVMe
		return []confEntry{
			e(hostPathVolumePrefix+"options.path", nvme.HostPath),
			e(hostPathVolumePrefix+"mount.path", nvme.MountPath),
			e(hostPathVolumePrefix+"mount.readOnly", "false"),
		}
	case v1alpha1.ShuffleRemoteShuffleService:
		rss := st.RemoteShuffleService
		return []confEntry{
			e(confShuffleManager, celebornShuffleManager),
			e(confSerializer, kryoSerializer),
			e(confCelebornMasters, strings.Join(rss.MasterEndpoints, ",")),
			e(confShuffleServiceEnabled, "false"),
			e(confCelebornWriter, rss.ShuffleWriter),
			e(confCelebornReplicate, strconv.FormatBool(*rss.Replicate)),
			e(confLocalShuffleReader, "false"),
			// Dynamic allocation with Celeborn (Spark 3.5+).
			e(confShuffleIOPlugin, celebornShuffleDataIO),
		}
	}
	return nil
}

// decommissionConf renders the decommission policy as sparkConf.
func decommissionConf(p policy) []confEntry {
	entry := func(k string, v layered[bool], policy string) confEntry {
		return confEntry{key: k, value: strconv.FormatBool(v.v), src: v.src, policy: "decommission." + policy}
	}
	if !p.decommission.v {
		return []confEntry{entry(confDecommissionEnabled, p.decommission, "enabled")}
	}
	storage := layered[bool]{v: p.shuffleBlocks.v || p.rddBlocks.v, src: p.shuffleBlocks.src}
	if p.rddBlocks.src.Kind == SourceProfile {
		storage.src = p.rddBlocks.src
	}
	out := []confEntry{
		entry(confDecommissionEnabled, p.decommission, "enabled"),
		entry(confStorageDecommissionEnabled, storage, "shuffleBlocks/rddBlocks"),
		entry(confStorageDecommissionShuffle, p.shuffleBlocks, "shuffleBlocks"),
		entry(confStorageDecommissionRDD, p.rddBlocks, "rddBlocks"),
	}
	if p.fallbackStoragePath.v != "" {
		out = append(out, confEntry{key: confFallbackStoragePath, value: p.fallbackStoragePath.v, src: p.fallbackStoragePath.src, policy: "decommission.fallbackStoragePath"})
	}
	return out
}

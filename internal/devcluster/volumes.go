package devcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/sparkplane/sparkplane/internal/platform"
)

// VolumeProvisioner is the provisioner of the shuffle StorageClass on the
// local cluster (the kwok platform bundle's default, platform.KWOKVolumeProvisioner).
// kwok nodes have no disks and the local cluster no CSI driver, so `dev up`
// runs ProvisionVolumes as a component (`sparkplane dev volume-provisioner`):
// it provisions the executors' shuffle claims as the EBS CSI driver would on
// AWS, a volume in the zone of the node the scheduler chose
// (WaitForFirstConsumer), which a replacement executor in that zone can reuse.
const VolumeProvisioner = platform.KWOKVolumeProvisioner

// annSelectedNode is set on a claim by the scheduler when it picks the
// consumer's node.
const annSelectedNode = "volume.kubernetes.io/selected-node"

// ProvisionVolumes creates a PersistentVolume for every claim of a
// StorageClass whose provisioner is VolumeProvisioner once the scheduler has
// selected a node, pinned to that node's zone; the PV controller binds them.
// Released volumes are deleted. It runs until ctx ends.
func ProvisionVolumes(ctx context.Context, cs kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactory(cs, 0)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	classes := factory.Storage().V1().StorageClasses().Lister()
	nodes := factory.Core().V1().Nodes().Lister()
	logger := klog.FromContext(ctx)
	provision := func(obj any) {
		pvc, ok := obj.(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Spec.VolumeName != "" || pvc.Annotations[annSelectedNode] == "" || pvc.Spec.StorageClassName == nil || pvc.DeletionTimestamp != nil {
			return
		}
		class, err := classes.Get(*pvc.Spec.StorageClassName)
		if err != nil || class.Provisioner != VolumeProvisioner {
			return
		}
		if err := createVolume(ctx, cs, nodes, pvc, class); err != nil {
			logger.Error(err, "Provisioning a shuffle volume", "claim", klog.KObj(pvc))
		}
	}
	if _, err := claims.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: provision, UpdateFunc: func(_, obj any) { provision(obj) }}); err != nil {
		return err
	}
	release := func(obj any) {
		pv, ok := obj.(*corev1.PersistentVolume)
		if !ok || pv.Annotations["pv.kubernetes.io/provisioned-by"] != VolumeProvisioner || pv.Status.Phase != corev1.VolumeReleased || pv.DeletionTimestamp != nil {
			return
		}
		if err := cs.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			logger.Error(err, "Deleting a released shuffle volume", "volume", pv.Name)
		}
	}
	if _, err := volumes.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: release, UpdateFunc: func(_, obj any) { release(obj) }}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return nil
}

func createVolume(ctx context.Context, cs kubernetes.Interface, nodes interface {
	Get(string) (*corev1.Node, error)
}, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	node, err := nodes.Get(pvc.Annotations[annSelectedNode])
	if err != nil {
		return fmt.Errorf("selected node %s: %w", pvc.Annotations[annSelectedNode], err)
	}
	zone := node.Labels[corev1.LabelTopologyZone]
	if zone == "" {
		return fmt.Errorf("selected node %s has no %s label", node.Name, corev1.LabelTopologyZone)
	}
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return fmt.Errorf("claim %s/%s requests no storage", pvc.Namespace, pvc.Name)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "pvc-" + string(pvc.UID),
			Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": VolumeProvisioner},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/sparkplane-dev/" + string(pvc.UID)}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}},
			}}}},
		},
	}
	_, err = cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

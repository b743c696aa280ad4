package submit

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The driver's identity. An application that names no
// spec.driver.serviceAccount (and whose profile and namespace name none)
// runs its driver as DriverServiceAccount, which the operator creates in the
// application's namespace with DriverRules — exactly what Spark's Kubernetes
// scheduler backend does with the API server (docs/security.md lists each
// rule with the Spark source it comes from).
const (
	// DriverServiceAccount names the ServiceAccount, Role and RoleBinding.
	DriverServiceAccount = "sparkplane-spark"
	// AnnotationDriverServiceAccount on a namespace names the account its
	// drivers run as instead of DriverServiceAccount; the operator creates
	// nothing for it.
	AnnotationDriverServiceAccount = "sparkplane.io/driver-service-account"
	// DriverComponent is the app.kubernetes.io/component label of the
	// driver's ServiceAccount, Role and RoleBinding.
	DriverComponent = "spark-driver"
)

// DriverRules are the permissions of Spark 3.5's and 4.x's driver on
// Kubernetes in its own namespace, and nothing else: no secrets, nothing
// cluster-scoped, no other namespace (a Role, not a ClusterRole).
func DriverRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{
			// ExecutorPodsAllocator (create, get the driver pod, delete and
			// deletecollection of excess/timed-out executors), the watch and
			// polling snapshot sources (watch, list),
			// ExecutorPodsLifecycleManager (delete, patch: inactive label),
			// KubernetesClusterSchedulerBackend (patch: exec-id and
			// decommission labels, deletion cost; list+deletecollection on kill).
			APIGroups: []string{""},
			Resources: []string{"pods"},
			Verbs:     []string{"get", "list", "watch", "create", "patch", "delete", "deletecollection"},
		},
		{
			// KubernetesClusterSchedulerBackend.setUpExecutorConfigMap and stop.
			APIGroups: []string{""},
			Resources: []string{"configmaps"},
			Verbs:     []string{"create", "deletecollection"},
		},
		{
			// ExecutorPodsAllocator: OnDemand claims (create) and reuse
			// (list); KubernetesClusterSchedulerBackend.stop with
			// ownPersistentVolumeClaim (deletecollection).
			APIGroups: []string{""},
			Resources: []string{"persistentvolumeclaims"},
			Verbs:     []string{"create", "list", "deletecollection"},
		},
		{
			// KubernetesClusterSchedulerBackend.stop with
			// spark.kubernetes.driver.service.deleteOnTermination.
			APIGroups: []string{""},
			Resources: []string{"services"},
			Verbs:     []string{"deletecollection"},
		},
	}
}

// DriverLabels are on the ServiceAccount, Role and RoleBinding: sparkplane's
// labels, as on everything `sparkplane install` creates. They carry no owner
// reference, so they stay when applications are deleted.
func DriverLabels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "sparkplane",
		"app.kubernetes.io/part-of":    "sparkplane",
		"app.kubernetes.io/managed-by": "sparkplane",
		"app.kubernetes.io/component":  DriverComponent,
	}
}

// DriverIdentity returns the ServiceAccount, Role and RoleBinding of
// DriverServiceAccount in namespace, in creation order.
func DriverIdentity(namespace string) (*corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: DriverServiceAccount, Namespace: namespace, Labels: DriverLabels()}
	}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta()}
	role := &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: meta(),
		Rules:      DriverRules(),
	}
	binding := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: meta(),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: DriverServiceAccount},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: DriverServiceAccount, Namespace: namespace}},
	}
	return sa, role, binding
}

// DriverServiceAccountName is the account the application itself names for
// its driver, as Build sets it on the pod: spec.driver.serviceAccount, else
// spec.sparkConf[spark.kubernetes.authenticate.driver.serviceAccountName];
// empty when it names none.
func DriverServiceAccountName(spec *v1alpha1.SparkApplicationSpec) string {
	if spec.Driver.ServiceAccount != nil && *spec.Driver.ServiceAccount != "" {
		return *spec.Driver.ServiceAccount
	}
	return spec.SparkConf[spark.ConfDriverServiceAccount]
}

// Package install holds what `sparkplane install` puts on a cluster — the
// CRDs, the built-in SparkProfiles, the sparkplane-system namespace, the
// operator's least-privilege RBAC and its Deployment — and applies it with
// server-side apply. Objects is pure;
// Apply is the only function that talks to the API server. config/ holds the
// same objects as kustomize manifests (written from Objects by this package's
// tests with -update, and checked against `kubectl kustomize config/default`).
package install

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/version"
)

// Names of what install creates. They are contracts: the operator's leader
// election lease lives in Namespace, and docs name these objects.
const (
	Namespace          = "sparkplane-system"
	ServiceAccount     = "sparkplane-operator"
	OperatorRole       = "sparkplane-operator"
	LeaderElectionRole = "sparkplane-leader-election"
	EditRole           = "sparkplane-edit"
	// PullSecretsRole lets the operator get Secrets, to read applications'
	// imagePullSecrets (Options.ReadImagePullSecrets); not installed by default.
	PullSecretsRole = "sparkplane-operator-image-pull-secrets"
	ViewRole        = "sparkplane-view"
	Deployment      = "sparkplane-operator"
	// MetricsService selects the operator's pods on their metrics port, for
	// a Prometheus ServiceMonitor or scrape config.
	MetricsService = "sparkplane-operator-metrics"
	// LeaderElectionID is the Lease the operator's replicas compete for.
	LeaderElectionID = "sparkplane-operator.sparkplane.io"
	// MetricsPort and HealthPort are where the in-cluster operator serves
	// Prometheus metrics and /healthz, /readyz.
	MetricsPort = 8080
	HealthPort  = 8081
)

// DefaultImage is the operator image the Deployment runs: this binary's own
// version tag (version.Image), never "latest", so `sparkplane install`
// deploys the operator of its own build. config/ and the Helm chart are
// rendered by tests, whose binaries say "dev".
func DefaultImage() string { return version.Image() }

// Options choose what Objects returns.
type Options struct {
	// Image of the operator Deployment; DefaultImage() when empty.
	Image string
	// SkipOperatorDeployment leaves out the Deployment, for clusters where the
	// operator runs elsewhere (the local cluster runs `sparkplane operator` on
	// the host).
	SkipOperatorDeployment bool
	// JobNamespaces get the driver's ServiceAccount, Role and RoleBinding
	// (submit.DriverIdentity) ahead of time, for clusters whose policy keeps
	// the operator from creating RBAC objects. The namespaces must exist.
	JobNamespaces []string
	// ReadImagePullSecrets grants the operator get on Secrets (ClusterRole
	// PullSecretsRole) and runs it with --read-image-pull-secrets, so it reads
	// applications' imagePullSecrets to look their images' platforms up in
	// private registries (docs/profiles.md). Off by default: the operator's
	// own role holds no Secrets.
	ReadImagePullSecrets bool
	// Hub installs a hub instead (HubObjects): `sparkplane operator --hub`
	// with its own ServiceAccount and RBAC, and no Spark permissions.
	Hub bool
}

var commonLabels = map[string]string{
	"app.kubernetes.io/name":       "sparkplane",
	"app.kubernetes.io/part-of":    "sparkplane",
	"app.kubernetes.io/managed-by": "sparkplane",
}

func labels(component string) map[string]string {
	out := map[string]string{"app.kubernetes.io/component": component}
	for k, v := range commonLabels {
		out[k] = v
	}
	return out
}

// Objects returns everything install applies, in apply order: CRDs first (so
// nothing refers to a kind that does not exist yet), the built-in
// SparkProfiles and the PriorityClasses they name, then the namespace, RBAC,
// the admission policy SubmitterPolicy with its binding, the metrics
// Service, the drivers' accounts in the job namespaces, and the Deployment
// last.
//
// The PriorityClasses are here, not only in the platform bundle, so that the
// default profile works after install alone: they depend on nothing the
// cloud provides. The shuffle StorageClass does (its provisioner and
// parameters are the cluster's CSI driver's), so it stays in the bundle, and
// an application that needs it while it is missing fails at once saying so.
func Objects(opts Options) ([]client.Object, error) {
	if opts.Hub {
		return HubObjects(opts)
	}
	crds, err := v1alpha1.CRDs()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded CRDs: %w", err)
	}
	var objs []client.Object
	for _, crd := range crds {
		crd.APIVersion, crd.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		objs = append(objs, crd)
	}
	for _, p := range profile.BuiltinProfiles() {
		objs = append(objs, p)
	}
	for _, pc := range platform.PriorityClasses() {
		objs = append(objs, pc)
	}
	objs = append(objs, namespace(), serviceAccount(), operatorClusterRole(), operatorClusterRoleBinding(),
		leaderElectionRole(), leaderElectionRoleBinding(), editClusterRole(), viewClusterRole(),
		submitterPolicy(), submitterPolicyBinding(), metricsService())
	if opts.ReadImagePullSecrets {
		role, binding := pullSecretsRBAC()
		objs = append(objs, role, binding)
	}
	for _, ns := range opts.JobNamespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("job namespace %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		sa, role, binding := submit.DriverIdentity(ns)
		objs = append(objs, sa, role, binding)
	}
	if !opts.SkipOperatorDeployment {
		image := opts.Image
		if image == "" {
			image = DefaultImage()
		}
		d := deployment(image)
		if opts.ReadImagePullSecrets {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Args = append(c.Args, ReadImagePullSecretsFlag)
		}
		objs = append(objs, d)
	}
	return objs, nil
}

// ReadImagePullSecretsFlag is the operator flag Options.ReadImagePullSecrets
// adds.
const ReadImagePullSecretsFlag = "--read-image-pull-secrets"

// pullSecretsRBAC grants the operator get (no list, no watch) on Secrets:
// the resolver reads an application's imagePullSecrets one Get each, in the
// application's namespace, when an image lookup misses its cache. The
// submitter policy already requires whoever submits to be able to create
// pods there, which may name any Secret of the namespace as a pull secret.
func pullSecretsRBAC() (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding) {
	role := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: PullSecretsRole, Labels: labels("operator")},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
	}
	binding := operatorClusterRoleBinding()
	binding.Name = PullSecretsRole
	binding.RoleRef.Name = PullSecretsRole
	return role, binding
}

func namespace() *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   Namespace,
			Labels: mergeLabels(labels("operator"), PodSecurityLabels("restricted")),
		},
	}
}

// PodSecurityLabels enforce level on a namespace and warn and audit at the
// same level, so a refused pod is also reported to whoever applies it and
// in the audit log.
func PodSecurityLabels(level string) map[string]string {
	return map[string]string{
		psaapi.EnforceLevelLabel: level,
		psaapi.WarnLevelLabel:    level,
		psaapi.AuditLevelLabel:   level,
	}
}

func mergeLabels(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: ServiceAccount, Namespace: Namespace, Labels: labels("operator")},
	}
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete"}
)

func verbs(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// OperatorRules are the operator's cluster-wide permissions: exactly what the
// controllers in internal/controller do, and nothing beyond. Submission creates
// driver pods, their services and config maps (and may read them back, never
// list them: config maps can hold sensitive data); lifecycle and interruption
// handling delete pods and patch application status; interruption notices are
// read from nodes and persisted as a node annotation; profile resolution reads
// namespaces and PriorityClasses, and submission StorageClasses. No secrets,
// no cluster configuration.
//
// The driver's identity (submit.DriverIdentity: a ServiceAccount, a Role and
// a RoleBinding per job namespace) adds what creating it takes: get and
// create ServiceAccounts, create Roles and RoleBindings, and every
// permission of submit.DriverRules (the API server lets a subject create a
// Role, or bind one, only when it holds each permission in it; sparkplane
// asks for neither escalate nor bind). So the operator can grant a driver
// what it holds itself and nothing more, and cannot grant itself anything:
// docs/security.md.
func OperatorRules() []rbacv1.PolicyRule {
	group := v1alpha1.GroupVersion.Group
	rules := []rbacv1.PolicyRule{
		// Schedules create their runs (SparkApplications) and delete them
		// beyond the history limits.
		{APIGroups: []string{group}, Resources: []string{"sparkapplications"}, Verbs: verbs(readVerbs, []string{"create", "delete"})},
		{APIGroups: []string{group}, Resources: []string{"sparkprofiles", "scheduledsparkapplications"}, Verbs: readVerbs},
		{APIGroups: []string{group}, Resources: []string{"sparkapplications/status", "sparkprofiles/status", "scheduledsparkapplications/status"}, Verbs: []string{"get", "update", "patch"}},
		// Owner references with blockOwnerDeletion need update on the
		// owner's finalizers (OwnerReferencesPermissionEnforcement): driver
		// pods are owned by applications, services and config maps by pods.
		{APIGroups: []string{group}, Resources: []string{"sparkapplications/finalizers", "scheduledsparkapplications/finalizers"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"pods/finalizers"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs(readVerbs, []string{"create", "delete"})},
		{APIGroups: []string{""}, Resources: []string{"services", "configmaps"}, Verbs: []string{"get", "create"}},
		// Kueue's Workload of a queued application (kueue.x-k8s.io/queue-name).
		{APIGroups: []string{"kueue.x-k8s.io"}, Resources: []string{"workloads"}, Verbs: verbs(readVerbs, []string{"create", "delete"})},
		// Spec.suspend of a queued application follows Kueue's admission.
		{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sparkapplications"}, Verbs: []string{"patch"}},
		// Volcano's PodGroup of an application (spec.batchScheduler volcano).
		{APIGroups: []string{"scheduling.volcano.sh"}, Resources: []string{"podgroups"}, Verbs: []string{"get", "create"}},
		// The Spark UI's Ingress (--ingress-url-format, spec.driverIngressOptions).
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: verbs(readVerbs, []string{"patch"})},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: readVerbs},
		// A used-up ResourceQuota is why a driver's executors never appear,
		// an unbound claim's StorageClass why they wait (ExecutorsPending).
		{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: readVerbs},
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get"}},
		{APIGroups: []string{"scheduling.k8s.io"}, Resources: []string{"priorityclasses"}, Verbs: readVerbs},
		// An application whose shuffle volumes need a StorageClass that does
		// not exist fails at once instead of waiting for PVCs that never bind.
		{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: readVerbs},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"create"}},
	}
	// What the operator grants drivers, it holds: the rules verbatim.
	return append(rules, submit.DriverRules()...)
}

func operatorClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: OperatorRole, Labels: labels("operator")},
		Rules:      OperatorRules(),
	}
}

func operatorClusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: OperatorRole, Labels: labels("operator")},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: OperatorRole},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: Namespace}},
	}
}

// leaderElectionRole lets the operator hold its Lease, in its own namespace
// only.
func leaderElectionRole() *rbacv1.Role {
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: LeaderElectionRole, Namespace: Namespace, Labels: labels("operator")},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: verbs(readVerbs, writeVerbs)},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		},
	}
}

func leaderElectionRoleBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: LeaderElectionRole, Namespace: Namespace, Labels: labels("operator")},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: LeaderElectionRole},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: Namespace}},
	}
}

// editClusterRole aggregates into the built-in admin and edit roles, so
// whoever may edit a namespace may run Spark applications in it.
func editClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: EditRole, Labels: mergeLabels(labels("rbac"), map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
		})},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sparkapplications", "scheduledsparkapplications"}, Verbs: verbs(readVerbs, writeVerbs, []string{"deletecollection"})},
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sparkapplications/status", "scheduledsparkapplications/status", "sparkprofiles"}, Verbs: readVerbs},
		},
	}
}

// viewClusterRole aggregates into the built-in view role.
func viewClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: ViewRole, Labels: mergeLabels(labels("rbac"), map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-view": "true",
		})},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sparkapplications", "sparkapplications/status", "scheduledsparkapplications", "scheduledsparkapplications/status", "sparkprofiles"}, Verbs: readVerbs},
		},
	}
}

// PodLabels select the operator's pods.
var PodLabels = map[string]string{"app.kubernetes.io/name": "sparkplane", "app.kubernetes.io/component": "operator"}

// OperatorPodTemplate is the pod template of the operator Deployment.
func OperatorPodTemplate() *corev1.PodTemplateSpec {
	return deployment(DefaultImage()).Spec.Template.DeepCopy()
}

func metricsService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: MetricsService, Namespace: Namespace, Labels: labels("operator")},
		Spec: corev1.ServiceSpec{
			Selector: PodLabels,
			Ports:    []corev1.ServicePort{{Name: "metrics", Port: MetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func deployment(image string) *appsv1.Deployment {
	podLabels := PodLabels
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: Deployment, Namespace: Namespace, Labels: labels("operator")},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: podLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName: ServiceAccount,
					PriorityClassName:  "system-cluster-critical",
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					TerminationGracePeriodSeconds: ptr.To[int64](10),
					Containers: []corev1.Container{{
						Name:  "operator",
						Image: image,
						Args: []string{
							"operator",
							"--leader-elect",
							fmt.Sprintf("--metrics-bind-address=:%d", MetricsPort),
							fmt.Sprintf("--health-probe-bind-address=:%d", HealthPort),
						},
						// The operator holds its leader election Lease in its own
						// namespace, whichever that is (the Helm chart installs
						// into the release's).
						Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
						}}},
						Ports: []corev1.ContainerPort{
							{Name: "metrics", ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
							{Name: "health", ContainerPort: HealthPort, Protocol: corev1.ProtocolTCP},
						},
						LivenessProbe: &corev1.Probe{
							ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("health")}},
							InitialDelaySeconds: 15,
							PeriodSeconds:       20,
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("health")}},
							PeriodSeconds: 10,
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							RunAsUser:                ptr.To[int64](65532),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

package doctor

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/toolchain"
	"github.com/sparkplane/sparkplane/internal/version"
)

// MinKubernetesMinor is the oldest Kubernetes 1.x sparkplane supports: the
// CRDs' CEL validation rules need 1.29's, and install's
// ValidatingAdmissionPolicy (install.SubmitterPolicy) admissionregistration.k8s.io/v1,
// which 1.30 serves.
const MinKubernetesMinor = 30

const (
	fixInstall  = "sparkplane install (installing again upgrades in place, CRDs included)"
	fixBundle   = "sparkplane platform render --provider aws --out platform && kubectl apply --server-side -k platform (docs/install.md, step 2)"
	fixKubeconf = "check --kubeconfig / --context and that the cluster's API server is up"
)

func checkAPIServer(cl Cluster) Result {
	v, err := cl.Discovery.ServerVersion()
	if err != nil {
		return fail(CheckAPIServer, fixKubeconf, "cannot reach the API server: %v", err)
	}
	minor, _ := strconv.Atoi(strings.TrimRight(v.Minor, "+"))
	maxMinor, _ := strconv.Atoi(strings.Split(toolchain.KubeVersion, ".")[1])
	switch {
	case v.Major != "1" || minor < MinKubernetesMinor:
		return fail(CheckAPIServer, fmt.Sprintf("upgrade the cluster to Kubernetes 1.%d or newer", MinKubernetesMinor),
			"Kubernetes %s is older than sparkplane supports (1.%d+)", v.GitVersion, MinKubernetesMinor)
	case minor > maxMinor:
		return warn(CheckAPIServer, "", "Kubernetes %s is newer than sparkplane is tested with (1.%d–%s)", v.GitVersion, MinKubernetesMinor, toolchain.KubeVersion)
	}
	return ok(CheckAPIServer, "Kubernetes %s.%s (%s) reachable (supported: 1.%d–%s)", v.Major, v.Minor, v.GitVersion, MinKubernetesMinor, toolchain.KubeVersion)
}

func (r *run) checkCRDs() Result {
	want, err := v1alpha1.CRDs()
	if err != nil {
		return fail(CheckCRDs, "", "reading this binary's CRDs: %v", err)
	}
	var missing, differ, names []string
	for _, crd := range want {
		names = append(names, crd.Name)
		live := &apiextensionsv1.CustomResourceDefinition{}
		if err := r.c.Get(r.ctx, client.ObjectKey{Name: crd.Name}, live); apierrors.IsNotFound(err) {
			missing = append(missing, crd.Name)
			continue
		} else if err != nil {
			return fail(CheckCRDs, "", "reading CRD %s: %v", crd.Name, err)
		}
		if !sameSchemas(crd, live) {
			differ = append(differ, crd.Name)
		}
	}
	switch {
	case len(missing) > 0:
		return fail(CheckCRDs, fixInstall, "CRD %s missing", joinNames(missing))
	case len(differ) > 0:
		return fail(CheckCRDs, fixInstall, "CRD %s differs from this binary's (installed by another sparkplane version)", joinNames(differ))
	}
	return ok(CheckCRDs, "%s present and match this binary", joinNames(names))
}

// sameSchemas compares the served versions and their schemas, the parts an
// upgrade changes (the API server adds status and defaults elsewhere).
func sameSchemas(want, live *apiextensionsv1.CustomResourceDefinition) bool {
	norm := func(crd *apiextensionsv1.CustomResourceDefinition) any {
		type version struct {
			Name    string
			Served  bool
			Storage bool
			Schema  any
		}
		var out []version
		for _, v := range crd.Spec.Versions {
			var schema any
			if v.Schema != nil {
				data, _ := json.Marshal(v.Schema.OpenAPIV3Schema)
				_ = json.Unmarshal(data, &schema)
			}
			out = append(out, version{v.Name, v.Served, v.Storage, schema})
		}
		return out
	}
	return reflect.DeepEqual(norm(want), norm(live))
}

func (r *run) checkOperator() Result {
	d := &appsv1.Deployment{}
	err := r.c.Get(r.ctx, client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, d)
	if apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{}
		if err := r.c.Get(r.ctx, client.ObjectKey{Namespace: install.Namespace, Name: install.LeaderElectionID}, lease); err == nil &&
			lease.Spec.RenewTime != nil && time.Since(lease.Spec.RenewTime.Time) < time.Minute {
			return ok(CheckOperator, "no Deployment %s/%s, but an operator outside the cluster holds the Lease %s (%s, renewed %s ago)",
				install.Namespace, install.Deployment, install.LeaderElectionID, ptr.Deref(lease.Spec.HolderIdentity, "?"), time.Since(lease.Spec.RenewTime.Time).Round(time.Second))
		}
		return fail(CheckOperator, fixInstall, "no operator: Deployment %s/%s missing and no operator holds the Lease %s", install.Namespace, install.Deployment, install.LeaderElectionID)
	} else if err != nil {
		return fail(CheckOperator, "", "reading Deployment %s/%s: %v", install.Namespace, install.Deployment, err)
	}
	image := ""
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "operator" {
			image = c.Image
		}
	}
	if !install.DeploymentAvailable(d) {
		pods := &corev1.PodList{}
		_ = r.c.List(r.ctx, pods, client.InNamespace(install.Namespace), client.MatchingLabels(install.PodLabels))
		return fail(CheckOperator, "fix the cause above, then sparkplane install --wait shows when it is available",
			"operator %s not available: %s", image, install.NotAvailableReason(r.ctx, d, pods.Items, nil))
	}
	tag := image[strings.LastIndex(image, ":")+1:]
	if r.opts.Version != "" && tag != version.ImageTag(r.opts.Version) {
		return warn(CheckOperator, "sparkplane install with this binary deploys its own version",
			"operator %s available (%d/%d replicas), but this binary is %s", image, d.Status.AvailableReplicas, ptr.Deref(d.Spec.Replicas, 1), r.opts.Version)
	}
	return ok(CheckOperator, "operator %s available (%d/%d replicas)", image, d.Status.AvailableReplicas, ptr.Deref(d.Spec.Replicas, 1))
}

func (r *run) crdServed(name string) bool {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := r.c.Get(r.ctx, client.ObjectKey{Name: name}, crd); err != nil {
		return false
	}
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func (r *run) checkKarpenter() Result {
	if !r.crdServed("nodepools.karpenter.sh") {
		return fail(CheckKarpenter, "install Karpenter (docs/install.md, step 1); NodePools and driver pool are checked once it is there",
			"Karpenter not installed: CRD nodepools.karpenter.sh missing")
	}
	return ok(CheckKarpenter, "Karpenter installed (nodepools.karpenter.sh served)")
}

func (r *run) nodePools() (map[string]*karpv1.NodePool, error) {
	list := &karpv1.NodePoolList{}
	if err := r.c.List(r.ctx, list); err != nil {
		return nil, err
	}
	out := map[string]*karpv1.NodePool{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// capacityTypes are the capacity types a NodePool's requirements allow.
func capacityTypes(np *karpv1.NodePool) []string {
	for _, req := range np.Spec.Template.Spec.Requirements {
		if req.Key == karpv1.CapacityTypeLabelKey && req.Operator == corev1.NodeSelectorOpIn {
			return req.Values
		}
	}
	return nil
}

func (r *run) checkNodePools() Result {
	pools, err := r.nodePools()
	if err != nil {
		return fail(CheckNodePools, "", "listing NodePools: %v", err)
	}
	var missing, order []string
	lastWeight := int32(1 << 30)
	for _, tier := range platform.ExecutorTiers {
		np, found := pools[tier.NodePool]
		if !found {
			missing = append(missing, tier.NodePool)
			continue
		}
		weight := ptr.Deref(np.Spec.Weight, 0)
		order = append(order, fmt.Sprintf("%s %d", tier.NodePool, weight))
		if weight >= lastWeight {
			return fail(CheckNodePools, fixBundle, "NodePools out of tier order (weights must fall: arm64 spot > amd64 spot > arm64 on-demand > amd64 on-demand): %s", joinNames(order))
		}
		lastWeight = weight
		if got := capacityTypes(np); !slices.Equal(got, []string{tier.CapacityType}) {
			return fail(CheckNodePools, fixBundle, "NodePool %s allows capacity types %v; its tier is %s only", tier.NodePool, got, tier.CapacityType)
		}
	}
	if len(missing) > 0 {
		return fail(CheckNodePools, fixBundle, "executor NodePool %s missing", joinNames(missing))
	}
	return ok(CheckNodePools, "executor NodePools in tier order (weights %s)", joinNames(order))
}

func (r *run) checkDriverPool() Result {
	pools, err := r.nodePools()
	if err != nil {
		return fail(CheckDriverPool, "", "listing NodePools: %v", err)
	}
	np, found := pools[platform.NodePoolDriver]
	if !found {
		return fail(CheckDriverPool, fixBundle, "driver NodePool %q missing: drivers would share nodes with (and be interrupted like) executors", platform.NodePoolDriver)
	}
	tainted := slices.ContainsFunc(np.Spec.Template.Spec.Taints, func(t corev1.Taint) bool {
		return t.Key == platform.DriverTaintKey && t.Effect == corev1.TaintEffectNoSchedule
	})
	if !tainted {
		return fail(CheckDriverPool, fixBundle, "driver NodePool %q is not tainted %s:NoSchedule: executors and other pods would land on it", np.Name, platform.DriverTaintKey)
	}
	if got := capacityTypes(np); !slices.Equal(got, []string{karpv1.CapacityTypeOnDemand}) {
		return fail(CheckDriverPool, fixBundle, "driver NodePool %q allows capacity types %v; drivers must run on on-demand only", np.Name, got)
	}
	return ok(CheckDriverPool, "driver NodePool %q tainted %s:NoSchedule, on-demand only", np.Name, platform.DriverTaintKey)
}

// profiles lists the SparkProfiles; none when the CRD is missing.
func (r *run) profiles() []v1alpha1.SparkProfile {
	list := &v1alpha1.SparkProfileList{}
	if err := r.c.List(r.ctx, list); err != nil {
		return nil
	}
	return list.Items
}

// uses maps an object name to the profiles that reference it.
type uses map[string][]string

func (u uses) add(name, profile string) {
	if name != "" && !slices.Contains(u[name], profile) {
		u[name] = append(u[name], profile)
	}
}

func (u uses) names() []string {
	var out []string
	for n := range u {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// effective fills what a profile leaves out from the built-in layer, as the
// resolver does.
func effective(p v1alpha1.SparkProfile) v1alpha1.SparkProfileSpec {
	spec := *p.Spec.DeepCopy()
	builtin := profile.BuiltinDefaults()
	if spec.Driver == nil {
		spec.Driver = builtin.Driver
	} else if spec.Driver.PriorityClassName == "" {
		spec.Driver.PriorityClassName = builtin.Driver.PriorityClassName
	}
	if spec.Executor == nil {
		spec.Executor = builtin.Executor
	} else if spec.Executor.PriorityClassName == "" {
		spec.Executor.PriorityClassName = builtin.Executor.PriorityClassName
	}
	if spec.ShuffleStorage == nil {
		spec.ShuffleStorage = builtin.ShuffleStorage
	}
	return spec
}

func (r *run) checkPriorityClasses(profiles []v1alpha1.SparkProfile) Result {
	if len(profiles) == 0 {
		return fail(CheckPriorityClass, fixInstall, "no SparkProfiles, so nothing references PriorityClasses yet")
	}
	used := uses{}
	for _, p := range profiles {
		spec := effective(p)
		used.add(spec.Driver.PriorityClassName, p.Name)
		used.add(spec.Executor.PriorityClassName, p.Name)
	}
	var missing []string
	for _, name := range used.names() {
		if err := r.c.Get(r.ctx, client.ObjectKey{Name: name}, &schedulingv1.PriorityClass{}); apierrors.IsNotFound(err) {
			missing = append(missing, fmt.Sprintf("%s (profiles %s)", name, joinNames(used[name])))
		}
	}
	if len(missing) > 0 {
		return fail(CheckPriorityClass, fixInstall+" creates sparkplane-driver and sparkplane-executor; create any other class named here",
			"PriorityClass %s missing: applications on those profiles run without it (drivers no longer ahead of executors)", strings.Join(missing, "; "))
	}
	return ok(CheckPriorityClass, "PriorityClasses %s present", joinNames(used.names()))
}

// checkStorageClasses returns the result and the provisioner of each class
// present.
func (r *run) checkStorageClasses(profiles []v1alpha1.SparkProfile) (Result, map[string]string) {
	used := uses{}
	for _, p := range profiles {
		st := effective(p).ShuffleStorage
		if st == nil || st.Type != v1alpha1.ShufflePersistentVolumeClaim {
			continue
		}
		name := profile.DefaultShuffleStorageClass
		if st.PersistentVolumeClaim != nil && st.PersistentVolumeClaim.StorageClassName != "" {
			name = st.PersistentVolumeClaim.StorageClassName
		}
		used.add(name, p.Name)
	}
	present := map[string]string{}
	var missing []string
	for _, name := range used.names() {
		sc := &storagev1.StorageClass{}
		if err := r.c.Get(r.ctx, client.ObjectKey{Name: name}, sc); apierrors.IsNotFound(err) {
			missing = append(missing, fmt.Sprintf("%s (profiles %s)", name, joinNames(used[name])))
			continue
		}
		present[name] = sc.Provisioner
	}
	if len(missing) > 0 {
		return fail(CheckStorageClass, fixBundle+" (storageclasses.yaml)",
			"StorageClass %s missing: applications on those profiles fail at once", strings.Join(missing, "; ")), present
	}
	if len(used) == 0 {
		return ok(CheckStorageClass, "no profile keeps shuffle on PVCs"), present
	}
	return ok(CheckStorageClass, "StorageClasses %s present", joinNames(used.names())), present
}

func (r *run) checkCSIDrivers(classes map[string]string) Result {
	if len(classes) == 0 {
		return ok(CheckCSIDriver, "no shuffle StorageClass present to check")
	}
	var found []string
	for _, name := range uses(mapToUses(classes)).names() {
		provisioner := classes[name]
		if provisioner == "kubernetes.io/no-provisioner" {
			return warn(CheckCSIDriver, "on a real cluster use a CSI provisioner such as ebs.csi.aws.com (the aws platform bundle's StorageClass)",
				"StorageClass %s has no provisioner (kubernetes.io/no-provisioner): shuffle PVCs bind only to PersistentVolumes made by hand", name)
		}
		if err := r.c.Get(r.ctx, client.ObjectKey{Name: provisioner}, &storagev1.CSIDriver{}); apierrors.IsNotFound(err) {
			return fail(CheckCSIDriver, "install the CSI driver "+provisioner+" (on EKS: the aws-ebs-csi-driver add-on, docs/install.md step 1)",
				"StorageClass %s uses provisioner %s, but no CSIDriver %s is registered: its PVCs stay Pending", name, provisioner, provisioner)
		}
		found = append(found, name+" → "+provisioner)
	}
	return ok(CheckCSIDriver, "CSI drivers registered: %s", joinNames(found))
}

func mapToUses(m map[string]string) map[string][]string {
	out := map[string][]string{}
	for k := range m {
		out[k] = nil
	}
	return out
}

// driverVerbs are what Spark's driver does through the API server, one
// question per verb of submit.DriverRules (docs/security.md lists them with
// their Spark sources).
func driverVerbs() []authorizationv1.ResourceAttributes {
	var out []authorizationv1.ResourceAttributes
	for _, rule := range submit.DriverRules() {
		for _, resource := range rule.Resources {
			for _, verb := range rule.Verbs {
				out = append(out, authorizationv1.ResourceAttributes{Group: rule.APIGroups[0], Resource: resource, Verb: verb})
			}
		}
	}
	return out
}

func (r *run) checkDriverAccount() Result {
	ns := r.opts.Namespace
	if err := r.c.Get(r.ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); apierrors.IsNotFound(err) {
		return fail(CheckDriverAccount, "kubectl create namespace "+ns+", or pass -n with the namespace applications run in", "namespace %s missing", ns)
	}
	account := submit.DriverServiceAccount
	if err := r.c.Get(r.ctx, client.ObjectKey{Namespace: ns, Name: account}, &corev1.ServiceAccount{}); apierrors.IsNotFound(err) {
		return warn(CheckDriverAccount, "sparkplane install --job-namespaces "+ns+" creates it ahead of time",
			"ServiceAccount %s/%s not there yet (the operator creates it with the first application in the namespace)", ns, account)
	}
	user := "system:serviceaccount:" + ns + ":" + account
	var denied []string
	verbs := driverVerbs()
	for _, attrs := range verbs {
		attrs.Namespace = ns
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}, ResourceAttributes: &attrs,
		}}
		if err := r.c.Create(r.ctx, review); err != nil {
			return warn(CheckDriverAccount, "run doctor as a user who may create subjectaccessreviews", "cannot check %s's permissions: %v", user, err)
		}
		if !review.Status.Allowed {
			denied = append(denied, attrs.Verb+" "+attrs.Resource)
		}
	}
	if len(denied) > 0 {
		return fail(CheckDriverAccount, "bind the account to a Role with Spark's driver verbs (docs/security.md), or let the operator create "+submit.DriverServiceAccount,
			"ServiceAccount %s/%s may not %s: drivers cannot start executors", ns, account, joinNames(denied))
	}
	return ok(CheckDriverAccount, "ServiceAccount %s/%s may do what Spark's driver does (%d verbs checked)", ns, account, len(verbs))
}

func (r *run) checkMetricsStack() Result {
	var missing []string
	for _, crd := range []string{"podmonitors.monitoring.coreos.com", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"} {
		if !r.crdServed(crd) {
			missing = append(missing, crd)
		}
	}
	if len(missing) > 0 {
		return warn(CheckMetricsStack, "install the Prometheus operator (kube-prometheus-stack; docs/install.md step 1) for the bundle's PodMonitors, SLO rules and dashboards",
			"Prometheus operator CRD %s missing: no metrics, SLOs or dashboards", joinNames(missing))
	}
	return ok(CheckMetricsStack, "Prometheus operator CRDs present (PodMonitor, ServiceMonitor, PrometheusRule)")
}

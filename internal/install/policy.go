package install

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// SubmitterPolicy names the ValidatingAdmissionPolicy (and its binding) that
// keeps sparkplane from being a confused deputy: whoever creates or changes
// a SparkApplication or ScheduledSparkApplication must be allowed to create
// the pods it stands for, and to use the ServiceAccounts they run as
// (docs/security.md).
const SubmitterPolicy = "sparkplane-submitter-rights"

// OperatorUsername is how the API server names the in-cluster operator, the
// one requester SubmitterPolicy skips: it creates the runs of
// ScheduledSparkApplications (whose author the policy checked when the
// schedule was written) and patches spec.suspend of queued applications.
func OperatorUsername() string {
	return "system:serviceaccount:" + Namespace + ":" + ServiceAccount
}

// celString quotes s as a CEL string literal. The names quoted here are
// Kubernetes names, conf keys and annotation keys: no quote or backslash in
// them, which the test of the policy checks by compiling it.
func celString(s string) string { return "'" + s + "'" }

// submitterPolicy is the ValidatingAdmissionPolicy; CEL with the API
// server's authorizer, no webhook, so nothing of sparkplane has to run for a
// request to be checked and the operator's availability is not on the path
// of every submission.
//
// It matches CREATE of both kinds and UPDATE that changes spec: metadata
// (labels, annotations, finalizers, owner references) does not shape the
// pods (their labels and annotations come from spec), so the garbage
// collector orphaning runs, a hub renewing a copy's lease annotation, or a
// user labelling an application are not asked for pod rights. Status is a
// subresource and never matched.
//
// The driver's account is what the application names (spec.driver.serviceAccount,
// else sparkConf's spark.kubernetes.authenticate.driver.serviceAccountName),
// else the namespace's sparkplane.io/driver-service-account annotation, else
// sparkplane-spark: the operator's own choice (sparkapplication's
// driverAccount) short of the profile's driver.serviceAccountName, which
// admission cannot read (a profile's account is the platform team's grant to
// every application of the profile; docs/security.md). The executors'
// account is checked when the application names one.
func submitterPolicy() *admissionregistrationv1.ValidatingAdmissionPolicy {
	group := v1alpha1.GroupVersion.Group
	// spec is the SparkApplication spec either kind carries: a schedule's
	// runs are its template.
	specVar := "request.kind.kind == 'ScheduledSparkApplication' ? object.spec.template : object.spec"
	conf := "(has(variables.spec.sparkConf) ? variables.spec.sparkConf : {})"
	podAccount := func(role string) string {
		return fmt.Sprintf("has(variables.spec.%[1]s) && has(variables.spec.%[1]s.serviceAccount) && variables.spec.%[1]s.serviceAccount != '' ? variables.spec.%[1]s.serviceAccount", role)
	}
	confAccount := func(key string) string {
		return fmt.Sprintf("%[1]s in variables.conf && variables.conf[%[1]s] != '' ? variables.conf[%[1]s]", celString(key))
	}
	annotation := celString(submit.AnnotationDriverServiceAccount)
	driverAccount := strings.Join([]string{
		podAccount("driver"),
		confAccount(spark.ConfDriverServiceAccount),
		fmt.Sprintf("has(namespaceObject.metadata.annotations) && %[1]s in namespaceObject.metadata.annotations && namespaceObject.metadata.annotations[%[1]s] != '' ? namespaceObject.metadata.annotations[%[1]s]", annotation),
		celString(submit.DriverServiceAccount),
	}, "\n  : ")
	executorAccount := strings.Join([]string{
		podAccount("executor"),
		confAccount(spark.ConfExecutorServiceAccount),
		"''",
	}, "\n  : ")
	mayGet := func(account string) string {
		return "authorizer.group('').resource('serviceaccounts').namespace(request.namespace).name(" + account + ").check('get').allowed()"
	}
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: SubmitterPolicy, Labels: labels("policy")},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups:   []string{group},
							APIVersions: []string{"*"},
							Resources:   []string{"sparkapplications", "scheduledsparkapplications"},
						},
					},
				}},
			},
			MatchConditions: []admissionregistrationv1.MatchCondition{
				{Name: "not-the-operator", Expression: "request.userInfo.username != " + celString(OperatorUsername())},
				{Name: "creates-or-changes-spec", Expression: "request.operation == 'CREATE' || object.spec != oldObject.spec"},
			},
			Variables: []admissionregistrationv1.Variable{
				{Name: "spec", Expression: specVar},
				{Name: "conf", Expression: conf},
				{Name: "driverAccount", Expression: driverAccount},
				{Name: "executorAccount", Expression: executorAccount},
			},
			Validations: []admissionregistrationv1.Validation{
				{
					Expression: "authorizer.group('').resource('pods').namespace(request.namespace).check('create').allowed()",
					MessageExpression: "request.userInfo.username + ' may not create pods in namespace ' + request.namespace + ' (missing permission: create pods), and a ' + request.kind.kind + " +
						"' makes pods there: ask for a Role granting create on pods in ' + request.namespace + ' (docs/security.md)'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: mayGet("variables.driverAccount"),
					MessageExpression: "request.userInfo.username + ' may not get ServiceAccount ' + request.namespace + '/' + variables.driverAccount + ' (missing permission: get serviceaccounts ' + variables.driverAccount + '), " +
						"which the driver would run as: ask for get on it, or name an account you may use in spec.driver.serviceAccount (docs/security.md)'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "variables.executorAccount == '' || " + mayGet("variables.executorAccount"),
					MessageExpression: "request.userInfo.username + ' may not get ServiceAccount ' + request.namespace + '/' + variables.executorAccount + ' (missing permission: get serviceaccounts ' + variables.executorAccount + '), " +
						"which the executors would run as: ask for get on it, or name an account you may use in spec.executor.serviceAccount (docs/security.md)'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// submitterPolicyBinding denies, in every namespace, what submitterPolicy
// refuses.
func submitterPolicyBinding() *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: SubmitterPolicy, Labels: labels("policy")},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        SubmitterPolicy,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
}

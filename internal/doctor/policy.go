package doctor

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/install"
)

// checkSubmitterPolicy: the admission policy that keeps sparkplane from
// being a confused deputy is there and bound to deny. Without it sparkplane
// still runs applications, so its absence is a warning, not a failure (the
// chart may leave it out on purpose, submitterPolicy: false).
func (r *run) checkSubmitterPolicy() Result {
	const fix = "sparkplane install (or the chart's submitterPolicy: true) applies it; docs/security.md"
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	err := r.c.Get(r.ctx, client.ObjectKey{Name: install.SubmitterPolicy}, policy)
	if apierrors.IsNotFound(err) {
		return warn(CheckSubmitterPolicy, fix,
			"ValidatingAdmissionPolicy %s is missing: whoever may create SparkApplications gets pods through the operator without being allowed to create pods", install.SubmitterPolicy)
	}
	if err != nil {
		return warn(CheckSubmitterPolicy, fix, "reading ValidatingAdmissionPolicy %s: %v", install.SubmitterPolicy, err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	err = r.c.Get(r.ctx, client.ObjectKey{Name: install.SubmitterPolicy}, binding)
	switch {
	case apierrors.IsNotFound(err):
		return warn(CheckSubmitterPolicy, fix, "ValidatingAdmissionPolicyBinding %s is missing: the policy is installed but enforced nowhere", install.SubmitterPolicy)
	case err != nil:
		return warn(CheckSubmitterPolicy, fix, "reading ValidatingAdmissionPolicyBinding %s: %v", install.SubmitterPolicy, err)
	case binding.Spec.PolicyName != install.SubmitterPolicy || !slices.Contains(binding.Spec.ValidationActions, admissionregistrationv1.Deny):
		return warn(CheckSubmitterPolicy, fix, "ValidatingAdmissionPolicyBinding %s binds %q with actions %v: it must bind %s with Deny to refuse anything",
			install.SubmitterPolicy, binding.Spec.PolicyName, binding.Spec.ValidationActions, install.SubmitterPolicy)
	}
	return ok(CheckSubmitterPolicy, "ValidatingAdmissionPolicy %s bound with Deny: creating a SparkApplication needs create pods and get on the driver's ServiceAccount", install.SubmitterPolicy)
}

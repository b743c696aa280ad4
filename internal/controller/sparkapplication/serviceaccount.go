package sparkapplication

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// driverAccount decides the ServiceAccount the driver of effective runs as
// and makes sure it exists, before anything of the attempt is created:
//
//  1. the account the application names (spec.driver.serviceAccount, or
//     spark.kubernetes.authenticate.driver.serviceAccountName in sparkConf),
//     else the one its SparkProfile names (driver.serviceAccountName, put on
//     spec.driver.serviceAccount by the resolver);
//  2. else the one the namespace's sparkplane.io/driver-service-account
//     annotation names;
//  3. else sparkplane-spark, which the operator creates in the namespace
//     (ServiceAccount, Role with submit.DriverRules, RoleBinding) the first
//     time, unless it was created ahead of time (install --job-namespaces).
//
// It sets the chosen name on effective.Spec.Driver.ServiceAccount. An
// account of case 1 or 2 that does not exist is a *Rejection naming it (the
// application ends Failed at once instead of leaving a driver that the API
// server refuses or that cannot create its executors).
func (c *Controller) driverAccount(ctx context.Context, app, effective *v1alpha1.SparkApplication) error {
	ns := effective.Namespace
	name, source := submit.DriverServiceAccountName(&effective.Spec), ""
	switch {
	case name == "":
	case app.Spec.Driver.ServiceAccount != nil && *app.Spec.Driver.ServiceAccount != "":
		source = "the application's spec.driver.serviceAccount"
	case submit.DriverServiceAccountName(&app.Spec) != "":
		source = "the application's spec.sparkConf[" + spark.ConfDriverServiceAccount + "]"
	case effective.Status.Profile != nil:
		source = "SparkProfile " + effective.Status.Profile.Name + " (driver.serviceAccountName)"
	default:
		source = "the application's profile (driver.serviceAccountName)"
	}
	if name == "" {
		namespace := &corev1.Namespace{}
		if err := c.client.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
			return fmt.Errorf("reading namespace %s for its %s annotation: %w", ns, submit.AnnotationDriverServiceAccount, err)
		}
		name, source = namespace.Annotations[submit.AnnotationDriverServiceAccount], "namespace "+ns+"'s "+submit.AnnotationDriverServiceAccount+" annotation"
	}
	if name == "" || name == submit.DriverServiceAccount {
		if err := c.ensureDriverIdentity(ctx, ns); err != nil {
			return err
		}
		effective.Spec.Driver.ServiceAccount = ptr.To(submit.DriverServiceAccount)
		return nil
	}
	if _, known := c.accounts.Load(ns + "/" + name); !known {
		err := c.apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ServiceAccount{})
		if apierrors.IsNotFound(err) {
			return &Rejection{Reason: v1alpha1.ReasonServiceAccountNotFound, Message: fmt.Sprintf(
				"ServiceAccount %s/%s, named by %s, does not exist: create it with the rights docs/security.md lists (or `sparkplane install --job-namespaces %s` for sparkplane's own %s), or name no account to use %s",
				ns, name, source, ns, submit.DriverServiceAccount, submit.DriverServiceAccount)}
		}
		if err != nil {
			return fmt.Errorf("reading ServiceAccount %s/%s: %w", ns, name, err)
		}
		c.accounts.Store(ns+"/"+name, true)
	}
	effective.Spec.Driver.ServiceAccount = ptr.To(name)
	return nil
}

// ensureDriverIdentity creates sparkplane-spark's ServiceAccount, Role and
// RoleBinding in ns unless the ServiceAccount exists (created ahead of time
// by install --job-namespaces or the chart, where the cluster's policy may
// forbid the operator creating RBAC objects: nothing is created then) or
// this process already saw it. AlreadyExists is success: another replica or
// an earlier run may have created some of them. Existing objects are left
// as they are (an administrator may have narrowed or widened the Role).
//
// The first applications of a namespace arrive together (32 workers): they
// share one check and one set of creates instead of each doing the four
// round trips (30 times over in BenchmarkSubmission before).
func (c *Controller) ensureDriverIdentity(ctx context.Context, ns string) error {
	key := ns + "/" + submit.DriverServiceAccount
	if _, done := c.accounts.Load(key); done {
		return nil
	}
	_, err, _ := c.identities.Do(key, func() (any, error) {
		if _, done := c.accounts.Load(key); done {
			return nil, nil
		}
		return nil, c.createDriverIdentity(ctx, ns, key)
	})
	return err
}

// createDriverIdentity is ensureDriverIdentity's check and creates.
func (c *Controller) createDriverIdentity(ctx context.Context, ns, key string) error {
	err := c.apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: submit.DriverServiceAccount}, &corev1.ServiceAccount{})
	if err == nil {
		c.accounts.Store(key, true)
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading ServiceAccount %s: %w", key, err)
	}
	sa, role, binding := submit.DriverIdentity(ns)
	for _, obj := range []struct {
		kind string
		obj  client.Object
	}{{"Role", role}, {"RoleBinding", binding}, {"ServiceAccount", sa}} { // the account last: its existence says all three are there
		if err := c.client.Create(ctx, obj.obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the driver's %s %s/%s: %w", obj.kind, ns, submit.DriverServiceAccount, err)
		}
	}
	log.FromContext(ctx).V(1).Info("Driver ServiceAccount ready", "namespace", ns, "serviceAccount", submit.DriverServiceAccount)
	c.accounts.Store(key, true)
	return nil
}

// sparkConfFiles reads the ConfigMap spec.sparkConfigMap names, whose files
// native submission writes into the driver's SPARK_CONF_DIR (as spark-submit
// ships its local conf directory). Read directly, not cached: the operator
// keeps no ConfigMap informer (they can hold anything), and only
// applications that name one pay for the read. A missing ConfigMap is a
// *Rejection naming it.
func (c *Controller) sparkConfFiles(ctx context.Context, effective *v1alpha1.SparkApplication) (map[string]string, error) {
	name := ptr.Deref(effective.Spec.SparkConfigMap, "")
	if name == "" {
		return nil, nil
	}
	cm := &corev1.ConfigMap{}
	err := c.apiReader.Get(ctx, client.ObjectKey{Namespace: effective.Namespace, Name: name}, cm)
	if apierrors.IsNotFound(err) {
		return nil, &Rejection{Reason: v1alpha1.ReasonInvalidSpec, Message: fmt.Sprintf(
			"spec.sparkConfigMap: ConfigMap %s/%s does not exist; create it (log4j2.properties, metrics.properties, spark-defaults.conf, ...) or remove the field", effective.Namespace, name)}
	}
	if err != nil {
		return nil, fmt.Errorf("reading spec.sparkConfigMap %s/%s: %w", effective.Namespace, name, err)
	}
	if len(cm.BinaryData) > 0 {
		return nil, &Rejection{Reason: v1alpha1.ReasonInvalidSpec, Message: fmt.Sprintf(
			"spec.sparkConfigMap: ConfigMap %s/%s has binaryData; Spark's conf directory takes text files only", effective.Namespace, name)}
	}
	return cm.Data, nil
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type waitOptions struct {
	kube    kubeFlags
	forSpec string
	timeout time.Duration
	names   []string

	until  waitCondition
	client client.WithWatch
	out    io.Writer
}

func newWaitCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &waitOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "wait NAME... --for=state=STATE|condition=TYPE[=STATUS]|delete",
		Short: "Wait until SparkApplications reach a state, have a condition, or are gone",
		Long: `Wait blocks until every named application meets --for, then prints one line
per application and exits 0; it exits 1 when --timeout passes first, or at once
when an application ends in another state than the one waited for (a Failed
application will never be Succeeded), with its failure message.

--for is one of:
  state=STATE               Pending, Running, Retrying, Succeeded or Failed
  condition=TYPE[=STATUS]   a status condition, e.g. condition=Completed (STATUS defaults to True)
  delete                    the application is gone`,
		Example: `  # Block until spark-pi has succeeded, for at most ten minutes
  sparkplane wait spark-pi --for=state=Succeeded --timeout=10m

  # Until the driver runs
  sparkplane wait spark-pi --for=condition=Running

  # Until a deleted application is gone
  sparkplane wait spark-pi --for=delete --timeout=1m`,
		ValidArgsFunction: completeApplicationNames(kube),
		RunE:              runE(o),
	}
	cmd.Flags().StringVar(&o.forSpec, "for", "", "The condition to wait on: state=STATE, condition=TYPE[=STATUS] or delete")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "How long to wait before giving up; 0 checks once, a negative value waits a week")
	_ = cmd.RegisterFlagCompletionFunc("for", cobra.FixedCompletions([]string{
		"state=Succeeded", "state=Failed", "state=Running", "state=Pending", "condition=Completed", "condition=Running", "delete",
	}, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace))
	return cmd
}

func (o *waitOptions) complete(cmd *cobra.Command, args []string) error {
	o.out, o.names = cmd.OutOrStdout(), args
	var err error
	if o.until, err = parseWaitFor(o.forSpec); err != nil {
		return err
	}
	if err := o.kube.complete(); err != nil {
		return err
	}
	o.client, err = newWatchClient(o.kube.config)
	return err
}

func (o *waitOptions) validate() error {
	if len(o.names) == 0 {
		return errors.New("you must specify the SparkApplications to wait for: sparkplane wait NAME --for=state=Succeeded")
	}
	return nil
}

func (o *waitOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	timeout := o.timeout
	if timeout < 0 {
		timeout = 7 * 24 * time.Hour
	}
	for _, name := range o.names {
		key := client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name}
		if err := waitForApplication(ctx, o.client, key, timeout, o.until, nil); err != nil {
			return err
		}
		fmt.Fprintf(o.out, "%s/%s %s\n", resourceName, name, o.until.met)
	}
	return nil
}

// waitCondition is a parsed --for: check says whether an application (nil
// when it does not exist) meets it, or an error when it never will.
type waitCondition struct {
	check func(app *v1alpha1.SparkApplication) (bool, error)
	// met is what wait prints when the condition holds, as kubectl does
	// ("condition met", "deleted").
	met string
	// describe is the condition in words, for a timeout.
	describe string
}

func parseWaitFor(spec string) (waitCondition, error) {
	kind, value, _ := strings.Cut(spec, "=")
	switch {
	case spec == "":
		return waitCondition{}, errors.New("--for is required: state=STATE, condition=TYPE[=STATUS] or delete")
	case spec == "delete":
		return waitCondition{met: "deleted", describe: "be deleted", check: func(app *v1alpha1.SparkApplication) (bool, error) {
			return app == nil, nil
		}}, nil
	case kind == "state":
		want, ok := parseState(value)
		if !ok {
			return waitCondition{}, fmt.Errorf("--for=state=%s: not a state; use one of Pending, Running, Retrying, Succeeded, Failed", value)
		}
		return waitCondition{met: "state " + string(want), describe: "reach state " + string(want), check: func(app *v1alpha1.SparkApplication) (bool, error) {
			if app == nil {
				return false, nil
			}
			if app.Status.State == want {
				return true, nil
			}
			if app.Status.State.IsTerminal() && app.Spec.RestartPolicy.Type != v1alpha1.RestartPolicyAlways {
				return false, endedError(app, "state "+string(want))
			}
			return false, nil
		}}, nil
	case kind == "condition" && value != "":
		conditionType, status, found := strings.Cut(value, "=")
		if !found {
			status = string(metav1.ConditionTrue)
		}
		if status != string(metav1.ConditionTrue) && status != string(metav1.ConditionFalse) && status != string(metav1.ConditionUnknown) {
			return waitCondition{}, fmt.Errorf("--for=condition=%s: the status must be True, False or Unknown", value)
		}
		return waitCondition{met: "condition met", describe: fmt.Sprintf("have condition %s=%s", conditionType, status), check: func(app *v1alpha1.SparkApplication) (bool, error) {
			if app == nil {
				return false, nil
			}
			c := meta.FindStatusCondition(app.Status.Conditions, conditionType)
			return c != nil && string(c.Status) == status, nil
		}}, nil
	}
	return waitCondition{}, fmt.Errorf("--for=%s is not understood: use state=STATE, condition=TYPE[=STATUS] or delete", spec)
}

func parseState(s string) (v1alpha1.ApplicationState, bool) {
	for _, state := range []v1alpha1.ApplicationState{v1alpha1.StatePending, v1alpha1.StateRunning, v1alpha1.StateRetrying, v1alpha1.StateSucceeded, v1alpha1.StateFailed} {
		if strings.EqualFold(s, string(state)) {
			return state, true
		}
	}
	return "", false
}

// endedError says that app ended without reaching what was waited for, with
// the operator's reason and message.
func endedError(app *v1alpha1.SparkApplication, wanted string) error {
	return fmt.Errorf("sparkapplication %q ended %s, not %s: %s (see: sparkplane describe %s -n %s)",
		app.Name, app.Status.State, wanted, failureMessage(app), app.Name, app.Namespace)
}

// failureMessage is why an application failed, from its conditions.
func failureMessage(app *v1alpha1.SparkApplication) string {
	if c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted); c != nil && c.Message != "" {
		return c.Reason + ": " + c.Message
	}
	for _, c := range app.Status.Conditions {
		if c.Status == metav1.ConditionFalse && c.Message != "" {
			return c.Reason + ": " + c.Message
		}
	}
	return "no message recorded"
}

// waitForApplication blocks until the application under key meets until,
// the timeout passes, or until returns an error. changed, when set, sees
// every version of the application on the way (submit --wait prints state
// changes with it).
func waitForApplication(ctx context.Context, c client.WithWatch, key client.ObjectKey, timeout time.Duration, until waitCondition, changed func(*v1alpha1.SparkApplication)) error {
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	query := applicationQuery{namespace: key.Namespace, name: key.Name}
	list, err := query.list(ctx, c)
	if err != nil {
		return err
	}
	var app *v1alpha1.SparkApplication
	if len(list.Items) > 0 {
		app = &list.Items[0]
		if changed != nil {
			changed(app)
		}
	} else if until.met != "deleted" {
		return fmt.Errorf("sparkapplications.sparkplane.io %q not found in namespace %q", key.Name, key.Namespace)
	}
	if done, err := until.check(app); done || err != nil {
		return err
	}
	if timeout == 0 {
		return fmt.Errorf("sparkapplication %q does not %s (--timeout=0 checks once)", key.Name, until.describe)
	}
	err = query.watch(ctx, c, list.ResourceVersion, func(event watch.EventType, app *v1alpha1.SparkApplication) (bool, error) {
		if event == watch.Deleted {
			app = nil
		} else if changed != nil {
			changed(app)
		}
		return until.check(app)
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s waiting for sparkapplication %q to %s", timeout, key.Name, until.describe)
	}
	return err
}

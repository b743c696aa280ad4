package sparkprofile_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainSparkplane(m, &env) }

// startController runs the SparkProfile controller in a manager until the
// test ends.
func startController(t *testing.T) {
	t.Helper()
	env.StartManager(t, func(mgr manager.Manager) error { return sparkprofile.NewController().Register(mgr) })
}
func newApplication(ns, name string) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark:3.5.3")
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
	return app
}

func TestProfileStatus(t *testing.T) {
	startController(t)
	ctx := context.Background()
	c := env.Client

	var builtins []*v1alpha1.SparkProfile
	for _, p := range profile.BuiltinProfiles() {
		p.Name = "status-" + p.Name
		delete(p.Labels, v1alpha1.ClusterDefaultProfileLabel)
		if err := c.Create(ctx, p); err != nil {
			t.Fatalf("creating built-in profile %s: %v", p.Name, err)
		}
		builtins = append(builtins, p)
	}
	prof := builtins[0]
	t.Cleanup(func() {
		for _, p := range builtins {
			_ = c.Delete(ctx, p)
		}
	})
	status := func(name string) (v1alpha1.SparkProfileStatus, string) {
		got := &v1alpha1.SparkProfile{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, got); err != nil {
			return got.Status, err.Error()
		}
		return got.Status, ""
	}
	for _, p := range builtins {
		testenv.Eventually(t, testenv.Timeout, p.Name+" observed and Ready", func() (bool, string) {
			st, errMsg := status(p.Name)
			ready := meta.IsStatusConditionTrue(st.Conditions, sparkprofile.ConditionReady)
			return st.ObservedGeneration == 1 && ready, errMsg + " " + toString(st)
		})
	}

	ns := env.Namespace(t)
	running := newApplication(ns, "running")
	finished := newApplication(ns, "finished")
	for _, a := range []*v1alpha1.SparkApplication{running, finished} {
		if err := c.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	setStatus := func(a *v1alpha1.SparkApplication, state v1alpha1.ApplicationState) {
		t.Helper()
		patch := client.MergeFrom(a.DeepCopy())
		a.Status.State = state
		a.Status.Profile = &v1alpha1.ProfileReference{Name: prof.Name, Generation: 1}
		if err := c.Status().Patch(ctx, a, patch); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(running, v1alpha1.StateRunning)
	setStatus(finished, v1alpha1.StateSucceeded)
	testenv.Eventually(t, testenv.Timeout, "one unfinished application counted", func() (bool, string) {
		st, _ := status(prof.Name)
		return st.Applications == 1, toString(st)
	})
	setStatus(running, v1alpha1.StateFailed)
	testenv.Eventually(t, testenv.Timeout, "no unfinished application counted", func() (bool, string) {
		st, _ := status(prof.Name)
		return st.Applications == 0, toString(st)
	})

	// An edit is observed at the new generation.
	patch := client.MergeFrom(prof.DeepCopy())
	prof.Spec.Description = "edited"
	if err := c.Patch(ctx, prof, patch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "generation 2 observed", func() (bool, string) {
		st, _ := status(prof.Name)
		return st.ObservedGeneration == 2, toString(st)
	})
}

func TestInvalidProfileIsNotReady(t *testing.T) {
	startController(t)
	ctx := context.Background()
	bad := &v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "s390x-only"}, Spec: v1alpha1.SparkProfileSpec{
		Executor: &v1alpha1.ExecutorPolicy{Architectures: []string{"s390x"}},
	}}
	if err := env.Client.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, bad) })
	testenv.Eventually(t, testenv.Timeout, "Ready=False InvalidProfile", func() (bool, string) {
		got := &v1alpha1.SparkProfile{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bad), got); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, sparkprofile.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == sparkprofile.ReasonInvalidProfile, toString(got.Status)
	})
}

// TestCRDValidation: the API server refuses bad profiles with the field.
func TestCRDValidation(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		spec v1alpha1.SparkProfileSpec
		want string
	}{
		"member of another type": {
			spec: v1alpha1.SparkProfileSpec{ShuffleStorage: &v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleEmptyDir, LocalNVMe: &v1alpha1.LocalNVMeShuffle{}}},
			want: "localNVMe may only be set when type is localNVMe",
		},
		"celeborn without masters": {
			spec: v1alpha1.SparkProfileSpec{ShuffleStorage: &v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleRemoteShuffleService}},
			want: "remoteShuffleService.masterEndpoints is required",
		},
		"grace beyond the spot notice": {
			spec: v1alpha1.SparkProfileSpec{Decommission: &v1alpha1.DecommissionPolicy{ExecutorTerminationGracePeriodSeconds: ptr.To[int64](300)}},
			want: "spec.decommission.executorTerminationGracePeriodSeconds",
		},
		"empty tier": {
			spec: v1alpha1.SparkProfileSpec{Executor: &v1alpha1.ExecutorPolicy{Tiers: []v1alpha1.PlacementTier{{Name: "nothing"}}}},
			want: "a tier needs at least one of architecture, capacityType or matchExpressions",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{GenerateName: "invalid-"}, Spec: tc.spec}
			err := env.Client.Create(ctx, p)
			if err == nil {
				_ = env.Client.Delete(ctx, p)
				t.Fatalf("created; want refusal containing %q", tc.want)
			}
			if !contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func toString(st v1alpha1.SparkProfileStatus) string {
	out := ""
	for _, c := range st.Conditions {
		out += c.Type + "=" + string(c.Status) + "/" + c.Reason + ": " + c.Message + "; "
	}
	return out + " applications=" + itoa(int(st.Applications)) + " observedGeneration=" + itoa(int(st.ObservedGeneration))
}

func itoa(i int) string { return strconv.Itoa(i) }

package sparkprofile_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// imageOperator runs the operator with image platform lookups of timeout,
// reading pull secrets, and records how long each resolution took.
func imageOperator(t *testing.T, timeout time.Duration) (took func(app string) time.Duration) {
	t.Helper()
	var mu sync.Mutex
	durations := map[string]time.Duration{}
	startOperatorWith(t, sparkprofile.ResolverOptions{NodesOnDemand: true, Zones: testZones, Images: sparkprofile.ImageOptions{
		Lookup:          imageplatforms.New(imageplatforms.Options{Timeout: timeout}),
		ReadPullSecrets: true,
	}}, func(app string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		durations[app] = max(durations[app], d)
	})
	return func(app string) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return durations[app]
	}
}

func imageApp(t *testing.T, ns, name, image, prof string, mutate ...func(*v1alpha1.SparkApplication)) {
	t.Helper()
	app := newApplication(ns, name)
	app.Spec.Image = ptr.To(image)
	app.Spec.Profile = prof
	for _, m := range mutate {
		m(app)
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, ns, name string, state v1alpha1.ApplicationState) *v1alpha1.SparkApplication {
	t.Helper()
	var got *v1alpha1.SparkApplication
	testenv.Eventually(t, testenv.Timeout, name+" "+string(state), func() (bool, string) {
		got = getApp(t, ns, name)
		return got.Status.State == state, fmt.Sprintf("state %q conditions %v", got.Status.State, got.Status.Conditions)
	})
	return got
}

// placementOf reads the submitted driver pod's and executor template's node
// affinity, with the registry's address and the zone replaced so the golden
// file holds across runs.
func placementOf(t *testing.T, app *v1alpha1.SparkApplication, host string) []byte {
	t.Helper()
	ctx := context.Background()
	names := submit.NamesFor(app, 1)
	driver := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: names.DriverPod}, driver); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: names.PodTemplateConfigMap}, cm); err != nil {
		t.Fatal(err)
	}
	template := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(cm.Data[submit.PodTemplateKey]), template); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{
		"driverPodNodeAffinity":        driver.Spec.Affinity.NodeAffinity,
		"executorTemplateImage":        template.Spec.Containers[0].Image,
		"executorTemplateNodeAffinity": template.Spec.Affinity.NodeAffinity,
		"statusResolutionImages":       app.Status.Resolution.Images,
		"statusResolutionExcluded":     app.Status.Resolution.ExcludedTiers,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(out), host, "REGISTRY")
	s = strings.ReplaceAll(s, app.Status.Zone, "ZONE")
	return []byte(s)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("differs from %s (-want +got); run go test -update if intended:\n%s", path, diff)
	}
}

// TestImagePlatformsAtSubmission: each image of the in-process registry
// gets the placement its platforms allow, pinned by golden files: a
// two-platform index keeps every tier, an amd64-only image starts at amd64
// Spot, an arm64-only image keeps the arm64 tiers, and an image behind
// basic auth is read with the application's imagePullSecrets.
func TestImagePlatformsAtSubmission(t *testing.T) {
	reg, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	imageOperator(t, imageplatforms.DefaultTimeout)
	prof := installProfile(t, profile.CostOptimized, "itest-images")
	ns := env.Namespace(t)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry-credentials"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: registrytest.DockerConfigJSON(reg.Host)},
	}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		repo    string
		secrets []string
	}{
		"multiarch": {repo: registrytest.MultiArchRepo},
		"amd64":     {repo: registrytest.AMD64Repo},
		"arm64":     {repo: registrytest.ARM64Repo},
		"private":   {repo: registrytest.PrivateRepo, secrets: []string{"registry-credentials"}},
	}
	for name, tc := range cases {
		imageApp(t, ns, name, reg.Image(tc.repo), prof.Name, func(a *v1alpha1.SparkApplication) { a.Spec.ImagePullSecrets = tc.secrets })
	}
	for name := range cases {
		t.Run(name, func(t *testing.T) {
			app := waitState(t, ns, name, v1alpha1.StatePending)
			if c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionImagePlatformsUnknown); c != nil {
				t.Errorf("condition %s = %s %s: %s, want none: the registry answered", c.Type, c.Status, c.Reason, c.Message)
			}
			golden(t, "images-"+name+".golden.yaml", placementOf(t, app, reg.Host))
		})
	}
}

// TestImagePlatformsFleetOneRoundTrip: twenty submissions of one image cost
// the registry what one lookup costs.
func TestImagePlatformsFleetOneRoundTrip(t *testing.T) {
	reg, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	imageOperator(t, imageplatforms.DefaultTimeout)
	prof := installProfile(t, profile.CostOptimized, "itest-fleet")
	ns := env.Namespace(t)
	for i := range 20 {
		// One zone pinned: the zone spread of concurrent submissions is
		// not what this test is about (explain, counting afterwards, would
		// see a different load).
		imageApp(t, ns, fmt.Sprintf("fleet-%02d", i), reg.Image(registrytest.AMD64Repo), prof.Name, func(a *v1alpha1.SparkApplication) {
			a.Spec.NodeSelector = map[string]string{corev1.LabelTopologyZone: testZones[0]}
		})
	}
	for i := range 20 {
		app := waitState(t, ns, fmt.Sprintf("fleet-%02d", i), v1alpha1.StatePending)
		if ex := app.Status.Resolution.ExcludedTiers; len(ex) != 2 {
			t.Errorf("%s excluded tiers %v, want the two arm64 tiers", app.Name, ex)
		}
	}
	fleet := reg.Requests.Load()
	one, err := reg.RequestsOfOneLookup(registrytest.AMD64Repo)
	if err != nil {
		t.Fatal(err)
	}
	if fleet != one {
		t.Errorf("20 submissions cost %d registry requests; one lookup costs %d", fleet, one)
	}
}

// TestImagePlatformsUnknown: a registry that is down, slow or refuses
// never fails or holds a submission: it completes within the timeout plus
// a margin, with the profile's placement and condition
// ImagePlatformsUnknown naming the reason, and an event.
func TestImagePlatformsUnknown(t *testing.T) {
	const timeout = 500 * time.Millisecond
	const margin = 500 * time.Millisecond
	down, err := registrytest.Down()
	if err != nil {
		t.Fatal(err)
	}
	slow, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(slow.Close)
	slow.Delay.Store(int64(10 * time.Second))
	refusing, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refusing.Close)
	refusing.Refuse.Store(true)

	took := imageOperator(t, timeout)
	prof := installProfile(t, profile.CostOptimized, "itest-unknown")
	ns := env.Namespace(t)
	cases := map[string]struct {
		image  string
		reason imageplatforms.Reason
	}{
		"down": {image: down + "/" + registrytest.AMD64Repo, reason: imageplatforms.ReasonUnreachable},
		"slow": {image: slow.Image(registrytest.AMD64Repo), reason: imageplatforms.ReasonTimeout},
		"401":  {image: refusing.Image(registrytest.AMD64Repo), reason: imageplatforms.ReasonUnauthorized},
	}
	for name, tc := range cases {
		imageApp(t, ns, "registry-"+name, tc.image, prof.Name)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := waitState(t, ns, "registry-"+name, v1alpha1.StatePending)
			if d := took(app.Name); d > timeout+margin {
				t.Errorf("resolution took %s, want at most the timeout %s plus %s", d, timeout, margin)
			}
			c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionImagePlatformsUnknown)
			if c == nil || c.Status != metav1.ConditionTrue || c.Reason != string(tc.reason) || !strings.Contains(c.Message, tc.image) {
				t.Fatalf("condition ImagePlatformsUnknown = %+v, want True %s naming %s", c, tc.reason, tc.image)
			}
			if ex := app.Status.Resolution.ExcludedTiers; len(ex) != 0 {
				t.Errorf("excluded tiers %v with unknown platforms, want the profile's placement unchanged", ex)
			}
			testenv.Eventually(t, testenv.Timeout, "the ImagePlatformsUnknown event", func() (bool, string) {
				events := &eventsv1.EventList{}
				if err := env.Client.List(context.Background(), events, client.InNamespace(ns)); err != nil {
					return false, err.Error()
				}
				for _, e := range events.Items {
					if e.Regarding.UID == app.UID && e.Reason == sparkprofile.ReasonImagePlatformsUnknown && strings.Contains(e.Note, string(tc.reason)) {
						return true, ""
					}
				}
				return false, fmt.Sprintf("%d events, none ImagePlatformsUnknown for %s", len(events.Items), app.Name)
			})
		})
	}
}

// TestImagePlatformMismatchFails: an image no tier can run fails the
// application at once, naming the image, its platforms and the tiers, and
// creates nothing.
func TestImagePlatformMismatchFails(t *testing.T) {
	reg, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	imageOperator(t, imageplatforms.DefaultTimeout)
	prof := installProfile(t, profile.CostOptimized, "itest-mismatch")
	ns := env.Namespace(t)
	imageApp(t, ns, "s390x", reg.Image(registrytest.S390XRepo), prof.Name)
	app := waitState(t, ns, "s390x", v1alpha1.StateFailed)
	c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionAccepted)
	if c == nil || c.Reason != v1alpha1.ReasonImagePlatformMismatch {
		t.Fatalf("Accepted = %+v, want False ImagePlatformMismatch", c)
	}
	for _, want := range []string{reg.Image(registrytest.S390XRepo), "[linux/s390x]", "arm64-spot (arm64)", "amd64-on-demand (amd64)", "itest-mismatch"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("message lacks %q: %s", want, c.Message)
		}
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(context.Background(), pods, client.InNamespace(ns)); err != nil || len(pods.Items) != 0 {
		t.Errorf("pods after the failure: %d (%v), want none", len(pods.Items), err)
	}
}

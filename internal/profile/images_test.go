package profile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func imageOf(platforms ...string) []v1alpha1.ImagePlatforms {
	return []v1alpha1.ImagePlatforms{{
		Roles: []string{RoleDriver, RoleExecutor}, Image: "registry.example/spark:3.5.3",
		Digest: "sha256:0123", Platforms: platforms,
	}}
}

func archOf(terms []corev1.NodeSelectorTerm) []string {
	for _, t := range terms {
		for _, e := range t.MatchExpressions {
			if e.Key == corev1.LabelArchStable {
				return e.Values
			}
		}
	}
	return nil
}

func tierNames(res ResolveResult) []string {
	var out []string
	for _, s := range res.Settings {
		if strings.HasPrefix(s.Field, "spec.executor.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[") {
			out = append(out, s.Value[strings.Index(s.Value, ": ")+2:strings.Index(s.Value, " (")])
		}
	}
	return out
}

// TestImagePlatformsNarrowPlacement: the executor tiers and both pods'
// required architectures follow the image's platforms; unknown platforms
// leave the profile's placement as it is.
func TestImagePlatformsNarrowPlacement(t *testing.T) {
	cases := map[string]struct {
		images       []v1alpha1.ImagePlatforms
		wantArch     []string
		wantTiers    []string
		wantExcluded []string
	}{
		"not looked up": {wantTiers: []string{"arm64-spot", "amd64-spot", "arm64-on-demand", "amd64-on-demand"}},
		"unknown": {
			images:    []v1alpha1.ImagePlatforms{{Roles: []string{RoleDriver, RoleExecutor}, Image: "r/spark", UnknownReason: "RegistryTimeout", Message: "no answer within 2s"}},
			wantTiers: []string{"arm64-spot", "amd64-spot", "arm64-on-demand", "amd64-on-demand"},
		},
		"two platforms": {
			images: imageOf("linux/amd64", "linux/arm64"), wantArch: []string{"arm64", "amd64"},
			wantTiers: []string{"arm64-spot", "amd64-spot", "arm64-on-demand", "amd64-on-demand"},
		},
		"amd64 only": {
			images: imageOf("linux/amd64"), wantArch: []string{"amd64"},
			wantTiers: []string{"amd64-spot", "amd64-on-demand"}, wantExcluded: []string{"arm64-spot", "arm64-on-demand"},
		},
		"arm64 only, with a windows manifest": {
			images: imageOf("linux/arm64/v8", "windows/amd64"), wantArch: []string{"arm64"},
			wantTiers: []string{"arm64-spot", "arm64-on-demand"}, wantExcluded: []string{"amd64-spot", "amd64-on-demand"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := Resolve(ResolveInput{Application: newApp(), Profiles: installed(1), Zones: threeZones, Images: tc.images})
			if err != nil {
				t.Fatal(err)
			}
			spec := res.Application.Spec
			for role, pod := range map[string]v1alpha1.SparkPodSpec{RoleDriver: spec.Driver.SparkPodSpec, RoleExecutor: spec.Executor.SparkPodSpec} {
				got := archOf(pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms)
				if diff := cmp.Diff(tc.wantArch, got); diff != "" {
					t.Errorf("%s required kubernetes.io/arch (-want +got):\n%s", role, diff)
				}
			}
			if diff := cmp.Diff(tc.wantTiers, tierNames(res)); diff != "" {
				t.Errorf("executor tiers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantExcluded, res.ExcludedTiers); diff != "" {
				t.Errorf("excluded tiers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.images, res.Resolution().Images); diff != "" {
				t.Errorf("status.resolution.images (-want +got):\n%s", diff)
			}
			if tc.wantExcluded != nil {
				w := TierWeights(len(tc.wantTiers))
				if got := spec.Executor.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight; got != w[0] {
					t.Errorf("first remaining tier weight %d, want %d (the best tier left leads)", got, w[0])
				}
			}
		})
	}
}

// TestImagePlatformGolden pins the effective application and provenance of
// an amd64-only image under cost-optimized.
func TestImagePlatformGolden(t *testing.T) {
	app := newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = CostOptimized })
	res, err := Resolve(ResolveInput{Application: app, Profiles: installed(3), Zones: threeZones, Images: imageOf("linux/amd64")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(struct {
		Result   ResolveResult        `json:"result"`
		Driver   *corev1.Affinity     `json:"driverAffinity"`
		Executor *corev1.Affinity     `json:"executorAffinity"`
		Res      *v1alpha1.Resolution `json:"resolution"`
	}{Result: res, Driver: res.Application.Spec.Driver.Affinity, Executor: res.Application.Spec.Executor.Affinity, Res: res.Resolution()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "amd64-only-image.golden.json", got)
}

// TestImagePlatformMismatch: an image with no platform the profile offers
// fails resolution with a message naming the image, its platforms and the
// tiers.
func TestImagePlatformMismatch(t *testing.T) {
	cases := map[string]struct {
		mutate []func(*v1alpha1.SparkApplication)
		images []v1alpha1.ImagePlatforms
		want   []string
	}{
		"s390x image": {
			images: imageOf("linux/s390x"),
			want: []string{"image registry.example/spark:3.5.3 (executor) is built for [linux/s390x] only",
				"image registry.example/spark:3.5.3 (driver)", "profile cost-optimized",
				"arm64-spot (arm64), amd64-spot (amd64), arm64-on-demand (arm64), amd64-on-demand (amd64)",
				"--platform linux/arm64,linux/amd64", "a tier for s390x"},
		},
		"pin the image lacks": {
			mutate: []func(*v1alpha1.SparkApplication){func(a *v1alpha1.SparkApplication) {
				a.Spec.Executor.NodeSelector = map[string]string{corev1.LabelArchStable: "arm64"}
			}},
			images: imageOf("linux/amd64"),
			want:   []string{"(executor) is built for [linux/amd64] only", "spec.executor.nodeSelector[kubernetes.io/arch]=arm64"},
		},
		"windows only": {
			images: imageOf("windows/amd64"),
			want:   []string{"is built for [windows/amd64] only"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := newApp(append([]func(*v1alpha1.SparkApplication){func(a *v1alpha1.SparkApplication) { a.Spec.Profile = CostOptimized }}, tc.mutate...)...)
			_, err := Resolve(ResolveInput{Application: app, Profiles: installed(1), Zones: threeZones, Images: tc.images})
			var e *ImagePlatformError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *ImagePlatformError", err)
			}
			if e.RejectionReason() != v1alpha1.ReasonImagePlatformMismatch {
				t.Errorf("reason %s", e.RejectionReason())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

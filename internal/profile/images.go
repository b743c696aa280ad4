package profile

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Roles of the pods an image runs in (v1alpha1.ImagePlatforms.Roles).
const (
	RoleDriver   = "driver"
	RoleExecutor = "executor"
)

// SourceImage: a setting narrowed to the architectures an image has.
const SourceImage SourceKind = "image"

// ImagePlatformError says an image has no platform the profile offers: the
// application fails at submission instead of executors dying with exec
// format error on nodes bought for them.
type ImagePlatformError struct {
	Mismatches []string
}

func (e *ImagePlatformError) Error() string {
	return strings.Join(e.Mismatches, "; ")
}

// RejectionReason: no tier fits the image.
func (e *ImagePlatformError) RejectionReason() string { return v1alpha1.ReasonImagePlatformMismatch }

// imageFor returns the known platforms of role's image, or nil when they
// are unknown (not looked up, or the registry did not answer).
func (r *resolver) imageFor(role string) *v1alpha1.ImagePlatforms {
	for i := range r.images {
		img := &r.images[i]
		if slices.Contains(img.Roles, role) && img.UnknownReason == "" && len(img.Platforms) > 0 {
			return img
		}
	}
	return nil
}

func imageSource(img *v1alpha1.ImagePlatforms) Source {
	ref := img.Image
	if img.Digest != "" {
		ref += "@" + img.Digest
	}
	return Source{Kind: SourceImage, Image: ref}
}

// offeredArchitectures are the architectures pods may run on by the
// policy: its architectures when set, else those of its executor tiers;
// nil means any (no tiers, or a tier of any architecture).
func (r *resolver) offeredArchitectures() []string {
	p := r.pol
	if len(p.architectures.v) > 0 {
		return p.architectures.v
	}
	var out []string
	for _, t := range p.tiers.v {
		if t.Architecture == "" {
			return nil
		}
		if !slices.Contains(out, t.Architecture) {
			out = append(out, t.Architecture)
		}
	}
	return out
}

// mismatch records an image that cannot run where the policy places role.
func (r *resolver) mismatch(img *v1alpha1.ImagePlatforms, role, offer, fix string) {
	msg := fmt.Sprintf("image %s (%s) is built for [%s] only, but %s offers %s: %s",
		img.Image, role, strings.Join(img.Platforms, " "), r.layerName(), offer, fix)
	if !slices.Contains(r.imageMismatches, msg) {
		r.imageMismatches = append(r.imageMismatches, msg)
	}
}

func (r *resolver) layerName() string {
	if r.profile == "" {
		return "the built-in default"
	}
	return "profile " + r.profile
}

// archRequirement is the kubernetes.io/arch requirement of role's pods: the
// policy's architectures narrowed to what role's image has. ok is false
// when there is none to add.
func (r *resolver) archRequirement(role string) (req requiredExpression, ok bool) {
	p := r.pol
	img := r.imageFor(role)
	if img == nil {
		if len(p.architectures.v) == 0 {
			return requiredExpression{}, false
		}
		return requiredExpression{
			req: corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: p.architectures.v},
			src: p.architectures.src, policy: "executor.architectures",
		}, true
	}
	has := img.Architectures()
	values := has
	policy := "the image's platforms"
	if offered := r.offeredArchitectures(); offered != nil {
		values = nil
		for _, a := range offered {
			if slices.Contains(has, a) {
				values = append(values, a)
			}
		}
		policy = "the image's platforms within the executor tiers' architectures [" + strings.Join(offered, " ") + "]"
		if len(p.architectures.v) > 0 {
			policy = "the image's platforms within executor.architectures [" + strings.Join(offered, " ") + "]"
		}
		if len(values) == 0 {
			r.mismatch(img, role, "architectures ["+strings.Join(offered, " ")+"] (executor tiers "+r.tierList()+")",
				"build the image for one of them too (e.g. docker buildx build --platform "+platformList(offered)+"), or pick a profile with a tier for "+strings.Join(has, " or "))
			return requiredExpression{}, false
		}
	}
	for _, pn := range r.pins(corev1.LabelArchStable, role) {
		if !slices.Contains(has, pn.value) {
			r.mismatch(img, role, pn.field+"="+pn.value+" (the application's pin)",
				"remove the pin, pin one of ["+strings.Join(has, " ")+"], or build the image for "+pn.value)
		}
	}
	return requiredExpression{
		req: corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: values},
		src: imageSource(img), policy: policy,
	}, true
}

// imageTiers leaves out the executor tiers whose architecture the executor
// image lacks; they are recorded in excludedTiers.
func (r *resolver) imageTiers(tiers []v1alpha1.PlacementTier) []v1alpha1.PlacementTier {
	img := r.imageFor(RoleExecutor)
	if img == nil {
		return tiers
	}
	has := img.Architectures()
	var kept []v1alpha1.PlacementTier
	for _, t := range tiers {
		if t.Architecture != "" && !slices.Contains(has, t.Architecture) {
			r.excludedTiers = append(r.excludedTiers, t.Name)
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 && len(tiers) > 0 {
		r.mismatch(img, RoleExecutor, "executor tiers "+r.tierList(),
			"build the image for one of their architectures too (e.g. docker buildx build --platform "+platformList(r.offeredArchitectures())+"), or pick a profile with a tier for "+strings.Join(has, " or "))
	}
	return kept
}

func (r *resolver) tierList() string {
	names := make([]string, len(r.pol.tiers.v))
	for i, t := range r.pol.tiers.v {
		arch := t.Architecture
		if arch == "" {
			arch = "any"
		}
		names[i] = t.Name + " (" + arch + ")"
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func platformList(arches []string) string {
	out := make([]string, len(arches))
	for i, a := range arches {
		out[i] = "linux/" + a
	}
	return strings.Join(out, ",")
}

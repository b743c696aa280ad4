package profile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// ResolveInput is everything resolution looks at.
type ResolveInput struct {
	// Application as the user wrote it. It is not modified.
	Application *v1alpha1.SparkApplication
	// NamespaceAnnotations are the annotations of the application's namespace
	// (sparkplane.io/default-profile names its default profile).
	NamespaceAnnotations map[string]string
	// Profiles are all SparkProfiles that exist.
	Profiles []v1alpha1.SparkProfile
	// Builtin is the built-in layer; nil means BuiltinDefaults().
	Builtin *v1alpha1.SparkProfileSpec
	// Zones is what is known about zones and free capacity.
	Zones ZoneInput
	// PriorityClassExists, when set, says whether a PriorityClass exists. A
	// profile's priority class that does not exist is then left unset (with
	// a warning) instead of making the API server refuse every pod; an
	// application's own priority class is always kept.
	PriorityClassExists func(name string) bool
	// Images are the driver's and the executors' images with the platforms
	// their registry gave (nil: not looked up). Placement is narrowed to
	// the architectures an image has; an image whose platforms are unknown
	// leaves the policy's placement unchanged.
	Images []v1alpha1.ImagePlatforms
}

// ResolveResult is the effective application and how it came about.
type ResolveResult struct {
	// Application is the effective application: the profile's placement,
	// storage and interruption policy written as ordinary spec fields.
	Application *v1alpha1.SparkApplication `json:"-"`
	// Profile is the profile resolved from (name and generation); nil when the
	// application got the built-in defaults only.
	Profile *v1alpha1.ProfileReference `json:"profile,omitempty"`
	// ProfileVia says how the profile was picked (see Select).
	ProfileVia string `json:"profileVia,omitempty"`
	// Zone is the zone driver and executors are pinned to; "" when none.
	Zone string `json:"zone,omitempty"`
	// ZoneReason says why that zone (or why none).
	ZoneReason string `json:"zoneReason"`
	// ZoneScores are the zones compared, best first; nil when there was no
	// choice to make.
	ZoneScores []v1alpha1.ZoneScore `json:"zoneScores,omitempty"`
	// Settings are the effective settings resolution decided or kept, with
	// their sources, sorted by field.
	Settings []Setting `json:"settings"`
	// Warnings are policy settings resolution had to leave out, and why.
	Warnings []string `json:"warnings,omitempty"`
	// Images are ResolveInput.Images, as recorded in status.resolution.
	Images []v1alpha1.ImagePlatforms `json:"images,omitempty"`
	// ExcludedTiers are executor tiers left out because the executor image
	// lacks their architecture.
	ExcludedTiers []string `json:"excludedTiers,omitempty"`
}

// Resolve picks the application's profile and computes the effective
// application: built-in defaults < profile < the application's own fields.
// Errors: *NotFoundError (the named profile does not exist),
// *AmbiguousDefaultError, *ConflictError (application fields that contradict
// the profile, each named), *ImagePlatformError (an image with no platform
// the profile offers).
func Resolve(in ResolveInput) (ResolveResult, error) {
	sel, err := Select(in.Application, in.NamespaceAnnotations, in.Profiles)
	if err != nil {
		return ResolveResult{}, err
	}
	builtin := BuiltinDefaults()
	if in.Builtin != nil {
		builtin = *in.Builtin
	}
	src := builtinSource
	var spec v1alpha1.SparkProfileSpec
	result := ResolveResult{ProfileVia: sel.Via}
	profileName := ""
	if sel.Profile != nil {
		profileName = sel.Profile.Name
		src = Source{Kind: SourceProfile, Profile: sel.Profile.Name, Generation: sel.Profile.Generation}
		spec = sel.Profile.Spec
		result.Profile = &v1alpha1.ProfileReference{Name: sel.Profile.Name, Generation: sel.Profile.Generation}
	}
	r := &resolver{
		priorityClassExists: in.PriorityClassExists,
		app:                 in.Application.DeepCopy(),
		ownSparkConf:        in.Application.Spec.SparkConf,
		pol:                 mergePolicy(builtin, spec, src),
		prov:                newProvenance(),
		profile:             profileName,
		images:              in.Images,
	}
	r.resolve(in.Zones)
	if len(r.conflicts) > 0 {
		return ResolveResult{}, &ConflictError{Profile: profileName, Conflicts: r.conflicts}
	}
	if len(r.imageMismatches) > 0 {
		return ResolveResult{}, &ImagePlatformError{Mismatches: r.imageMismatches}
	}
	result.Application = r.app
	result.Zone, result.ZoneReason, result.ZoneScores = r.zone.zone, r.zone.reason, r.zone.scores
	result.Settings = r.prov.settings()
	result.Warnings = r.warnings
	result.Images = in.Images
	result.ExcludedTiers = r.excludedTiers
	return result, nil
}

// resolver carries one resolution.
type resolver struct {
	app       *v1alpha1.SparkApplication
	pol       policy
	prov      *provenance
	profile   string
	conflicts []Conflict
	zone      zoneChoice
	// ownSparkConf is the application's own sparkConf, as written.
	ownSparkConf        map[string]string
	priorityClassExists func(string) bool
	warnings            []string
	// images are the images' platforms; excludedTiers and
	// imageMismatches what they ruled out.
	images          []v1alpha1.ImagePlatforms
	excludedTiers   []string
	imageMismatches []string
}

// policyName names a policy field with the layer it came from, for
// conflict messages: "profile cost-optimized executor.architectures=[arm64]".
func (r *resolver) policyName(src Source, field, value string) string {
	layer := "the built-in default"
	if src.Kind == SourceProfile {
		layer = "profile " + src.Profile
	}
	return fmt.Sprintf("%s %s=%s", layer, field, value)
}

func (r *resolver) conflict(field, value string, src Source, policyField, policyValue, fix string) {
	c := Conflict{Field: field, Value: value, Policy: r.policyName(src, policyField, policyValue), Fix: fix}
	for _, seen := range r.conflicts {
		if seen == c {
			return // spec.nodeSelector pins driver and executors alike
		}
	}
	r.conflicts = append(r.conflicts, c)
}

func (r *resolver) hasConflict(field string) bool {
	for _, c := range r.conflicts {
		if c.Field == field {
			return true
		}
	}
	return false
}

// pin is a value an application fixes for a node label, and where.
type pin struct {
	value, field string
}

// pins finds the values the application fixes for a node label key, in the
// node selectors and single-valued In requirements of the required node
// affinity of the pod kind ("driver" or "executor").
func (r *resolver) pins(key, role string) []pin {
	spec := &r.app.Spec
	pod := &spec.Driver.SparkPodSpec
	if role == "executor" {
		pod = &spec.Executor.SparkPodSpec
	}
	var out []pin
	if v, ok := spec.NodeSelector[key]; ok {
		out = append(out, pin{v, fmt.Sprintf("spec.nodeSelector[%s]", key)})
	}
	if v, ok := pod.NodeSelector[key]; ok {
		out = append(out, pin{v, fmt.Sprintf("spec.%s.nodeSelector[%s]", role, key)})
	}
	if a := pod.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for i, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				if e.Key == key && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
					out = append(out, pin{e.Values[0], fmt.Sprintf("spec.%s.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[%d][%s]", role, i, key)})
				}
			}
		}
	}
	return out
}

func (r *resolver) resolve(zones ZoneInput) {
	p := r.pol
	spec := &r.app.Spec

	// Architectures: pins must be allowed; executor tiers narrow to the pin.
	archList := "[" + strings.Join(p.architectures.v, " ") + "]"
	executorArch := r.pins(corev1.LabelArchStable, "executor")
	for _, role := range []string{"driver", "executor"} {
		for _, pn := range r.pins(corev1.LabelArchStable, role) {
			if len(p.architectures.v) > 0 && !contains(p.architectures.v, pn.value) {
				r.conflict(pn.field, pn.value, p.architectures.src, "executor.architectures", archList,
					fmt.Sprintf("build a multi-arch image and remove the pin, or pick a profile that allows %s", pn.value))
			}
		}
	}
	executorCapacity := r.pins(karpv1.CapacityTypeLabelKey, "executor")
	tiers := r.imageTiers(r.effectiveTiers(executorArch, executorCapacity))

	// Driver capacity type: the application may not contradict it.
	ct := p.driverCapacityType
	for _, pn := range r.pins(karpv1.CapacityTypeLabelKey, "driver") {
		if ct.v != "" && pn.value != ct.v {
			r.conflict(pn.field, pn.value, ct.src, "driver.capacityType", ct.v,
				fmt.Sprintf("remove it (drivers run on %s capacity so an interruption never kills the whole application), or pick a profile whose driver.capacityType is %s", ct.v, pn.value))
		}
	}

	// Shuffle storage, decommissioning and the profile's sparkConf.
	var conf []confEntry
	conf = append(conf, storageConf(p.storage.v, p.storage.src)...)
	conf = append(conf, decommissionConf(p)...)
	for _, k := range sortedKeys(p.sparkConf) {
		conf = append(conf, confEntry{key: k, value: p.sparkConf[k].v, src: p.sparkConf[k].src, policy: "defaults.sparkConf"})
	}
	r.applySparkConf(conf)

	// Executor node selector for local NVMe.
	if p.storage.v.Type == v1alpha1.ShuffleLocalNVMe {
		for _, k := range sortedKeys(p.storage.v.LocalNVMe.NodeSelector) {
			field := fmt.Sprintf("spec.executor.nodeSelector[%s]", k)
			if v, ok := spec.Executor.NodeSelector[k]; ok {
				r.prov.record(field, v, applicationSource, "")
				continue
			}
			if spec.Executor.NodeSelector == nil {
				spec.Executor.NodeSelector = map[string]string{}
			}
			spec.Executor.NodeSelector[k] = p.storage.v.LocalNVMe.NodeSelector[k]
			r.prov.record(field, spec.Executor.NodeSelector[k], p.storage.src, "shuffleStorage.localNVMe.nodeSelector")
		}
	}

	// Tolerations, priority, grace period, do-not-disrupt.
	spec.Driver.Tolerations = r.mergeTolerations("spec.driver.tolerations", spec.Driver.Tolerations, p.driverTolerations, "driver.tolerations")
	spec.Executor.Tolerations = r.mergeTolerations("spec.executor.tolerations", spec.Executor.Tolerations, p.executorTolerations, "executor.tolerations")
	spec.Driver.PriorityClassName = r.priorityClass("spec.driver.priorityClassName", spec.Driver.PriorityClassName, p.driverPriority, "driver.priorityClassName")
	spec.Executor.PriorityClassName = r.priorityClass("spec.executor.priorityClassName", spec.Executor.PriorityClassName, p.executorPriority, "executor.priorityClassName")
	spec.Driver.ServiceAccount = r.stringField("spec.driver.serviceAccount", spec.Driver.ServiceAccount, p.driverAccount, "driver.serviceAccountName")
	if spec.Executor.TerminationGracePeriodSeconds != nil {
		r.prov.record("spec.executor.terminationGracePeriodSeconds", strconv.FormatInt(*spec.Executor.TerminationGracePeriodSeconds, 10), applicationSource, "")
	} else {
		spec.Executor.TerminationGracePeriodSeconds = ptr.To(p.executorGracePeriod.v)
		r.prov.record("spec.executor.terminationGracePeriodSeconds", strconv.FormatInt(p.executorGracePeriod.v, 10), p.executorGracePeriod.src, "decommission.executorTerminationGracePeriodSeconds")
	}
	driverAnnotations := map[string]layered[string]{}
	if p.doNotDisrupt.v {
		driverAnnotations[karpv1.DoNotDisruptAnnotationKey] = layered[string]{v: "true", src: p.doNotDisrupt.src}
	}
	for k, v := range p.annotations {
		driverAnnotations[k] = v
	}
	spec.Driver.Annotations = r.mergeMap("spec.driver.annotations", spec.Driver.Annotations, driverAnnotations, "defaults.annotations")
	spec.Executor.Annotations = r.mergeMap("spec.executor.annotations", spec.Executor.Annotations, p.annotations, "defaults.annotations")
	spec.Driver.Labels = r.mergeMap("spec.driver.labels", spec.Driver.Labels, p.labels, "defaults.labels")
	spec.Executor.Labels = r.mergeMap("spec.executor.labels", spec.Executor.Labels, p.labels, "defaults.labels")

	r.applyDynamicAllocation()

	// Zone, then node affinity.
	r.chooseZone(zones, tiers)
	r.driverAffinity()
	r.executorAffinity(tiers)
}

// effectiveTiers narrows the policy's tiers to the application's pins and
// the allowed architectures.
func (r *resolver) effectiveTiers(archPins, capacityPins []pin) []v1alpha1.PlacementTier {
	p := r.pol
	var tiers []v1alpha1.PlacementTier
	for _, t := range p.tiers.v {
		if len(p.architectures.v) > 0 && t.Architecture != "" && !contains(p.architectures.v, t.Architecture) {
			continue
		}
		ok := true
		for _, pn := range archPins {
			ok = ok && (t.Architecture == "" || t.Architecture == pn.value)
		}
		for _, pn := range capacityPins {
			ok = ok && (t.CapacityType == "" || t.CapacityType == pn.value)
		}
		if ok {
			tiers = append(tiers, t)
		}
	}
	if len(tiers) == 0 && len(p.tiers.v) > 0 {
		names := make([]string, len(p.tiers.v))
		for i, t := range p.tiers.v {
			names[i] = t.Name
		}
		var pinned []pin
		pinned = append(append(pinned, archPins...), capacityPins...)
		if len(pinned) == 0 {
			r.conflict("spec.profile", r.profile, p.architectures.src, "executor.architectures", "["+strings.Join(p.architectures.v, " ")+"]",
				"the profile allows no architecture its executor tiers use; fix the profile's executor.tiers or executor.architectures")
			return nil
		}
		for _, pn := range pinned {
			if r.hasConflict(pn.field) {
				continue // already named for the architecture
			}
			r.conflict(pn.field, pn.value, p.tiers.src, "executor.tiers", "["+strings.Join(names, " ")+"]",
				"no executor tier allows it; remove the pin or pick a profile with a tier for it")
		}
	}
	return tiers
}

// applySparkConf writes policy entries under the application's own keys.
func (r *resolver) applySparkConf(entries []confEntry) {
	spec := &r.app.Spec
	own := map[string]bool{}
	for k, v := range spec.SparkConf {
		own[k] = true
		r.prov.record(confField(k), v, applicationSource, "")
	}
	for _, e := range entries {
		if own[e.key] {
			continue
		}
		if spec.SparkConf == nil {
			spec.SparkConf = map[string]string{}
		}
		spec.SparkConf[e.key] = e.value
		r.prov.record(confField(e.key), e.value, e.src, e.policy)
	}
}

func confField(key string) string { return "spec.sparkConf[" + key + "]" }

// mergeMap adds policy entries to an application map without overriding
// the application's keys.
func (r *resolver) mergeMap(field string, own map[string]string, add map[string]layered[string], policy string) map[string]string {
	for _, k := range sortedKeys(own) {
		r.prov.record(fmt.Sprintf("%s[%s]", field, k), own[k], applicationSource, "")
	}
	for _, k := range sortedKeys(add) {
		if _, ok := own[k]; ok {
			continue
		}
		if own == nil {
			own = map[string]string{}
		}
		own[k] = add[k].v
		pol := policy
		if k == karpv1.DoNotDisruptAnnotationKey {
			pol = "driver.doNotDisrupt"
		}
		r.prov.record(fmt.Sprintf("%s[%s]", field, k), add[k].v, add[k].src, pol)
	}
	return own
}

// priorityClass is stringField for a priority class the cluster may lack.
func (r *resolver) priorityClass(field string, own *string, pol layered[string], policy string) *string {
	if own == nil && pol.v != "" && r.priorityClassExists != nil && !r.priorityClassExists(pol.v) {
		r.warnings = append(r.warnings, fmt.Sprintf("%s: PriorityClass %s (%s) does not exist, so it is not set; install it (sparkplane platform render writes it)", field, pol.v, policy))
		r.prov.record(field, "", pol.src, policy+" (PriorityClass "+pol.v+" missing)")
		return nil
	}
	return r.stringField(field, own, pol, policy)
}

func (r *resolver) stringField(field string, own *string, pol layered[string], policy string) *string {
	if own != nil {
		r.prov.record(field, *own, applicationSource, "")
		return own
	}
	if pol.v == "" {
		return nil
	}
	r.prov.record(field, pol.v, pol.src, policy)
	return ptr.To(pol.v)
}

// mergeTolerations keeps the application's tolerations and adds the
// policy's that the application does not already have.
func (r *resolver) mergeTolerations(field string, own []corev1.Toleration, pol layered[[]corev1.Toleration], policy string) []corev1.Toleration {
	out := append([]corev1.Toleration(nil), own...)
	for _, t := range own {
		r.prov.record(tolerationField(field, t), formatToleration(t), applicationSource, "")
	}
	for _, t := range pol.v {
		dup := false
		for i := range own {
			if own[i].MatchToleration(&t) {
				dup = true
			}
		}
		if dup {
			continue
		}
		out = append(out, t)
		r.prov.record(tolerationField(field, t), formatToleration(t), pol.src, policy)
	}
	return out
}

func tolerationField(field string, t corev1.Toleration) string {
	key := t.Key
	if key == "" {
		key = "*"
	}
	return fmt.Sprintf("%s[%s]", field, key)
}

func formatToleration(t corev1.Toleration) string {
	s := t.Key
	if t.Operator == corev1.TolerationOpExists {
		s += " Exists"
	} else {
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	return s
}

// applyDynamicAllocation fills spec.dynamicAllocation from the policy where
// the application leaves it unset.
func (r *resolver) applyDynamicAllocation() {
	p := r.pol
	spec := &r.app.Spec
	const field = "spec.dynamicAllocation."
	// Submission lets the typed fields win over sparkConf, so a key the
	// application sets in its sparkConf keeps the typed field unset here.
	ownConf := func(key string) bool { _, ok := r.ownSparkConf[key]; return ok }
	if spec.DynamicAllocation == nil && ownConf("spark.dynamicAllocation.enabled") {
		return
	}
	da := spec.DynamicAllocation
	// bound is set when the profile, not the application, turned dynamic
	// allocation on: then the executors the application asked for cap it.
	var bound *executorBound
	if da == nil {
		if p.daEnabled.v == nil || !*p.daEnabled.v {
			if p.daEnabled.v != nil {
				r.prov.record(field+"enabled", "false", p.daEnabled.src, "defaults.dynamicAllocation.enabled")
			}
			return
		}
		b := r.askedExecutors()
		if b.n == 0 {
			// Spark refuses maxExecutors=0: without executors there is
			// nothing to allocate dynamically.
			r.prov.record(field+"enabled", "false", b.src, r.boundPolicy(b, "enabled", layered[*int32]{})+"; dynamic allocation needs at least one executor")
			return
		}
		bound = &b
		da = &v1alpha1.DynamicAllocation{Enabled: true}
		spec.DynamicAllocation = da
		r.prov.record(field+"enabled", "true", p.daEnabled.src, "defaults.dynamicAllocation.enabled")
	} else {
		r.prov.record(field+"enabled", strconv.FormatBool(da.Enabled), applicationSource, "")
	}
	fillBool := func(name string, own **bool, pol layered[*bool]) {
		switch {
		case *own == nil && ownConf(daConfKeys[name]):
		case *own != nil:
			r.prov.record(field+name, strconv.FormatBool(**own), applicationSource, "")
		case pol.v != nil:
			*own = ptr.To(*pol.v)
			r.prov.record(field+name, strconv.FormatBool(*pol.v), pol.src, "defaults.dynamicAllocation."+name)
		}
	}
	fillInt := func(name string, own **int32, pol layered[*int32]) {
		switch {
		case *own == nil && ownConf(daConfKeys[name]):
		case *own != nil:
			r.prov.record(field+name, strconv.Itoa(int(**own)), applicationSource, "")
		case bound != nil && (name == "maxExecutors" || (pol.v != nil && *pol.v > bound.n)):
			// A profile may change where and how executors run, never how
			// many: its dynamic allocation stays within what the
			// application asked for.
			*own = ptr.To(bound.n)
			r.prov.record(field+name, strconv.Itoa(int(bound.n)), bound.src, r.boundPolicy(*bound, name, pol))
		case pol.v != nil:
			*own = ptr.To(*pol.v)
			r.prov.record(field+name, strconv.Itoa(int(*pol.v)), pol.src, "defaults.dynamicAllocation."+name)
		}
	}
	fillBool("shuffleTrackingEnabled", &da.ShuffleTrackingEnabled, p.daShuffleTracking)
	fillInt("initialExecutors", &da.InitialExecutors, p.daInitial)
	fillInt("minExecutors", &da.MinExecutors, p.daMin)
	fillInt("maxExecutors", &da.MaxExecutors, p.daMax)
	if da.MinExecutors != nil && da.MaxExecutors != nil && *da.MinExecutors > *da.MaxExecutors {
		// The application set one bound and the profile the other.
		r.conflicts = append(r.conflicts, Conflict{
			Field:  "spec.dynamicAllocation.minExecutors",
			Value:  strconv.Itoa(int(*da.MinExecutors)),
			Policy: fmt.Sprintf("effective spec.dynamicAllocation.maxExecutors=%d", *da.MaxExecutors),
			Fix:    "set spec.dynamicAllocation.maxExecutors too, at least minExecutors",
		})
	}
}

// sparkDefaultExecutorInstances is spark.executor.instances' default.
const sparkDefaultExecutorInstances = 2

// executorBound is how many executors an application asked for, and where
// that number is written.
type executorBound struct {
	n int32
	// from names the field: spec.executor.instances,
	// spec.sparkConf[spark.executor.instances] or Spark's default.
	from string
	src  Source
}

// askedExecutors is the number of executors the application asked for:
// spec.executor.instances, else its own sparkConf's spark.executor.instances,
// else Spark's default of 2.
func (r *resolver) askedExecutors() executorBound {
	if n := r.app.Spec.Executor.Instances; n != nil {
		return executorBound{n: *n, from: "spec.executor.instances", src: applicationSource}
	}
	if v, ok := r.ownSparkConf["spark.executor.instances"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil && n >= 0 {
			return executorBound{n: int32(n), from: "spec.sparkConf[spark.executor.instances]", src: applicationSource}
		}
	}
	return executorBound{n: sparkDefaultExecutorInstances, from: "Spark's default spark.executor.instances", src: builtinSource}
}

// boundPolicy says why a dynamic-allocation field holds the bound, for
// explain: "bound: spec.executor.instances=4, the executors the application
// asked for; profile cost-optimized defaults.dynamicAllocation.maxExecutors=100
// is not applied".
func (r *resolver) boundPolicy(b executorBound, name string, pol layered[*int32]) string {
	s := fmt.Sprintf("bound: %s=%d, the executors the application asked for", b.from, b.n)
	if pol.v != nil && *pol.v != b.n {
		s += "; " + r.policyName(pol.src, "defaults.dynamicAllocation."+name, strconv.Itoa(int(*pol.v))) + " is not applied"
	}
	return s
}

// daConfKeys are the sparkConf keys of the typed dynamicAllocation fields.
var daConfKeys = map[string]string{
	"shuffleTrackingEnabled": "spark.dynamicAllocation.shuffleTracking.enabled",
	"initialExecutors":       "spark.dynamicAllocation.initialExecutors",
	"minExecutors":           "spark.dynamicAllocation.minExecutors",
	"maxExecutors":           "spark.dynamicAllocation.maxExecutors",
}

// chooseZone applies the zone policy: the application's own zone pin, the
// zone already chosen for this attempt, or a fresh choice.
func (r *resolver) chooseZone(in ZoneInput, tiers []v1alpha1.PlacementTier) {
	p := r.pol
	if p.zoneMode.v == v1alpha1.ZoneModeAny {
		r.zone = zoneChoice{reason: "the zone policy is Any: the scheduler places pods in any zone"}
		r.prov.record("status.zone", "", p.zoneMode.src, "zone.mode")
		return
	}
	pins := append(r.pins(LabelZone, "driver"), r.pins(LabelZone, "executor")...)
	zonesList := "[" + strings.Join(p.allowedZones.v, " ") + "]"
	for _, pn := range pins {
		if len(p.allowedZones.v) > 0 && !contains(p.allowedZones.v, pn.value) {
			r.conflict(pn.field, pn.value, p.allowedZones.src, "zone.allowedZones", zonesList, "pin an allowed zone or remove the pin")
		}
		if pn.value != pins[0].value {
			r.conflict(pn.field, pn.value, p.zoneMode.src, "zone.mode", string(p.zoneMode.v),
				fmt.Sprintf("driver and executors share one zone, but %s pins %s; pin one zone", pins[0].field, pins[0].value))
		}
	}
	switch {
	case len(pins) > 0:
		r.zone = zoneChoice{zone: pins[0].value, reason: fmt.Sprintf("the application pins it (%s)", pins[0].field)}
		r.prov.record("status.zone", pins[0].value, applicationSource, "zone.mode")
		return
	case in.Chosen != "":
		r.zone = zoneChoice{zone: in.Chosen, reason: "chosen when this attempt was submitted (status.zone)"}
	default:
		spec := &r.app.Spec
		selector := map[string]string{}
		for k, v := range spec.NodeSelector {
			selector[k] = v
		}
		for k, v := range spec.Executor.NodeSelector {
			selector[k] = v
		}
		var required []corev1.NodeSelectorRequirement
		if arch, ok := r.archRequirement(RoleExecutor); ok {
			required = append(required, arch.req)
		}
		r.zone = chooseZone(in, zoneRequest{
			app: r.app, tiers: tiers, nodeSelector: selector, required: required,
			tolerations: spec.Executor.Tolerations, allowed: p.allowedZones.v,
		})
	}
	r.prov.record("status.zone", r.zone.zone, p.zoneMode.src, "zone.mode")
}

// requiredExpressions are the node requirements resolution adds to a pod's
// required node affinity, each with its source and policy.
type requiredExpression struct {
	req    corev1.NodeSelectorRequirement
	src    Source
	policy string
}

func (r *resolver) commonRequired(role string) []requiredExpression {
	p := r.pol
	var out []requiredExpression
	if arch, ok := r.archRequirement(role); ok {
		out = append(out, arch)
	}
	if r.zone.zone != "" {
		src := p.zoneMode.src
		if strings.HasPrefix(r.zone.reason, "the application pins") {
			src = applicationSource
		}
		out = append(out, requiredExpression{
			req: corev1.NodeSelectorRequirement{Key: LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{r.zone.zone}},
			src: src, policy: "zone.mode",
		})
	}
	return out
}

func (r *resolver) driverAffinity() {
	p := r.pol
	var required []requiredExpression
	if p.driverCapacityType.v != "" {
		required = append(required, requiredExpression{
			req: corev1.NodeSelectorRequirement{Key: karpv1.CapacityTypeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{p.driverCapacityType.v}},
			src: p.driverCapacityType.src, policy: "driver.capacityType",
		})
	}
	for _, e := range p.driverRequired.v {
		required = append(required, requiredExpression{req: e, src: p.driverRequired.src, policy: "driver.matchExpressions"})
	}
	required = append(required, r.commonRequired(RoleDriver)...)
	pod := &r.app.Spec.Driver.SparkPodSpec
	r.addRequired("spec.driver", pod, required)
	var preferred []corev1.PreferredSchedulingTerm
	if len(p.driverPreferred.v) > 0 {
		preferred = []corev1.PreferredSchedulingTerm{{Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: p.driverPreferred.v}}}
	}
	r.setPreferred("spec.driver", pod, preferred, nil, p.driverPreferred.src, "driver.preferredMatchExpressions")
}

func (r *resolver) executorAffinity(tiers []v1alpha1.PlacementTier) {
	pod := &r.app.Spec.Executor.SparkPodSpec
	r.addRequired("spec.executor", pod, r.commonRequired(RoleExecutor))
	weights := TierWeights(len(tiers))
	preferred := make([]corev1.PreferredSchedulingTerm, len(tiers))
	names := make([]string, len(tiers))
	for i, t := range tiers {
		preferred[i] = corev1.PreferredSchedulingTerm{Weight: weights[i], Preference: corev1.NodeSelectorTerm{MatchExpressions: tierRequirements(t)}}
		names[i] = t.Name
	}
	r.setPreferred("spec.executor", pod, preferred, names, r.pol.tiers.src, "executor.tiers")
	if img := r.imageFor(RoleExecutor); img != nil && len(r.excludedTiers) > 0 {
		r.prov.record("status.resolution.excludedTiers", strings.Join(r.excludedTiers, " "), imageSource(img),
			"executor.tiers whose architecture the image ["+strings.Join(img.Platforms, " ")+"] lacks")
	}
}

// TierWeights returns n strictly decreasing preferred-affinity weights in
// [1, 100] for n ≤ 100 tiers: max(100/3^i, n-i). The gaps are wide (100, 33,
// 11, 3 for four tiers) so a better tier outweighs the scheduler's other
// scores.
func TierWeights(n int) []int32 {
	out := make([]int32, n)
	geometric := 100
	for i := range out {
		out[i] = int32(max(geometric, n-i))
		geometric /= 3
	}
	return out
}

// addRequired ANDs expressions into every required node selector term of
// the pod (or creates the one term).
func (r *resolver) addRequired(role string, pod *v1alpha1.SparkPodSpec, exprs []requiredExpression) {
	field := role + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
	if a := pod.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for i, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			r.prov.record(fmt.Sprintf("%s.nodeSelectorTerms[%d]", field, i), formatTerm(term), applicationSource, "")
		}
	}
	if len(exprs) == 0 {
		return
	}
	if pod.Affinity == nil {
		pod.Affinity = &corev1.Affinity{}
	}
	if pod.Affinity.NodeAffinity == nil {
		pod.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		for _, e := range exprs {
			terms[i].MatchExpressions = append(terms[i].MatchExpressions, e.req)
		}
	}
	for _, e := range exprs {
		r.prov.record(fmt.Sprintf("%s[%s]", field, e.req.Key), formatRequirement(e.req), e.src, e.policy)
	}
}

// setPreferred sets the preferred node affinity unless the application has
// its own.
func (r *resolver) setPreferred(role string, pod *v1alpha1.SparkPodSpec, terms []corev1.PreferredSchedulingTerm, names []string, src Source, policy string) {
	field := role + ".affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
	if a := pod.Affinity; a != nil && a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		for i, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			r.prov.record(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("weight %d: %s", t.Weight, formatTerm(t.Preference)), applicationSource, "")
		}
		return
	}
	if len(terms) == 0 {
		return
	}
	if pod.Affinity == nil {
		pod.Affinity = &corev1.Affinity{}
	}
	if pod.Affinity.NodeAffinity == nil {
		pod.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	pod.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = terms
	for i, t := range terms {
		value := fmt.Sprintf("weight %d: %s", t.Weight, formatTerm(t.Preference))
		if names != nil {
			value = fmt.Sprintf("weight %d: %s (%s)", t.Weight, names[i], formatTerm(t.Preference))
		}
		r.prov.record(fmt.Sprintf("%s[%d]", field, i), value, src, policy)
	}
}

func formatRequirement(e corev1.NodeSelectorRequirement) string {
	switch e.Operator {
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		return fmt.Sprintf("%s %s", e.Key, e.Operator)
	}
	return fmt.Sprintf("%s %s [%s]", e.Key, e.Operator, strings.Join(e.Values, " "))
}

func formatTerm(t corev1.NodeSelectorTerm) string {
	parts := make([]string, 0, len(t.MatchExpressions)+len(t.MatchFields))
	for _, e := range t.MatchExpressions {
		parts = append(parts, formatRequirement(e))
	}
	for _, e := range t.MatchFields {
		parts = append(parts, "field "+formatRequirement(e))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Resolution is the decision as status.resolution records it.
func (r ResolveResult) Resolution() *v1alpha1.Resolution {
	out := &v1alpha1.Resolution{
		ProfileVia: r.ProfileVia, Zone: r.Zone, ZoneReason: r.ZoneReason,
		ZoneScores: r.ZoneScores, Warnings: r.Warnings,
		Images: r.Images, ExcludedTiers: r.ExcludedTiers,
	}
	if app := r.Application; app != nil {
		out.DriverPriorityClass = ptr.Deref(app.Spec.Driver.PriorityClassName, "")
		out.ExecutorPriorityClass = ptr.Deref(app.Spec.Executor.PriorityClassName, "")
	}
	return out
}

// ResolvedPrefix starts a resolution note.
const ResolvedPrefix = "Resolved with "

// ResolutionNote says which profile and zone a resolution chose, and why:
// what the operator logs with a submission and `sparkplane explain` shows as
// decided at submission (from status.profile and status.resolution).
func ResolutionNote(prof *v1alpha1.ProfileReference, res *v1alpha1.Resolution, application string) string {
	profileText := "built-in defaults only (no profile named or cluster default)"
	if prof != nil {
		profileText = fmt.Sprintf("profile %s at generation %d (%s)", prof.Name, prof.Generation, res.ProfileVia)
	}
	zone := "no zone pinned"
	if res.Zone != "" {
		zone = "zone " + res.Zone
	}
	return fmt.Sprintf("%s%s; %s: %s. `sparkplane explain %s` shows every setting and its source.", ResolvedPrefix, profileText, zone, res.ZoneReason, application)
}

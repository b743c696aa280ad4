package profile

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// installed returns the built-in profiles as the API server would hold them.
func installed(generation int64) []v1alpha1.SparkProfile {
	var out []v1alpha1.SparkProfile
	for _, p := range BuiltinProfiles() {
		p.Generation = generation
		out = append(out, *p)
	}
	return out
}

func newApp(mutate ...func(*v1alpha1.SparkApplication)) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Name: "spark-pi", Namespace: "team-a"}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.Executor.Instances = ptr.To[int32](4)
	for _, m := range mutate {
		m(app)
	}
	return app
}

var threeZones = ZoneInput{NodesOnDemand: true, Zones: []string{"zone-a", "zone-b", "zone-c"}}

// settingsByField indexes a result's settings.
func settingsByField(res ResolveResult) map[string]Setting {
	out := map[string]Setting{}
	for _, s := range res.Settings {
		out[s.Field] = s
	}
	return out
}

// TestGoldenBuiltinProfiles pins the effective application and provenance
// each built-in profile yields for the same application.
func TestGoldenBuiltinProfiles(t *testing.T) {
	for _, name := range []string{CostOptimized, OnDemand, NVMeShuffle, RemoteShuffle} {
		t.Run(name, func(t *testing.T) {
			app := newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = name })
			res, err := Resolve(ResolveInput{Application: app, Profiles: installed(3), Zones: threeZones})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(struct {
				Result ResolveResult                 `json:"result"`
				Spec   v1alpha1.SparkApplicationSpec `json:"effectiveSpec"`
			}{res, res.Application.Spec}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, name+".golden.json", got)
		})
	}
}

// assertGolden compares got with testdata/name (-update rewrites it).
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
		t.Errorf("differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

// TestResolutionOrder: built-in defaults < profile < the application's own fields.
func TestResolutionOrder(t *testing.T) {
	profileSrc := Source{Kind: SourceProfile, Profile: "custom", Generation: 7}
	custom := v1alpha1.SparkProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "custom", Generation: 7},
		Spec: v1alpha1.SparkProfileSpec{
			Executor:     &v1alpha1.ExecutorPolicy{PriorityClassName: "batch-low"},
			Decommission: &v1alpha1.DecommissionPolicy{ExecutorTerminationGracePeriodSeconds: ptr.To[int64](60)},
			Defaults: &v1alpha1.ProfileDefaults{
				SparkConf: map[string]string{"spark.sql.shuffle.partitions": "400", "spark.eventLog.enabled": "true"},
				Labels:    map[string]string{"team": "platform"},
			},
		},
	}
	app := newApp(func(a *v1alpha1.SparkApplication) {
		a.Spec.Profile = "custom"
		a.Spec.SparkConf = map[string]string{"spark.sql.shuffle.partitions": "50", "spark.decommission.enabled": "false"}
		a.Spec.Executor.TerminationGracePeriodSeconds = ptr.To[int64](30)
		a.Spec.Executor.Labels = map[string]string{"team": "data"}
	})
	res, err := Resolve(ResolveInput{Application: app, Profiles: []v1alpha1.SparkProfile{custom}, Zones: threeZones})
	if err != nil {
		t.Fatal(err)
	}
	settings := settingsByField(res)
	cases := []struct {
		field, value string
		source       Source
	}{
		// built-in default only
		{"spec.driver.priorityClassName", v1alpha1.PriorityClassDriver, builtinSource},
		{"spec.sparkConf[spark.kubernetes.driver.reusePersistentVolumeClaim]", "true", builtinSource},
		// profile over built-in
		{"spec.executor.priorityClassName", "batch-low", profileSrc},
		{"spec.sparkConf[spark.eventLog.enabled]", "true", profileSrc},
		{"spec.driver.labels[team]", "platform", profileSrc},
		// application over profile and built-in
		{"spec.sparkConf[spark.sql.shuffle.partitions]", "50", applicationSource},
		{"spec.sparkConf[spark.decommission.enabled]", "false", applicationSource},
		{"spec.executor.terminationGracePeriodSeconds", "30", applicationSource},
		{"spec.executor.labels[team]", "data", applicationSource},
	}
	for _, tc := range cases {
		got, ok := settings[tc.field]
		if !ok {
			t.Errorf("%s: no setting recorded", tc.field)
			continue
		}
		if got.Value != tc.value || got.Source != tc.source {
			t.Errorf("%s = %q from %s, want %q from %s", tc.field, got.Value, got.Source, tc.value, tc.source)
		}
	}
	spec := res.Application.Spec
	if spec.SparkConf["spark.sql.shuffle.partitions"] != "50" || spec.SparkConf["spark.eventLog.enabled"] != "true" {
		t.Errorf("effective sparkConf = %v", spec.SparkConf)
	}
	if *spec.Executor.TerminationGracePeriodSeconds != 30 || *spec.Executor.PriorityClassName != "batch-low" {
		t.Errorf("effective executor grace %d priority %s", *spec.Executor.TerminationGracePeriodSeconds, *spec.Executor.PriorityClassName)
	}
	if res.Profile == nil || *res.Profile != (v1alpha1.ProfileReference{Name: "custom", Generation: 7}) {
		t.Errorf("profile reference = %+v", res.Profile)
	}
	if app.Spec.SparkConf["spark.eventLog.enabled"] != "" || app.Spec.Driver.Affinity != nil {
		t.Error("Resolve modified its input application")
	}
}

// TestBuiltinOnly: no profile anywhere means the built-in defaults, each
// setting labelled so.
func TestBuiltinOnly(t *testing.T) {
	res, err := Resolve(ResolveInput{Application: newApp(), Zones: threeZones})
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile != nil || res.ProfileVia != "" {
		t.Errorf("profile = %+v via %q, want none", res.Profile, res.ProfileVia)
	}
	for _, s := range res.Settings {
		// The executors the application asked for bound the default's
		// dynamic allocation (TestProfileNeverOutgrowsApplication).
		if s.Field == "spec.dynamicAllocation.maxExecutors" {
			if s.Source != applicationSource || s.Value != "4" {
				t.Errorf("%s = %s from %s, want 4 from the application", s.Field, s.Value, s.Source)
			}
			continue
		}
		if s.Source != builtinSource {
			t.Errorf("%s from %s, want built-in default", s.Field, s.Source)
		}
	}
	if len(res.Settings) < 20 {
		t.Errorf("only %d settings recorded", len(res.Settings))
	}
}

// TestShuffleStorageRendering pins the sparkConf every storage option renders.
func TestShuffleStorageRendering(t *testing.T) {
	pvcConf := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.claimName": "OnDemand",
			"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.sizeLimit": "100Gi",
			// A class is always written: Spark 3.5 creates no OnDemand claim without one.
			"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass": "sparkplane-shuffle",
			"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.path":           "/data/spark-x/executor-x",
			"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.readOnly":       "false",
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	reuse := map[string]string{
		"spark.kubernetes.driver.ownPersistentVolumeClaim":         "true",
		"spark.kubernetes.driver.reusePersistentVolumeClaim":       "true",
		"spark.kubernetes.driver.waitToReusePersistentVolumeClaim": "true",
	}
	withReuse := func(m map[string]string) map[string]string {
		for k, v := range reuse {
			m[k] = v
		}
		return m
	}
	cases := map[string]struct {
		storage  v1alpha1.ShuffleStorage
		want     map[string]string
		selector map[string]string
	}{
		"emptyDir": {storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleEmptyDir}, want: map[string]string{}},
		"emptyDir in memory": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleEmptyDir, EmptyDir: &v1alpha1.EmptyDirShuffle{Medium: "Memory"}},
			want:    map[string]string{"spark.kubernetes.local.dirs.tmpfs": "true"},
		},
		"persistentVolumeClaim defaults": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShufflePersistentVolumeClaim},
			want: withReuse(pvcConf(map[string]string{
				"spark.shuffle.sort.io.plugin.class": "org.apache.spark.shuffle.KubernetesLocalDiskShuffleDataIO",
			})),
		},
		"persistentVolumeClaim with class and size": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShufflePersistentVolumeClaim, PersistentVolumeClaim: &v1alpha1.PVCShuffle{
				StorageClassName: "gp3", Size: ptr.To(mustQuantity("500Gi")), ShuffleRecovery: ptr.To(false),
			}},
			want: withReuse(pvcConf(map[string]string{
				"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass": "gp3",
				"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.sizeLimit":    "500Gi",
			})),
		},
		"persistentVolumeClaim without reuse": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShufflePersistentVolumeClaim, PersistentVolumeClaim: &v1alpha1.PVCShuffle{Reuse: ptr.To(false)}},
			want:    pvcConf(nil),
		},
		"localNVMe": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleLocalNVMe},
			want: map[string]string{
				"spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.options.path":   "/mnt/k8s-disks/0",
				"spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.path":     "/data/spark-local",
				"spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.readOnly": "false",
			},
			selector: map[string]string{"sparkplane.io/local-nvme": "raid0"},
		},
		"remoteShuffleService": {
			storage: v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleRemoteShuffleService, RemoteShuffleService: &v1alpha1.RemoteShuffleService{
				MasterEndpoints: []string{"clb-0:9097", "clb-1:9097"},
			}},
			want: map[string]string{
				"spark.shuffle.manager":                         "org.apache.spark.shuffle.celeborn.SparkShuffleManager",
				"spark.serializer":                              "org.apache.spark.serializer.KryoSerializer",
				"spark.celeborn.master.endpoints":               "clb-0:9097,clb-1:9097",
				"spark.shuffle.service.enabled":                 "false",
				"spark.celeborn.client.spark.shuffle.writer":    "hash",
				"spark.celeborn.client.push.replicate.enabled":  "true",
				"spark.sql.adaptive.localShuffleReader.enabled": "false",
				"spark.shuffle.sort.io.plugin.class":            "org.apache.spark.shuffle.celeborn.CelebornShuffleDataIO",
			},
		},
	}
	decommission := map[string]string{
		"spark.decommission.enabled":                       "true",
		"spark.storage.decommission.enabled":               "true",
		"spark.storage.decommission.shuffleBlocks.enabled": "true",
		"spark.storage.decommission.rddBlocks.enabled":     "true",
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			storage := tc.storage
			p := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 1}, Spec: v1alpha1.SparkProfileSpec{ShuffleStorage: &storage}}
			res, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "p" }), Profiles: []v1alpha1.SparkProfile{p}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for k, v := range tc.want {
				want[k] = v
			}
			for k, v := range decommission {
				want[k] = v
			}
			if diff := cmp.Diff(want, res.Application.Spec.SparkConf); diff != "" {
				t.Errorf("sparkConf (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.selector, res.Application.Spec.Executor.NodeSelector); diff != "" {
				t.Errorf("executor nodeSelector (-want +got):\n%s", diff)
			}
			for k := range tc.want {
				s := settingsByField(res)[confField(k)]
				if s.Source.Kind != SourceProfile || !strings.HasPrefix(s.Policy, "shuffleStorage") {
					t.Errorf("%s: provenance %+v, want profile p / shuffleStorage", k, s)
				}
			}
			if tc.storage.Type == v1alpha1.ShuffleRemoteShuffleService {
				if st := res.Application.Spec.DynamicAllocation.ShuffleTrackingEnabled; st == nil || *st {
					t.Errorf("remote shuffle: shuffleTrackingEnabled = %v, want false", st)
				}
			}
		})
	}
}

func TestDecommissionRendering(t *testing.T) {
	cases := map[string]struct {
		policy v1alpha1.DecommissionPolicy
		want   map[string]string
	}{
		"off": {
			policy: v1alpha1.DecommissionPolicy{Enabled: ptr.To(false)},
			want:   map[string]string{"spark.decommission.enabled": "false"},
		},
		"rdd only with fallback": {
			policy: v1alpha1.DecommissionPolicy{ShuffleBlocks: ptr.To(false), FallbackStoragePath: "s3a://bucket/fallback/"},
			want: map[string]string{
				"spark.decommission.enabled":                       "true",
				"spark.storage.decommission.enabled":               "true",
				"spark.storage.decommission.shuffleBlocks.enabled": "false",
				"spark.storage.decommission.rddBlocks.enabled":     "true",
				"spark.storage.decommission.fallbackStorage.path":  "s3a://bucket/fallback/",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			policy := tc.policy
			p := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.SparkProfileSpec{
				Decommission:   &policy,
				ShuffleStorage: &v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleEmptyDir},
			}}
			res, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "p" }), Profiles: []v1alpha1.SparkProfile{p}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Application.Spec.SparkConf); diff != "" {
				t.Errorf("sparkConf (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDynamicAllocationInSparkConf: submission lets typed fields win over
// sparkConf, so an application that configures dynamic allocation in its
// sparkConf must not get the profile's typed fields over it.
func TestDynamicAllocationInSparkConf(t *testing.T) {
	off, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) {
		a.Spec.SparkConf = map[string]string{"spark.dynamicAllocation.enabled": "false"}
	}), Profiles: installed(1)})
	if err != nil {
		t.Fatal(err)
	}
	if off.Application.Spec.DynamicAllocation != nil {
		t.Errorf("dynamicAllocation = %+v, want unset when sparkConf turns it off", off.Application.Spec.DynamicAllocation)
	}
	bounded, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) {
		a.Spec.SparkConf = map[string]string{"spark.dynamicAllocation.maxExecutors": "7"}
	}), Profiles: installed(1)})
	if err != nil {
		t.Fatal(err)
	}
	da := bounded.Application.Spec.DynamicAllocation
	if da == nil || !da.Enabled || da.MaxExecutors != nil || da.MinExecutors == nil {
		t.Errorf("dynamicAllocation = %+v, want enabled with the profile's minExecutors and no typed maxExecutors", da)
	}
}

func TestMissingPriorityClass(t *testing.T) {
	exists := func(name string) bool { return name == v1alpha1.PriorityClassDriver }
	res, err := Resolve(ResolveInput{Application: newApp(), Profiles: installed(1), PriorityClassExists: exists})
	if err != nil {
		t.Fatal(err)
	}
	spec := res.Application.Spec
	if ptr.Deref(spec.Driver.PriorityClassName, "") != v1alpha1.PriorityClassDriver || spec.Executor.PriorityClassName != nil {
		t.Errorf("priority classes driver=%v executor=%v; want the existing one only", spec.Driver.PriorityClassName, spec.Executor.PriorityClassName)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "PriorityClass sparkplane-executor (executor.priorityClassName) does not exist") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	// The application's own priority class is kept whatever the cluster has.
	own, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Executor.PriorityClassName = ptr.To("mine") }),
		Profiles: installed(1), PriorityClassExists: exists})
	if err != nil || ptr.Deref(own.Application.Spec.Executor.PriorityClassName, "") != "mine" || len(own.Warnings) != 0 {
		t.Errorf("own priority class: %v %v %q", err, own.Application.Spec.Executor.PriorityClassName, own.Warnings)
	}
}

func TestTierWeightsStrictlyDecreasing(t *testing.T) {
	if got := TierWeights(4); !cmp.Equal(got, []int32{100, 33, 11, 3}) {
		t.Errorf("TierWeights(4) = %v", got)
	}
	for n := 1; n <= 100; n++ {
		w := TierWeights(n)
		if w[0] != 100 || w[n-1] < 1 {
			t.Fatalf("TierWeights(%d) = %v: want first 100 and all ≥ 1", n, w)
		}
		for i := 1; i < n; i++ {
			if w[i] >= w[i-1] {
				t.Fatalf("TierWeights(%d) = %v: not strictly decreasing at %d", n, w, i)
			}
		}
	}
}

// TestDefaultPlacement is the "done when" for the pure part: the
// default profile's driver requires on-demand and one zone; the executor
// template prefers the four tiers in strictly decreasing weight and requires
// the same zone.
func TestDefaultPlacement(t *testing.T) {
	res, err := Resolve(ResolveInput{Application: newApp(), Profiles: installed(1), Zones: threeZones})
	if err != nil {
		t.Fatal(err)
	}
	if res.Zone == "" {
		t.Fatal("no zone chosen")
	}
	spec := res.Application.Spec
	zoneReq := corev1.NodeSelectorRequirement{Key: LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{res.Zone}}
	driverTerms := spec.Driver.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	wantDriver := []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand"}}, zoneReq,
	}}}
	if diff := cmp.Diff(wantDriver, driverTerms); diff != "" {
		t.Errorf("driver required terms (-want +got):\n%s", diff)
	}
	execTerms := spec.Executor.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if diff := cmp.Diff([]corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{zoneReq}}}, execTerms); diff != "" {
		t.Errorf("executor required terms (-want +got):\n%s", diff)
	}
	preferred := spec.Executor.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	wantOrder := [][2]string{{"arm64", "spot"}, {"amd64", "spot"}, {"arm64", "on-demand"}, {"amd64", "on-demand"}}
	if len(preferred) != len(wantOrder) {
		t.Fatalf("%d preferred terms, want 4", len(preferred))
	}
	for i, term := range preferred {
		got := map[string]string{}
		for _, e := range term.Preference.MatchExpressions {
			got[e.Key] = strings.Join(e.Values, ",")
		}
		if got["kubernetes.io/arch"] != wantOrder[i][0] || got["karpenter.sh/capacity-type"] != wantOrder[i][1] {
			t.Errorf("tier %d = %v, want %v", i, got, wantOrder[i])
		}
		if i > 0 && term.Weight >= preferred[i-1].Weight {
			t.Errorf("tier %d weight %d not below %d", i, term.Weight, preferred[i-1].Weight)
		}
	}
	if spec.Driver.Annotations["karpenter.sh/do-not-disrupt"] != "true" {
		t.Error("driver lacks karpenter.sh/do-not-disrupt=true")
	}
	if spec.SparkConf["spark.decommission.enabled"] != "true" || spec.SparkConf["spark.kubernetes.driver.reusePersistentVolumeClaim"] != "true" {
		t.Errorf("decommissioning or PVC reuse not on: %v", spec.SparkConf)
	}
}

func TestSelect(t *testing.T) {
	profiles := installed(1)
	cases := map[string]struct {
		app         *v1alpha1.SparkApplication
		annotations map[string]string
		profiles    []v1alpha1.SparkProfile
		want, via   string
		err         string
	}{
		"spec.profile": {app: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = OnDemand }), profiles: profiles, want: OnDemand, via: ViaSpec},
		"namespace annotation": {
			app: newApp(), annotations: map[string]string{"sparkplane.io/default-profile": NVMeShuffle}, profiles: profiles,
			want: NVMeShuffle, via: ViaNamespace + " on namespace team-a",
		},
		"spec.profile beats namespace": {
			app:         newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = OnDemand }),
			annotations: map[string]string{"sparkplane.io/default-profile": NVMeShuffle}, profiles: profiles, want: OnDemand, via: ViaSpec,
		},
		"cluster default": {app: newApp(), profiles: profiles, want: CostOptimized, via: ViaClusterDefault},
		"nothing":         {app: newApp(), profiles: profiles[1:], want: ""},
		"missing": {
			app: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "gpu" }), profiles: profiles,
			err: `SparkProfile "gpu" named by spec.profile does not exist (existing profiles: cost-optimized, nvme-shuffle, on-demand, remote-shuffle)`,
		},
		"missing from namespace": {
			app: newApp(), annotations: map[string]string{"sparkplane.io/default-profile": "gone"}, profiles: profiles,
			err: `SparkProfile "gone" named by namespace annotation sparkplane.io/default-profile on namespace team-a does not exist`,
		},
		"none installed": {
			app: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "x" }),
			err: "none exist; run `sparkplane install`",
		},
		"two cluster defaults": {
			app: newApp(), profiles: append(installed(1), func() v1alpha1.SparkProfile {
				p := profiles[1]
				p.Labels = map[string]string{"sparkplane.io/cluster-default": "true"}
				return p
			}()),
			err: "more than one SparkProfile is labelled sparkplane.io/cluster-default=true (cost-optimized, on-demand)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sel, err := Select(tc.app, tc.annotations, tc.profiles)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if sel.Profile != nil {
				got = sel.Profile.Name
			}
			if got != tc.want || sel.Via != tc.via {
				t.Errorf("selected %q via %q, want %q via %q", got, sel.Via, tc.want, tc.via)
			}
		})
	}
	var nf *NotFoundError
	_, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "gpu" }), Profiles: profiles})
	if !errors.As(err, &nf) || len(nf.Existing) != 4 {
		t.Errorf("Resolve error = %#v, want *NotFoundError listing 4 profiles", err)
	}
}

func TestConflicts(t *testing.T) {
	armOnly := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "arm-only", Generation: 2}, Spec: v1alpha1.SparkProfileSpec{
		Executor: &v1alpha1.ExecutorPolicy{Architectures: []string{"arm64"}},
		Zone:     &v1alpha1.ZonePolicy{AllowedZones: []string{"zone-a", "zone-b"}},
	}}
	profiles := append(installed(1), armOnly)
	cases := map[string]struct {
		app  *v1alpha1.SparkApplication
		want []string // each a conflict's field and a fragment of its message
	}{
		"amd64 pin on an arm64-only profile": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Profile = "arm-only"
				a.Spec.Executor.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
			}),
			want: []string{"spec.executor.nodeSelector[kubernetes.io/arch]=amd64 conflicts with profile arm-only executor.architectures=[arm64]"},
		},
		"amd64 in required affinity on an arm64-only profile": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Profile = "arm-only"
				a.Spec.Driver.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}}},
				}}}
			}),
			want: []string{"spec.driver.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0][kubernetes.io/arch]=amd64 conflicts with profile arm-only executor.architectures=[arm64]"},
		},
		"spec.nodeSelector pin is named once": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Profile = "arm-only"
				a.Spec.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
			}),
			want: []string{"spec.nodeSelector[kubernetes.io/arch]=amd64 conflicts with profile arm-only executor.architectures=[arm64]"},
		},
		"spot driver on the default profile": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Driver.NodeSelector = map[string]string{"karpenter.sh/capacity-type": "spot"}
			}),
			want: []string{"spec.driver.nodeSelector[karpenter.sh/capacity-type]=spot conflicts with profile cost-optimized driver.capacityType=on-demand"},
		},
		"zone outside allowedZones and driver/executor zones differ": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Profile = "arm-only"
				a.Spec.Driver.NodeSelector = map[string]string{LabelZone: "zone-a"}
				a.Spec.Executor.NodeSelector = map[string]string{LabelZone: "zone-z"}
			}),
			want: []string{
				"spec.executor.nodeSelector[topology.kubernetes.io/zone]=zone-z conflicts with profile arm-only zone.allowedZones=[zone-a zone-b]",
				"spec.executor.nodeSelector[topology.kubernetes.io/zone]=zone-z conflicts with the built-in default zone.mode=SingleZone",
			},
		},
		"capacity pin no tier allows": {
			app: newApp(func(a *v1alpha1.SparkApplication) {
				a.Spec.Profile = OnDemand
				a.Spec.Executor.NodeSelector = map[string]string{"karpenter.sh/capacity-type": "spot"}
			}),
			want: []string{"spec.executor.nodeSelector[karpenter.sh/capacity-type]=spot conflicts with profile on-demand executor.tiers=[arm64-on-demand amd64-on-demand]"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Resolve(ResolveInput{Application: tc.app, Profiles: profiles, Zones: threeZones})
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *ConflictError", err)
			}
			if len(ce.Conflicts) != len(tc.want) {
				t.Errorf("%d conflicts, want %d: %v", len(ce.Conflicts), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}

	// An allowed pin is not a conflict: the tiers narrow to it.
	res, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) {
		a.Spec.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
	}), Profiles: profiles, Zones: threeZones})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, term := range res.Application.Spec.Executor.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		names = append(names, formatTerm(term.Preference))
	}
	want := []string{"kubernetes.io/arch In [amd64], karpenter.sh/capacity-type In [spot]", "kubernetes.io/arch In [amd64], karpenter.sh/capacity-type In [on-demand]"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("tiers for an amd64-only image (-want +got):\n%s", diff)
	}
}

// TestProfileNeverOutgrowsApplication: a profile that turns dynamic
// allocation on may change where and how executors run, never how many: the
// application's executor count bounds maxExecutors (and a larger profile
// minimum or initial count), unless the application configures dynamic
// allocation itself. explain shows the bound and where it came from.
func TestProfileNeverOutgrowsApplication(t *testing.T) {
	type want struct {
		enabled                  bool
		initial, minimum, maxima *int32
		maxSource                SourceKind
		maxPolicy                string
	}
	profileWith := func(da v1alpha1.ProfileDynamicAllocation) []v1alpha1.SparkProfile {
		p := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "elastic", Generation: 2}}
		p.Spec.Defaults = &v1alpha1.ProfileDefaults{DynamicAllocation: &da}
		return []v1alpha1.SparkProfile{p}
	}
	builtinMax := profileWith(v1alpha1.ProfileDynamicAllocation{Enabled: ptr.To(true), MinExecutors: ptr.To[int32](0), MaxExecutors: ptr.To[int32](100)})
	cases := map[string]struct {
		app      func(*v1alpha1.SparkApplication)
		profiles []v1alpha1.SparkProfile
		want     want
	}{
		"executor.instances bounds the profile's maxExecutors": {
			app:      func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = ptr.To[int32](4) },
			profiles: builtinMax,
			want: want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](4), maxSource: SourceApplication,
				maxPolicy: "bound: spec.executor.instances=4, the executors the application asked for; profile elastic defaults.dynamicAllocation.maxExecutors=100 is not applied"},
		},
		"the application's sparkConf spark.executor.instances bounds it": {
			app: func(a *v1alpha1.SparkApplication) {
				a.Spec.Executor.Instances = nil
				a.Spec.SparkConf = map[string]string{"spark.executor.instances": "6"}
			},
			profiles: builtinMax,
			want: want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](6), maxSource: SourceApplication,
				maxPolicy: "bound: spec.sparkConf[spark.executor.instances]=6, the executors the application asked for; profile elastic defaults.dynamicAllocation.maxExecutors=100 is not applied"},
		},
		"no count: Spark's default of 2 bounds it": {
			app:      func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = nil },
			profiles: builtinMax,
			want: want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](2), maxSource: SourceBuiltin,
				maxPolicy: "bound: Spark's default spark.executor.instances=2, the executors the application asked for; profile elastic defaults.dynamicAllocation.maxExecutors=100 is not applied"},
		},
		"a profile without maxExecutors still gets the bound": {
			app:      func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = ptr.To[int32](3) },
			profiles: profileWith(v1alpha1.ProfileDynamicAllocation{Enabled: ptr.To(true)}),
			want: want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](3), maxSource: SourceApplication,
				maxPolicy: "bound: spec.executor.instances=3, the executors the application asked for; the built-in default defaults.dynamicAllocation.maxExecutors=100 is not applied"},
		},
		"a profile's minimum and initial count above the bound are capped too": {
			app: func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = ptr.To[int32](4) },
			profiles: profileWith(v1alpha1.ProfileDynamicAllocation{Enabled: ptr.To(true), InitialExecutors: ptr.To[int32](10),
				MinExecutors: ptr.To[int32](8), MaxExecutors: ptr.To[int32](3)}),
			want: want{enabled: true, initial: ptr.To[int32](4), minimum: ptr.To[int32](4), maxima: ptr.To[int32](4), maxSource: SourceApplication,
				maxPolicy: "bound: spec.executor.instances=4, the executors the application asked for; profile elastic defaults.dynamicAllocation.maxExecutors=3 is not applied"},
		},
		"the application's own dynamicAllocation keeps the profile's maxExecutors": {
			app: func(a *v1alpha1.SparkApplication) {
				a.Spec.DynamicAllocation = &v1alpha1.DynamicAllocation{Enabled: true}
			},
			profiles: builtinMax,
			want:     want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](100), maxSource: SourceProfile, maxPolicy: "defaults.dynamicAllocation.maxExecutors"},
		},
		"the application's own maxExecutors wins": {
			app: func(a *v1alpha1.SparkApplication) {
				a.Spec.DynamicAllocation = &v1alpha1.DynamicAllocation{Enabled: true, MaxExecutors: ptr.To[int32](50)}
			},
			profiles: builtinMax,
			want:     want{enabled: true, minimum: ptr.To[int32](0), maxima: ptr.To[int32](50), maxSource: SourceApplication},
		},
		"zero executors: dynamic allocation stays off": {
			app:      func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Instances = ptr.To[int32](0) },
			profiles: builtinMax,
			want:     want{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := newApp(tc.app, func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "elastic" })
			res, err := Resolve(ResolveInput{Application: app, Profiles: tc.profiles, Zones: threeZones})
			if err != nil {
				t.Fatal(err)
			}
			da := ptr.Deref(res.Application.Spec.DynamicAllocation, v1alpha1.DynamicAllocation{})
			got := want{enabled: da.Enabled, initial: da.InitialExecutors, minimum: da.MinExecutors, maxima: da.MaxExecutors}
			if s, ok := settingsByField(res)["spec.dynamicAllocation.maxExecutors"]; ok {
				got.maxSource, got.maxPolicy = s.Source.Kind, s.Policy
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("effective dynamic allocation (-want +got):\n%s", diff)
			}
		})
	}
}

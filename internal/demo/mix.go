package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
)

// Sizes of the application mix.
const (
	SizeSmall = "small"
	SizeLarge = "large"
)

// ShuffleStorageClassKey is the Spark conf key of the executors' shuffle
// claims' StorageClass; ShuffleStorageClass is the platform bundle's class.
const (
	ShuffleStorageClassKey = "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass"
	ShuffleStorageClass    = "sparkplane-shuffle"
)

// Image and Spark version of the demo's applications.
const (
	sparkImage   = "apache/spark:3.5.3"
	sparkVersion = "3.5.3"
)

// AppSpec is one application of the mix: what it is and the workload the
// emulator models for it (spark.sparkplane.emulator.* keys).
type AppSpec struct {
	Name      string
	Type      v1alpha1.SparkApplicationType
	Size      string
	Executors int32
	Cores     int32
	Memory    string
	// Workload is the emulator's workload conf; the same in both runs, so the
	// runs compare like with like.
	Workload map[string]string
	// ImageRepo is the repository and tag the application's image has in
	// the demo's registry (registrytest): the two-platform index, or, for
	// the second application, the amd64-only image, whose executors the
	// operator keeps off arm64.
	ImageRepo string
	// Image is the full reference, set once the registry runs; the public
	// Spark image when empty.
	Image string
}

// workloads of the two sizes. Model time runs timeScale times faster than
// real time, so a small application takes about 40 s and a large one about a
// minute on the local cluster, long enough to be interrupted.
func workload(size string, seed uint64) map[string]string {
	w := map[string]string{
		"spark.sparkplane.emulator.seed":      strconv.FormatUint(seed, 10),
		"spark.sparkplane.emulator.timeScale": "2",
	}
	switch size {
	case SizeSmall:
		w["spark.sparkplane.emulator.jobs"] = "1"
		w["spark.sparkplane.emulator.stagesPerJob"] = "3"
		w["spark.sparkplane.emulator.tasksPerStage"] = "24"
		w["spark.sparkplane.emulator.taskDuration"] = "4s"
		w["spark.sparkplane.emulator.shuffleBytesPerTask"] = "48m"
	default:
		w["spark.sparkplane.emulator.jobs"] = "2"
		w["spark.sparkplane.emulator.stagesPerJob"] = "3"
		w["spark.sparkplane.emulator.tasksPerStage"] = "64"
		w["spark.sparkplane.emulator.taskDuration"] = "4s"
		w["spark.sparkplane.emulator.shuffleBytesPerTask"] = "128m"
	}
	return w
}

// AMD64OnlyApplication is the index in the mix of the application whose
// image is built for amd64 only.
const AMD64OnlyApplication = 1

// Mix returns n applications drawn reproducibly from seed: about a third
// large, the rest small; Scala and Python alike. The same n and seed always
// give the same mix.
func Mix(n int, seed int64) []AppSpec {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xdeadbeef))
	out := make([]AppSpec, 0, n)
	for i := range n {
		spec := AppSpec{Type: v1alpha1.SparkApplicationTypeScala}
		if rng.IntN(2) == 1 {
			spec.Type = v1alpha1.SparkApplicationTypePython
		}
		spec.Size = SizeSmall
		if rng.IntN(3) == 0 {
			spec.Size = SizeLarge
		}
		switch spec.Size {
		case SizeSmall:
			spec.Executors, spec.Cores, spec.Memory = 2+int32(rng.IntN(2)), 2, "2g"
		default:
			spec.Executors, spec.Cores, spec.Memory = 4+int32(rng.IntN(3)), 4, "6g"
		}
		lang := "scala"
		if spec.Type == v1alpha1.SparkApplicationTypePython {
			lang = "py"
		}
		spec.Name = fmt.Sprintf("%s-%s-%02d", spec.Size, lang, i+1)
		spec.Workload = workload(spec.Size, rng.Uint64()%1_000_000)
		spec.ImageRepo = registrytest.MultiArchRepo
		if i == AMD64OnlyApplication {
			spec.ImageRepo = registrytest.AMD64Repo
		}
		out = append(out, spec)
	}
	return out
}

// Application is spec as a SparkApplication in namespace on profile.
// Dynamic allocation is pinned to the executor count (the profiles allow up
// to 100), so both runs ask for the same executors.
func Application(spec AppSpec, namespace, profile string) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: spec.Name, Labels: map[string]string{"sparkplane.io/demo-size": spec.Size}},
	}
	s := &app.Spec
	s.Type = spec.Type
	s.SparkVersion = sparkVersion
	s.Profile = profile
	s.Image = ptr.To(sparkImage)
	if spec.Image != "" {
		s.Image = ptr.To(spec.Image)
	}
	if spec.Type == v1alpha1.SparkApplicationTypePython {
		s.MainApplicationFile = ptr.To("local:///opt/spark/examples/src/main/python/pi.py")
		s.PythonVersion = ptr.To("3")
	} else {
		s.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
		s.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar")
	}
	s.Arguments = []string{"1000"}
	s.SparkConf = map[string]string{}
	for k, v := range spec.Workload {
		s.SparkConf[k] = v
	}
	// Name the shuffle claims' class (the platform bundle's) rather than rely
	// on the cluster default: the class is what binds a reused claim's volume
	// to the executor's zone.
	s.SparkConf[ShuffleStorageClassKey] = ShuffleStorageClass
	s.Driver.Cores = ptr.To[int32](1)
	s.Driver.Memory = ptr.To(v1alpha1.MemorySize("1g"))
	s.Executor.Instances = ptr.To(spec.Executors)
	s.Executor.Cores = ptr.To(spec.Cores)
	s.Executor.Memory = ptr.To(v1alpha1.MemorySize(spec.Memory))
	s.DynamicAllocation = &v1alpha1.DynamicAllocation{
		Enabled:          true,
		InitialExecutors: ptr.To(spec.Executors),
		MinExecutors:     ptr.To(spec.Executors),
		MaxExecutors:     ptr.To(spec.Executors),
	}
	s.RestartPolicy = v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyNever}
	return app
}

// BaselineProfileName is the SparkProfile of the baseline run.
const BaselineProfileName = "demo-amd64-on-demand"

// BaselineProfile places executors and drivers on amd64 on-demand capacity
// only: the fleet before sparkplane's practices. Everything else (shuffle,
// decommissioning, zone) is the built-in default, so the runs differ only in
// where pods go.
func BaselineProfile() *v1alpha1.SparkProfile {
	return &v1alpha1.SparkProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: BaselineProfileName, Labels: map[string]string{"app.kubernetes.io/managed-by": "sparkplane-demo"}},
		Spec: v1alpha1.SparkProfileSpec{
			Description: "Demo baseline: executors and drivers on amd64 on-demand nodes only.",
			Executor: &v1alpha1.ExecutorPolicy{
				Tiers: []v1alpha1.PlacementTier{{
					Name: "amd64-on-demand", Architecture: "amd64", CapacityType: karpv1.CapacityTypeOnDemand,
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: karpv1.CapacityTypeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{karpv1.CapacityTypeOnDemand}}},
				}},
				Architectures: []string{"amd64"},
			},
		},
	}
}

package submit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func scalaApp() *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "spark-pi", Namespace: "analytics", UID: types.UID("0d6a3b52-5f0c-4a8e-9a41-3c2e1f0b7d11")},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			ImagePullPolicy:     ptr.To("IfNotPresent"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar"),
			Arguments:           []string{"1000"},
			SparkConf: map[string]string{
				"spark.eventLog.enabled": "true",
				"spark.eventLog.dir":     "s3a://logs/spark events/",
			},
			HadoopConf: map[string]string{"fs.s3a.endpoint": "http://minio:9000"},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "unused", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
			Driver: v1alpha1.DriverSpec{
				SparkPodSpec: v1alpha1.SparkPodSpec{
					Cores:          ptr.To[int32](1),
					CoreLimit:      ptr.To[v1alpha1.CPUQuantity]("1200m"),
					Memory:         ptr.To[v1alpha1.MemorySize]("512m"),
					Labels:         map[string]string{"team": "analytics"},
					ServiceAccount: ptr.To("spark"),
					VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					Tolerations:    []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "spark", Effect: corev1.TaintEffectNoSchedule}},
					NodeSelector:   map[string]string{"karpenter.sh/capacity-type": "on-demand"},
				},
				PriorityClassName: ptr.To("spark-driver"),
			},
			Executor: v1alpha1.ExecutorSpec{
				SparkPodSpec: v1alpha1.SparkPodSpec{
					Cores:                         ptr.To[int32](2),
					Memory:                        ptr.To[v1alpha1.MemorySize]("8g"),
					Labels:                        map[string]string{"team": "analytics"},
					Env:                           []corev1.EnvVar{{Name: "TZ", Value: "UTC"}},
					TerminationGracePeriodSeconds: ptr.To[int64](90),
					VolumeMounts:                  []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				},
				Instances:   ptr.To[int32](4),
				CoreRequest: ptr.To[v1alpha1.CPUQuantity]("1500m"),
			},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
		},
	}
}

func pythonApp() *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "pyspark-pi", Namespace: "default", UID: types.UID("6f1e2d3c-4b5a-4697-8877-665544332211")},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypePython,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark-py:3.5.3"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/src/main/python/pi.py"),
			Arguments:           []string{"10"},
			Deps:                v1alpha1.Dependencies{PyFiles: []string{"local:///opt/app/lib.zip"}},
			Driver: v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{
				Memory:      ptr.To[v1alpha1.MemorySize]("2g"),
				Annotations: map[string]string{"example.com/owner": "data-team"},
			}},
			Executor: v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{
				Cores:  ptr.To[int32](1),
				Memory: ptr.To[v1alpha1.MemorySize]("2g"),
			}, Instances: ptr.To[int32](2)},
			RestartPolicy: v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](3)},
		},
	}
}

// TestBuildGolden pins every generated object of a Scala and a Python
// application. Run with -update to rewrite testdata/ after a deliberate change.
func TestBuildGolden(t *testing.T) {
	cases := map[string]*v1alpha1.SparkApplication{"scala": scalaApp(), "python": pythonApp()}
	for name, app := range cases {
		t.Run(name, func(t *testing.T) {
			objs, err := Build(app, Options{Attempt: 1})
			if err != nil {
				t.Fatal(err)
			}
			driver := objs.DriverPod.DeepCopy()
			driver.UID = "driver-uid"
			objs.OwnByDriver(driver)
			var docs []string
			for _, obj := range []any{objs.DriverPod, objs.DriverService, objs.ConfConfigMap, objs.PodTemplateConfigMap} {
				data, err := yaml.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, string(data))
			}
			got := strings.Join(docs, "---\n")
			path := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("objects differ from %s (-want +got); run go test -update if the change is deliberate:\n%s", path, diff)
			}
			// The properties file must also be what the golden says in full: reparse it.
			props, err := ParseProperties(objs.ConfConfigMap.Data[SparkConfFile])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(objs.Conf, props); diff != "" {
				t.Errorf("spark.properties does not read back as the effective conf (-conf +read):\n%s", diff)
			}
		})
	}
}

// TestSparkSubmitContract checks the properties, args, env and resources
// spark-submit (cluster mode) would produce, independent of the golden files.
func TestSparkSubmitContract(t *testing.T) {
	t.Run("scala", func(t *testing.T) {
		objs, err := Build(scalaApp(), Options{Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		n := objs.Names
		wantConf := map[string]string{
			"spark.app.id":                              n.AppID,
			"spark.master":                              "k8s://https://kubernetes.default.svc:443",
			"spark.submit.deployMode":                   "cluster",
			"spark.kubernetes.namespace":                "analytics",
			"spark.kubernetes.driver.pod.name":          "spark-pi-1-driver",
			"spark.driver.host":                         "spark-pi-1-driver-svc.analytics.svc",
			"spark.driver.port":                         "7078",
			"spark.driver.blockManager.port":            "7079",
			"spark.kubernetes.executor.podTemplateFile": "/opt/spark/pod-template/pod-spec-template.yml",
			"spark.executor.instances":                  "4",
			"spark.executor.memory":                     "8g",
			"spark.kubernetes.executor.request.cores":   "1500m",
			"spark.jars":                                "local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar",
			"spark.hadoop.fs.s3a.endpoint":              "http://minio:9000",
			"spark.eventLog.dir":                        "s3a://logs/spark events/",
			"spark.kubernetes.memoryOverheadFactor":     "0.1",
		}
		for k, v := range wantConf {
			if objs.Conf[k] != v {
				t.Errorf("%s = %q, want %q", k, objs.Conf[k], v)
			}
		}
		c := objs.DriverPod.Spec.Containers[0]
		wantArgs := []string{"driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class", "org.apache.spark.examples.SparkPi",
			"local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar", "1000"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		// 512m + max(51, 384) = 896Mi; cpu request 1, limit 1200m.
		wantRes := corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("896Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1200m"), corev1.ResourceMemory: resource.MustParse("896Mi")},
		}
		if diff := cmp.Diff(wantRes, c.Resources); diff != "" {
			t.Errorf("driver resources (-want +got):\n%s", diff)
		}
		// Executors: 8g = 8192 + 819 overhead.
		exec := objs.ExecutorTemplate.Spec.Containers[0].Resources
		if got := exec.Limits[corev1.ResourceMemory]; got.String() != "9011Mi" {
			t.Errorf("executor memory = %s, want 9011Mi", got.String())
		}
		if len(objs.DriverPod.Spec.Volumes) != 4 || objs.DriverPod.Spec.Volumes[3].Name != "data" {
			t.Errorf("driver volumes = %v, want local dir, conf, template and the mounted 'data' only", volumeNames(objs.DriverPod.Spec.Volumes))
		}
		for _, pod := range []*corev1.Pod{objs.DriverPod, objs.ExecutorTemplate} {
			if pod.Labels[v1alpha1.LabelApplication] != "spark-pi" {
				t.Errorf("pod labels %v lack %s=spark-pi", pod.Labels, v1alpha1.LabelApplication)
			}
		}
		if objs.ExecutorTemplate.Labels[spark.LabelRole] != "executor" || ptr.Deref(objs.ExecutorTemplate.Spec.TerminationGracePeriodSeconds, 0) != 90 {
			t.Errorf("executor template: labels %v grace %v", objs.ExecutorTemplate.Labels, objs.ExecutorTemplate.Spec.TerminationGracePeriodSeconds)
		}
	})
	t.Run("python", func(t *testing.T) {
		objs, err := Build(pythonApp(), Options{Attempt: 2})
		if err != nil {
			t.Fatal(err)
		}
		c := objs.DriverPod.Spec.Containers[0]
		wantArgs := []string{"driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class", "org.apache.spark.deploy.PythonRunner",
			"local:///opt/spark/examples/src/main/python/pi.py", "10"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		// 2g + 0.4 × 2048 = 2048 + 819 = 2867Mi.
		if got := c.Resources.Limits[corev1.ResourceMemory]; got.String() != "2867Mi" {
			t.Errorf("driver memory = %s, want 2867Mi (0.4 overhead for Python)", got.String())
		}
		if objs.DriverPod.Name != "pyspark-pi-2-driver" || objs.Conf["spark.kubernetes.resource.type"] != "python" {
			t.Errorf("attempt 2: pod %s, resource type %s", objs.DriverPod.Name, objs.Conf["spark.kubernetes.resource.type"])
		}
		if _, ok := objs.Conf["spark.jars"]; ok {
			t.Errorf("a Python app's main file must not join spark.jars: %q", objs.Conf["spark.jars"])
		}
		app := pythonApp()
		app.Spec.SparkConf = map[string]string{"spark.pyspark.python": "python3.11", "spark.kubernetes.driverEnv.LOG_LEVEL": "debug"}
		withEnv, err := Build(app, Options{Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, e := range withEnv.DriverPod.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["PYSPARK_PYTHON"] != "python3.11" || env["LOG_LEVEL"] != "debug" {
			t.Errorf("driver env = %v; want PYSPARK_PYTHON from spark.pyspark.python and LOG_LEVEL from spark.kubernetes.driverEnv", env)
		}
		if objs.Conf["spark.submit.pyFiles"] != "local:///opt/app/lib.zip" {
			t.Errorf("spark.submit.pyFiles = %q", objs.Conf["spark.submit.pyFiles"])
		}
	})
}

func volumeNames(vs []corev1.Volume) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// TestBuildErrors: what the CRD cannot judge is refused with the field and the fix.
func TestBuildErrors(t *testing.T) {
	cases := map[string]struct {
		mutate func(*v1alpha1.SparkApplication)
		want   string
	}{
		"bad memory in typed field": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.Driver.Memory = ptr.To[v1alpha1.MemorySize]("12x") },
			want:   `spec.driver.memory: Invalid value: "12x": "12x" is not a Spark memory size; use e.g. 4g or 4096m`,
		},
		"bad memory in sparkConf": {
			mutate: func(a *v1alpha1.SparkApplication) {
				a.Spec.Executor.Memory = nil
				a.Spec.SparkConf["spark.executor.memory"] = "1.5g"
			},
			want: `spec.sparkConf[spark.executor.memory]: Invalid value: "1.5g": "1.5g" is not a Spark memory size: fractions are not supported; use e.g. 1536m instead of 1.5g`,
		},
		"reserved conf": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.SparkConf["spark.driver.host"] = "me" },
			want:   `spec.sparkConf[spark.driver.host]: Forbidden: sparkplane sets this property`,
		},
		"reserved label": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Labels["spark-role"] = "x" },
			want:   `spec.executor.labels[spark-role]: Forbidden: this label is set by Spark or sparkplane; remove it`,
		},
		"mount of unknown volume": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.Driver.VolumeMounts[0].Name = "dta" },
			want:   `spec.driver.volumeMounts[0].name: Invalid value: "dta": no volume of that name in spec.volumes; add it there or fix the name`,
		},
		"bad port": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.SparkConf["spark.ui.port"] = "http" },
			want:   `spec.sparkConf[spark.ui.port]: Invalid value: "http": must be a port number between 1 and 65535`,
		},
		"bad cores in sparkConf": {
			mutate: func(a *v1alpha1.SparkApplication) {
				a.Spec.Executor.Cores = nil
				a.Spec.Executor.CoreRequest = nil
				a.Spec.SparkConf["spark.executor.cores"] = "-1"
			},
			want: `spec.sparkConf[spark.executor.cores]: Invalid value: "-1": must be a positive CPU quantity`,
		},
		"no uid": {
			mutate: func(a *v1alpha1.SparkApplication) { a.UID = "" },
			want:   `metadata.uid: Required value`,
		},
		"python with mainClass": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.Type = v1alpha1.SparkApplicationTypePython },
			want:   `spec.mainClass: Forbidden: mainClass is for Java and Scala applications only; remove it`,
		},
		"no image": {
			mutate: func(a *v1alpha1.SparkApplication) { a.Spec.Image = nil },
			want:   `spec.image: Required value: set spec.image (or both spec.driver.image and spec.executor.image)`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := scalaApp()
			tc.mutate(app)
			objs, err := Build(app, Options{Attempt: 1})
			if err == nil {
				t.Fatalf("Build succeeded; want error %q", tc.want)
			}
			if objs != nil {
				t.Errorf("Build returned objects with an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, tc.want)
			}
			// These are errors of the spec's fields: Validate finds
			// them, in the same words, without building.
			if verr := Validate(app, Options{Attempt: 1}); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate = %v; want Build's error %v", verr, err)
			}
		})
	}
}

// TestValidateSkipsTheBuild: Validate accepts a valid spec, and what only
// the built objects show (an Ingress address) is left to Build.
func TestValidateSkipsTheBuild(t *testing.T) {
	if err := Validate(scalaApp(), Options{Attempt: 1}); err != nil {
		t.Fatalf("Validate of a valid application: %v", err)
	}
	app := scalaApp()
	app.Spec.SparkUIOptions = &v1alpha1.SparkUIConfiguration{}
	app.Spec.DriverIngressOptions = []v1alpha1.DriverIngressConfiguration{{
		ServicePort: ptr.To[int32](4045), ServicePortName: ptr.To("extra"), IngressURLFormat: "bad_host/{{$appName}}",
	}}
	if err := Validate(app, Options{Attempt: 1}); err != nil {
		t.Errorf("Validate = %v; the Ingress address is checked as it is built", err)
	}
	if _, err := Build(app, Options{Attempt: 1}); err == nil || !strings.Contains(err.Error(), "spec.driverIngressOptions[0].ingressURLFormat") {
		t.Errorf("Build = %v; want the Ingress address refused", err)
	}
}

func TestNames(t *testing.T) {
	app := scalaApp()
	a, b := NamesFor(app, 1), NamesFor(app, 1)
	if a != b {
		t.Fatalf("names are not deterministic: %+v vs %+v", a, b)
	}
	if c := NamesFor(app, 2); c.DriverPod == a.DriverPod || c.AppID == a.AppID {
		t.Errorf("attempt 2 reuses attempt 1's names: %+v", c)
	}
	other := scalaApp()
	other.UID = "another"
	if NamesFor(other, 1).AppID == a.AppID {
		t.Errorf("a recreated application (new UID) reuses the old app ID")
	}
	long := scalaApp()
	long.Name = strings.Repeat("very-long.name-", 4) + "x"
	n := NamesFor(long, 12)
	if len(n.Prefix) > maxPrefixLength || !dnsLabel.MatchString(n.Prefix) || len(n.DriverService) > 63 || !dnsLabel.MatchString(n.DriverService) {
		t.Errorf("long name gives invalid names: %+v", n)
	}
	if !strings.HasPrefix(n.AppID, "spark-") || len(n.AppID) != 38 {
		t.Errorf("app ID %q: want spark- and 32 hex digits", n.AppID)
	}
}

func TestAppNameLabel(t *testing.T) {
	for in, want := range map[string]string{
		"spark-pi":              "spark-pi",
		"My App.v2":             "my-app-v2",
		"--x__y--":              "x-y",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := AppNameLabel(in); got != want {
			t.Errorf("AppNameLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

package submit

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// confApp is the smallest application; each row of the conf table adds one
// conf (or field) to it.
func confApp() *v1alpha1.SparkApplication {
	return &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "jobs", UID: types.UID("7c0a7a4e-1f0e-4bd0-9d55-0e1f2a3b4c5d")},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
		},
	}
}

// podView is what a conf row can change on a pod, for the golden files.
type podView struct {
	Labels             map[string]string             `json:"labels,omitempty"`
	Annotations        map[string]string             `json:"annotations,omitempty"`
	NodeSelector       map[string]string             `json:"nodeSelector,omitempty"`
	SchedulerName      string                        `json:"schedulerName,omitempty"`
	ServiceAccountName string                        `json:"serviceAccountName,omitempty"`
	ImagePullSecrets   []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	Volumes            []corev1.Volume               `json:"volumes,omitempty"`
	Env                []corev1.EnvVar               `json:"env,omitempty"`
	VolumeMounts       []corev1.VolumeMount          `json:"volumeMounts,omitempty"`
	Resources          corev1.ResourceRequirements   `json:"resources"`
}

func viewOf(pod *corev1.Pod) podView {
	c := pod.Spec.Containers[0]
	return podView{
		Labels: pod.Labels, Annotations: pod.Annotations, NodeSelector: pod.Spec.NodeSelector,
		SchedulerName: pod.Spec.SchedulerName, ServiceAccountName: pod.Spec.ServiceAccountName,
		ImagePullSecrets: pod.Spec.ImagePullSecrets, Volumes: pod.Spec.Volumes,
		Env: c.Env, VolumeMounts: c.VolumeMounts, Resources: c.Resources,
	}
}

// confRow is one row of docs/sparkapplication.md's conf table.
type confRow struct {
	conf  map[string]string
	edit  func(app *v1alpha1.SparkApplication)
	files map[string]string // spec.sparkConfigMap's data
	check func(t *testing.T, objs *Objects)
}

func confRows() map[string]confRow {
	return map[string]confRow{
		"driver.label": {conf: map[string]string{"spark.kubernetes.driver.label.tier": "gold"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver label", o.DriverPod.Labels["tier"], "gold")
		}},
		"driver.annotation": {conf: map[string]string{"spark.kubernetes.driver.annotation.example.com/owner": "etl"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver annotation", o.DriverPod.Annotations["example.com/owner"], "etl")
		}},
		"driver.service.label": {conf: map[string]string{"spark.kubernetes.driver.service.label.tier": "gold"}, check: func(t *testing.T, o *Objects) {
			want(t, "service label", o.DriverService.Labels["tier"], "gold")
		}},
		"driver.service.annotation": {conf: map[string]string{"spark.kubernetes.driver.service.annotation.example.com/scrape": "true"}, check: func(t *testing.T, o *Objects) {
			want(t, "service annotation", o.DriverService.Annotations["example.com/scrape"], "true")
		}},
		"executor.label": {conf: map[string]string{"spark.kubernetes.executor.label.tier": "gold", "spark.kubernetes.executor.label.exec": "e-{{EXECUTOR_ID}}"}, check: func(t *testing.T, o *Objects) {
			want(t, "template label", o.ExecutorTemplate.Labels["tier"], "gold")
			// The driver fills the placeholder per executor: not in the template.
			want(t, "template placeholder label", o.ExecutorTemplate.Labels["exec"], "")
			want(t, "spark.properties", o.Conf["spark.kubernetes.executor.label.exec"], "e-{{EXECUTOR_ID}}")
		}},
		"executor.annotation": {conf: map[string]string{"spark.kubernetes.executor.annotation.example.com/owner": "etl"}, check: func(t *testing.T, o *Objects) {
			want(t, "template annotation", o.ExecutorTemplate.Annotations["example.com/owner"], "etl")
		}},
		"driver.secrets": {conf: map[string]string{"spark.kubernetes.driver.secrets.db-creds": "/etc/db"}, check: func(t *testing.T, o *Objects) {
			if !hasVolume(o.DriverPod, "db-creds-volume", "/etc/db") {
				t.Errorf("driver lacks volume db-creds-volume at /etc/db")
			}
		}},
		"driver.secretKeyRef": {conf: map[string]string{"spark.kubernetes.driver.secretKeyRef.DB_PASSWORD": "db-creds:password"}, check: func(t *testing.T, o *Objects) {
			e := envVar(o.DriverPod, "DB_PASSWORD")
			if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "db-creds" || e.ValueFrom.SecretKeyRef.Key != "password" {
				t.Errorf("driver env DB_PASSWORD = %+v, want secretKeyRef db-creds/password", e)
			}
		}},
		"executor.secrets": {conf: map[string]string{"spark.kubernetes.executor.secrets.db-creds": "/etc/db"}, check: func(t *testing.T, o *Objects) {
			// The driver mounts it on each executor (MountSecretsFeatureStep);
			// a template volume of that name would be a duplicate.
			want(t, "spark.properties", o.Conf["spark.kubernetes.executor.secrets.db-creds"], "/etc/db")
			if hasVolume(o.ExecutorTemplate, "db-creds-volume", "/etc/db") {
				t.Errorf("template mounts the secret the driver will mount")
			}
		}},
		"node.selector": {conf: map[string]string{"spark.kubernetes.node.selector.disk": "ssd"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver node selector", o.DriverPod.Spec.NodeSelector["disk"], "ssd")
			want(t, "template node selector", o.ExecutorTemplate.Spec.NodeSelector["disk"], "ssd")
		}},
		"driver.node.selector": {conf: map[string]string{"spark.kubernetes.node.selector.disk": "ssd", "spark.kubernetes.driver.node.selector.disk": "nvme"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver node selector", o.DriverPod.Spec.NodeSelector["disk"], "nvme")
			want(t, "template node selector", o.ExecutorTemplate.Spec.NodeSelector["disk"], "ssd")
		}},
		"executor.node.selector": {conf: map[string]string{"spark.kubernetes.executor.node.selector.karpenter.sh/capacity-type": "spot"}, check: func(t *testing.T, o *Objects) {
			want(t, "template node selector", o.ExecutorTemplate.Spec.NodeSelector["karpenter.sh/capacity-type"], "spot")
			want(t, "driver node selector", o.DriverPod.Spec.NodeSelector["karpenter.sh/capacity-type"], "")
		}},
		"driverEnv": {conf: map[string]string{"spark.kubernetes.driverEnv.REGION": "eu-west-1"}, check: func(t *testing.T, o *Objects) {
			if e := envVar(o.DriverPod, "REGION"); e == nil || e.Value != "eu-west-1" {
				t.Errorf("driver env REGION = %+v, want eu-west-1", e)
			}
		}},
		"executorEnv": {conf: map[string]string{"spark.executorEnv.REGION": "eu-west-1"}, check: func(t *testing.T, o *Objects) {
			// BasicExecutorFeatureStep adds it after the template's env.
			want(t, "spark.properties", o.Conf["spark.executorEnv.REGION"], "eu-west-1")
			if envVar(o.ExecutorTemplate, "REGION") != nil {
				t.Errorf("template sets REGION; the driver would add it a second time")
			}
		}},
		"authenticate.driver.serviceAccountName": {conf: map[string]string{spark.ConfDriverServiceAccount: "etl"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver account", o.DriverPod.Spec.ServiceAccountName, "etl")
			want(t, "template account (driver's, as ExecutorKubernetesCredentialsFeatureStep falls back)", o.ExecutorTemplate.Spec.ServiceAccountName, "etl")
		}},
		"authenticate.executor.serviceAccountName": {conf: map[string]string{spark.ConfDriverServiceAccount: "etl", spark.ConfExecutorServiceAccount: "etl-exec"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver account", o.DriverPod.Spec.ServiceAccountName, "etl")
			want(t, "template account", o.ExecutorTemplate.Spec.ServiceAccountName, "etl-exec")
		}},
		"container.image.pullSecrets": {conf: map[string]string{spark.ConfPullSecrets: "registry-a, registry-b"}, edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.ImagePullSecrets = []string{"registry-b", "registry-c"}
		}, check: func(t *testing.T, o *Objects) {
			wantList := []corev1.LocalObjectReference{{Name: "registry-b"}, {Name: "registry-c"}, {Name: "registry-a"}}
			for _, pod := range []*corev1.Pod{o.DriverPod, o.ExecutorTemplate} {
				if diff := cmp.Diff(wantList, pod.Spec.ImagePullSecrets); diff != "" {
					t.Errorf("pull secrets (-want +got):\n%s", diff)
				}
			}
		}},
		"scheduler.name": {conf: map[string]string{spark.ConfSchedulerName: "volcano", spark.ConfExecutorSchedulerName: "yunikorn"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver scheduler", o.DriverPod.Spec.SchedulerName, "volcano")
			want(t, "template scheduler", o.ExecutorTemplate.Spec.SchedulerName, "yunikorn")
		}},
		"driver.scheduler.name": {conf: map[string]string{spark.ConfSchedulerName: "volcano", spark.ConfDriverSchedulerName: "yunikorn"}, check: func(t *testing.T, o *Objects) {
			want(t, "driver scheduler", o.DriverPod.Spec.SchedulerName, "yunikorn")
			want(t, "template scheduler", o.ExecutorTemplate.Spec.SchedulerName, "volcano")
		}},
		"driver.cores": {conf: map[string]string{"spark.kubernetes.driver.request.cores": "250m", "spark.kubernetes.driver.limit.cores": "2"}, check: func(t *testing.T, o *Objects) {
			r := o.DriverPod.Spec.Containers[0].Resources
			want(t, "driver cpu request", r.Requests.Cpu().String(), "250m")
			want(t, "driver cpu limit", r.Limits.Cpu().String(), "2")
		}},
		"executor.cores": {conf: map[string]string{"spark.kubernetes.executor.request.cores": "750m", "spark.kubernetes.executor.limit.cores": "1500m"}, check: func(t *testing.T, o *Objects) {
			r := o.ExecutorTemplate.Spec.Containers[0].Resources
			want(t, "executor cpu request", r.Requests.Cpu().String(), "750m")
			want(t, "executor cpu limit", r.Limits.Cpu().String(), "1500m")
		}},
		"precedence": {conf: map[string]string{
			"spark.kubernetes.driver.label.tier": "from-sparkConf", "spark.kubernetes.executor.label.tier": "from-sparkConf",
			spark.ConfDriverServiceAccount: "from-sparkConf", "spark.kubernetes.driver.request.cores": "100m", "spark.executor.memory": "4g",
		}, files: map[string]string{spark.SparkDefaultsFile: "spark.executor.memory 2g\nspark.executor.cores 3\n"}, edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConfigMap = ptr.To("defaults")
			app.Spec.Driver.Labels = map[string]string{"tier": "typed"}
			app.Spec.Executor.Labels = map[string]string{"tier": "typed"}
			app.Spec.Driver.ServiceAccount = ptr.To("typed")
			app.Spec.Driver.CoreRequest = ptr.To[v1alpha1.CPUQuantity]("200m")
		}, check: func(t *testing.T, o *Objects) {
			// typed field > spec.sparkConf > spark-defaults.conf.
			want(t, "driver label", o.DriverPod.Labels["tier"], "typed")
			want(t, "template label", o.ExecutorTemplate.Labels["tier"], "typed")
			want(t, "spark.properties executor label", o.Conf["spark.kubernetes.executor.label.tier"], "typed")
			want(t, "driver account", o.DriverPod.Spec.ServiceAccountName, "typed")
			want(t, "driver cpu request", o.DriverPod.Spec.Containers[0].Resources.Requests.Cpu().String(), "200m")
			want(t, "executor memory", o.Conf["spark.executor.memory"], "4g")
			want(t, "executor cores (spark-defaults.conf)", o.Conf["spark.executor.cores"], "3")
		}},
		"sparkConfigMap": {files: map[string]string{"log4j2.properties": "rootLogger.level = warn\n", "metrics.properties": "*.sink.jmx.class=org.apache.spark.metrics.sink.JmxSink\n"},
			edit: func(app *v1alpha1.SparkApplication) { app.Spec.SparkConfigMap = ptr.To("spark-files") },
			check: func(t *testing.T, o *Objects) {
				want(t, "log4j2.properties in the driver's conf ConfigMap", o.ConfConfigMap.Data["log4j2.properties"], "rootLogger.level = warn\n")
				if envValue(o.DriverPod, "SPARK_CONF_DIR") != SparkConfDir {
					t.Errorf("SPARK_CONF_DIR = %q, want %s", envValue(o.DriverPod, "SPARK_CONF_DIR"), SparkConfDir)
				}
				var items []string
				for _, v := range o.DriverPod.Spec.Volumes {
					if v.Name == SparkConfVolume {
						for _, it := range v.ConfigMap.Items {
							items = append(items, it.Path)
						}
					}
				}
				if diff := cmp.Diff([]string{"log4j2.properties", "metrics.properties", SparkConfFile}, items); diff != "" {
					t.Errorf("files in SPARK_CONF_DIR (-want +got):\n%s", diff)
				}
				want(t, "executor ConfigMap left on", o.Conf[spark.ConfExecutorDisableConfMap], "")
			}},
		"hadoopConfigMap": {edit: func(app *v1alpha1.SparkApplication) { app.Spec.HadoopConfigMap = ptr.To("hadoop-site") }, check: func(t *testing.T, o *Objects) {
			want(t, "HADOOP_CONF_DIR", envValue(o.DriverPod, "HADOOP_CONF_DIR"), HadoopConfDir)
			if !hasVolume(o.DriverPod, HadoopConfVolume, HadoopConfDir) {
				t.Errorf("driver lacks the Hadoop conf volume at %s", HadoopConfDir)
			}
			want(t, "executors' Hadoop ConfigMap", o.Conf[spark.ConfExecutorHadoopConfigMap], "hadoop-site")
		}},
	}
}

// TestKubernetesConfTable builds one application per row of the table in
// docs/sparkapplication.md with that conf set, checks the field it must set,
// and pins the pods' affected fields in testdata/conf/<row>.golden.yaml
// (-update rewrites them).
func TestKubernetesConfTable(t *testing.T) {
	for name, row := range confRows() {
		t.Run(name, func(t *testing.T) {
			app := confApp()
			app.Spec.SparkConf = row.conf
			if row.edit != nil {
				row.edit(app)
			}
			objs, err := Build(app, Options{Attempt: 1, SparkConfFiles: row.files})
			if err != nil {
				t.Fatal(err)
			}
			row.check(t, objs)
			view := map[string]any{
				"driver":           viewOf(objs.DriverPod),
				"executorTemplate": viewOf(objs.ExecutorTemplate),
				"service":          map[string]any{"labels": objs.DriverService.Labels, "annotations": objs.DriverService.Annotations},
				"confFiles":        slices.Sorted(maps.Keys(objs.ConfConfigMap.Data)),
			}
			got, err := yaml.Marshal(view)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "conf", strings.ReplaceAll(name, "/", "_")+".golden.yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantData, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(wantData), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestConfTableDocumented: every row of the conf table in
// docs/sparkapplication.md has a golden test above, and every test a row.
func TestConfTableDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "sparkapplication.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, line := range strings.Split(string(doc), "\n") {
		if _, rest, ok := strings.Cut(line, "<!-- conf-row: "); ok {
			name, _, _ := strings.Cut(rest, "-->")
			documented = append(documented, strings.TrimSpace(name))
		}
	}
	var tested []string
	for name := range confRows() {
		tested = append(tested, name)
	}
	slices.Sort(documented)
	slices.Sort(tested)
	if diff := cmp.Diff(tested, documented); diff != "" {
		t.Errorf("conf table rows in docs/sparkapplication.md (<!-- conf-row: NAME -->) and golden tests differ (-tested +documented):\n%s", diff)
	}
}

// TestKubernetesConfRefused: confs native submission cannot honour, or that
// would make the driver create invalid executors, are refused naming the
// field.
func TestKubernetesConfRefused(t *testing.T) {
	cases := map[string]struct {
		edit  func(app *v1alpha1.SparkApplication)
		files map[string]string
		want  string
	}{
		"driver pod template file": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConf = map[string]string{spark.ConfDriverPodTemplateFile: "/tmp/driver.yaml"}
		}, want: "spec.sparkConf[" + spark.ConfDriverPodTemplateFile + "]"},
		"reserved label by conf": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConf = map[string]string{spark.ConfDriverLabel + spark.LabelRole: "x"}
		}, want: "spec.sparkConf[" + spark.ConfDriverLabel + spark.LabelRole + "]"},
		"executor secret twice": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConf = map[string]string{spark.ConfExecutorSecrets + "db": "/etc/db"}
			app.Spec.Executor.Secrets = []v1alpha1.SecretInfo{{Name: "db", Path: "/etc/db", Type: v1alpha1.SecretTypeGeneric}}
		}, want: "spec.sparkConf[" + spark.ConfExecutorSecrets + "db]"},
		"executor env twice": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConf = map[string]string{spark.ConfExecutorEnv + "TZ": "UTC"}
			app.Spec.Executor.Env = []corev1.EnvVar{{Name: "TZ", Value: "UTC"}}
		}, want: "spec.executor.env[0].name"},
		"spark.properties in sparkConfigMap": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConfigMap = ptr.To("files")
		}, files: map[string]string{SparkConfFile: "a=b"}, want: "spec.sparkConfigMap"},
		"executor ConfigMap disabled with sparkConfigMap": {edit: func(app *v1alpha1.SparkApplication) {
			app.Spec.SparkConfigMap = ptr.To("files")
			app.Spec.SparkConf = map[string]string{spark.ConfExecutorDisableConfMap: "true"}
		}, files: map[string]string{"log4j2.properties": ""}, want: "spec.sparkConf[" + spark.ConfExecutorDisableConfMap + "]"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := confApp()
			tc.edit(app)
			_, err := Build(app, Options{Attempt: 1, SparkConfFiles: tc.files})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func want(t *testing.T, what, got, wantValue string) {
	t.Helper()
	if got != wantValue {
		t.Errorf("%s = %q, want %q", what, got, wantValue)
	}
}

func hasVolume(pod *corev1.Pod, name, path string) bool {
	vol := slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	mount := slices.ContainsFunc(pod.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == name && m.MountPath == path })
	return vol && mount
}

func envVar(pod *corev1.Pod, name string) *corev1.EnvVar {
	for i, e := range pod.Spec.Containers[0].Env {
		if e.Name == name {
			return &pod.Spec.Containers[0].Env[i]
		}
	}
	return nil
}

func envValue(pod *corev1.Pod, name string) string {
	if e := envVar(pod, name); e != nil {
		return e.Value
	}
	return ""
}

package emulator

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestResolveDriver(t *testing.T) {
	pod, cms := driverFixture("team-a", fixtureProps)
	spec, err := ResolveDriver(context.Background(), pod, configMapsGetter(cms))
	if err != nil {
		t.Fatal(err)
	}
	if spec.AppID != "spark-0123456789abcdef" || spec.AppName != "Spark Pi" || spec.ContainerName != "spark-kubernetes-driver" {
		t.Errorf("AppID, AppName, ContainerName = %q, %q, %q", spec.AppID, spec.AppName, spec.ContainerName)
	}
	if got := spec.Conf["spark.master"]; got != "k8s://https://127.0.0.1:6443" {
		t.Errorf("spark.master = %q: escapes not decoded", got)
	}
	if spec.ExecutorTemplate == nil || spec.ExecutorTemplate.Spec.TerminationGracePeriodSeconds == nil || *spec.ExecutorTemplate.Spec.TerminationGracePeriodSeconds != 90 {
		t.Fatalf("executor template not read through items key→path: %+v", spec.ExecutorTemplate)
	}
}

func TestResolveDriverErrors(t *testing.T) {
	cases := map[string]struct {
		mutate  func(*corev1.Pod, []*corev1.ConfigMap)
		props   string
		wantErr []string
	}{
		"no SPARK_CONF_DIR": {
			mutate:  func(p *corev1.Pod, _ []*corev1.ConfigMap) { p.Spec.Containers[0].Env = nil },
			wantErr: []string{"SPARK_CONF_DIR", "no container"},
		},
		"conf dir not mounted": {
			mutate:  func(p *corev1.Pod, _ []*corev1.ConfigMap) { p.Spec.Containers[0].Env[3].Value = "/etc/spark" },
			wantErr: []string{"/etc/spark/spark.properties", "no volumeMount"},
		},
		"ConfigMap missing": {
			mutate:  func(_ *corev1.Pod, cms []*corev1.ConfigMap) { cms[0].Name = "other" },
			wantErr: []string{"spark-pi-7f3a-driver-conf-map", "not found"},
		},
		"item path not projected": {
			mutate: func(p *corev1.Pod, _ []*corev1.ConfigMap) {
				p.Spec.Volumes[2].ConfigMap.Items[0].Path = "other.properties"
			},
			wantErr: []string{`no item at path "spark.properties"`},
		},
		"template key missing": {
			mutate:  func(_ *corev1.Pod, cms []*corev1.ConfigMap) { cms[1].Data = map[string]string{"x": "y"} },
			wantErr: []string{"spark.kubernetes.executor.podTemplateFile", `no key "podspec-configmap-key"`},
		},
		"template is not YAML of a pod": {
			mutate:  func(_ *corev1.Pod, cms []*corev1.ConfigMap) { cms[1].Data["podspec-configmap-key"] = "kind: Service\n" },
			wantErr: []string{`kind "Service"`},
		},
		"app id disagrees with the label": {
			props:   strings.Replace(fixtureProps, "spark.app.id=spark-0123456789abcdef", "spark.app.id=other", 1),
			wantErr: []string{"spark.app.id", "spark-app-selector"},
		},
		"volume is not a ConfigMap": {
			mutate: func(p *corev1.Pod, _ []*corev1.ConfigMap) {
				p.Spec.Volumes[2].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
			},
			wantErr: []string{"not a configMap volume"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			props := fixtureProps
			if tc.props != "" {
				props = tc.props
			}
			pod, cms := driverFixture("team-a", props)
			if tc.mutate != nil {
				tc.mutate(pod, cms)
			}
			_, err := ResolveDriver(context.Background(), pod, configMapsGetter(cms))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestResolveDriverSubPathAndNoItems(t *testing.T) {
	pod, cms := driverFixture("team-a", fixtureProps)
	// spark.properties mounted as a single file through subPath, the
	// template volume without items (key = file name).
	pod.Spec.Containers[0].VolumeMounts[2] = corev1.VolumeMount{Name: "spark-conf-volume-driver", MountPath: "/opt/spark/conf/spark.properties", SubPath: "spark.properties"}
	pod.Spec.Volumes[1].ConfigMap.Items = nil
	cms[1].Data = map[string]string{"pod-spec-template.yml": cms[1].Data["podspec-configmap-key"]}
	spec, err := ResolveDriver(context.Background(), pod, configMapsGetter(cms))
	if err != nil {
		t.Fatal(err)
	}
	if spec.ExecutorTemplate == nil || spec.Conf["spark.executor.cores"] != "2" {
		t.Fatalf("spec = %+v", spec)
	}
}

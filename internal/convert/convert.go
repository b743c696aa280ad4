// Package convert rewrites Kubeflow spark-operator manifests
// (sparkoperator.k8s.io/v1beta2 SparkApplication and
// ScheduledSparkApplication) into sparkplane's (sparkplane.io/v1alpha1). It is
// pure: documents in, documents and a report out.
//
// Most fields keep their names and meaning, so the main change is apiVersion.
// Deprecated fields with a direct equivalent are rewritten (failureRetries,
// retryInterval, envVars, envSecretKeyRefs); fields sparkplane does not
// implement are refused with their path and what to use instead, and the
// result is decoded strictly into sparkplane's types, so nothing is dropped
// silently.
package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// KubeflowAPIVersion is the apiVersion convert rewrites.
const KubeflowAPIVersion = "sparkoperator.k8s.io/v1beta2"

// Change is one rewrite convert made.
type Change struct {
	// Document is the 1-based position of the document in the input.
	Document int
	// Kind/Name of the object.
	Object string
	Path   string
	What   string
}

func (c Change) String() string {
	return fmt.Sprintf("%s (document %d): %s: %s", c.Object, c.Document, c.Path, c.What)
}

// Refusal lists what cannot be converted, each with its field path.
type Refusal struct {
	Errors field.ErrorList
}

func (r *Refusal) Error() string {
	var lines []string
	for _, e := range r.Errors {
		lines = append(lines, e.Error())
	}
	return "cannot convert:\n  " + strings.Join(lines, "\n  ")
}

// Convert reads YAML documents from in and returns them converted, with the
// changes made. Documents that are not Kubeflow SparkApplications or
// ScheduledSparkApplications are passed through unchanged. Any field that
// cannot be converted makes it return a *Refusal and no output.
func Convert(in io.Reader) ([]byte, []Change, error) {
	reader := utilyaml.NewYAMLReader(bufioReader(in))
	var out [][]byte
	var changes []Change
	var refused field.ErrorList
	for doc := 1; ; doc++ {
		data, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(stripComments(data))) == 0 {
			doc--
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return nil, nil, fmt.Errorf("document %d is not YAML: %w", doc, err)
		}
		c := &converter{doc: doc, obj: obj}
		converted, ok := c.convert()
		changes = append(changes, c.changes...)
		refused = append(refused, c.refused...)
		if !ok {
			out = append(out, data)
			continue
		}
		encoded, err := yaml.Marshal(converted)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, encoded)
	}
	if len(refused) > 0 {
		return nil, changes, &Refusal{Errors: refused}
	}
	return bytes.Join(out, []byte("---\n")), changes, nil
}

type converter struct {
	doc     int
	obj     map[string]any
	name    string
	changes []Change
	refused field.ErrorList
}

func (c *converter) change(path *field.Path, format string, args ...any) {
	c.changes = append(c.changes, Change{Document: c.doc, Object: c.name, Path: path.String(), What: fmt.Sprintf(format, args...)})
}

func (c *converter) refuse(path *field.Path, value any, why string) {
	c.refused = append(c.refused, field.Invalid(path, value, fmt.Sprintf("%s (document %d)", why, c.doc)))
}

// convert converts c.obj when it is a Kubeflow kind; ok is false for other
// documents (passed through).
func (c *converter) convert() (map[string]any, bool) {
	apiVersion, _ := c.obj["apiVersion"].(string)
	kind, _ := c.obj["kind"].(string)
	if apiVersion != KubeflowAPIVersion || (kind != "SparkApplication" && kind != "ScheduledSparkApplication") {
		return nil, false
	}
	meta, _ := c.obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	c.name = kind + "/" + name
	c.obj["apiVersion"] = v1alpha1.GroupVersion.String()
	c.change(field.NewPath("apiVersion"), "%s → %s", KubeflowAPIVersion, v1alpha1.GroupVersion.String())
	if _, ok := c.obj["status"]; ok {
		delete(c.obj, "status")
		c.change(field.NewPath("status"), "removed (the operator writes status)")
	}
	spec, _ := c.obj["spec"].(map[string]any)
	if spec == nil {
		c.refuse(field.NewPath("spec"), nil, "a spec is required")
		return c.obj, true
	}
	var target any
	if kind == "SparkApplication" {
		c.convertSpec(field.NewPath("spec"), spec)
		target = &v1alpha1.SparkApplication{}
	} else {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			c.convertSpec(field.NewPath("spec", "template"), tmpl)
		}
		target = &v1alpha1.ScheduledSparkApplication{}
	}
	// Whatever is left must be a sparkplane field: decode strictly.
	if len(c.refused) == 0 {
		data, err := yaml.Marshal(c.obj)
		if err == nil {
			err = yaml.UnmarshalStrict(data, target)
		}
		if err != nil {
			c.refuse(field.NewPath(""), nil, "not a sparkplane "+kind+": "+err.Error())
		}
	}
	return c.obj, true
}

// unsupported are the Kubeflow fields refused at each level, with the
// alternative (the same texts the API server gives).
var (
	podUnsupported = map[string]string{
		"template":         v1alpha1.UnsupportedTemplate,
		"gpu":              v1alpha1.UnsupportedGPU,
		"runtimeClassName": v1alpha1.UnsupportedRuntimeClassName,
		"ports":            v1alpha1.UnsupportedPorts,
	}
	driverUnsupported = map[string]string{
		"podName":          v1alpha1.UnsupportedPodName,
		"kubernetesMaster": v1alpha1.UnsupportedKubernetesMaster,
	}
	batchSchedulers = []string{v1alpha1.BatchSchedulerVolcano, v1alpha1.BatchSchedulerYuniKorn, v1alpha1.BatchSchedulerKubeScheduler}
)

func (c *converter) convertSpec(path *field.Path, spec map[string]any) {
	if mode, ok := spec["mode"].(string); ok && mode != "cluster" {
		c.refuse(path.Child("mode"), mode, "sparkplane runs applications in cluster mode only; set mode: cluster or remove it")
	}
	if bs, ok := spec["batchScheduler"].(string); ok && !slices.Contains(batchSchedulers, bs) {
		c.refuse(path.Child("batchScheduler"), bs, "sparkplane supports the batch schedulers "+strings.Join(batchSchedulers, ", "))
	}
	restart, _ := spec["restartPolicy"].(map[string]any)
	for old, repl := range map[string]string{"failureRetries": "onFailureRetries", "retryInterval": "onFailureRetryInterval"} {
		v, ok := spec[old]
		if !ok {
			continue
		}
		delete(spec, old)
		if restart == nil {
			restart = map[string]any{}
			spec["restartPolicy"] = restart
		}
		if _, set := restart[repl]; set {
			c.change(path.Child(old), "removed: restartPolicy.%s is set and wins", repl)
			continue
		}
		restart[repl] = v
		c.change(path.Child(old), "moved to %s", path.Child("restartPolicy", repl))
	}
	if m, ok := spec["monitoring"].(map[string]any); ok && m["prometheus"] == nil {
		for _, key := range []string{"exposeDriverMetrics", "exposeExecutorMetrics"} {
			if v, _ := m[key].(bool); v {
				delete(m, key)
				c.change(path.Child("monitoring", key), "removed: without monitoring.prometheus Kubeflow runs no exporter either, and sparkplane refuses the flag alone")
			}
		}
	}
	for _, role := range []string{"driver", "executor"} {
		pod, ok := spec[role].(map[string]any)
		if !ok {
			continue
		}
		rolePath := path.Child(role)
		for _, key := range sortedKeys(podUnsupported) {
			if _, set := pod[key]; set {
				c.refuse(rolePath.Child(key), "...", podUnsupported[key])
			}
		}
		if role == "driver" {
			for _, key := range sortedKeys(driverUnsupported) {
				if _, set := pod[key]; set {
					c.refuse(rolePath.Child(key), pod[key], driverUnsupported[key])
				}
			}
		}
		c.convertEnv(rolePath, pod)
	}
}

// convertEnv moves Kubeflow's deprecated envVars and envSecretKeyRefs into env.
func (c *converter) convertEnv(path *field.Path, pod map[string]any) {
	env, _ := pod["env"].([]any)
	names := map[string]bool{}
	for _, e := range env {
		if m, ok := e.(map[string]any); ok {
			names[fmt.Sprint(m["name"])] = true
		}
	}
	add := func(old, name string, entry map[string]any) {
		if names[name] {
			c.change(path.Child(old).Key(name), "dropped: env already sets %s", name)
			return
		}
		names[name] = true
		env = append(env, entry)
		c.change(path.Child(old).Key(name), "moved to %s", path.Child("env"))
	}
	if vars, ok := pod["envVars"].(map[string]any); ok {
		for _, name := range sortedKeys(vars) {
			add("envVars", name, map[string]any{"name": name, "value": fmt.Sprint(vars[name])})
		}
		delete(pod, "envVars")
	}
	if refs, ok := pod["envSecretKeyRefs"].(map[string]any); ok {
		for _, name := range sortedKeys(refs) {
			ref, _ := refs[name].(map[string]any)
			add("envSecretKeyRefs", name, map[string]any{"name": name, "valueFrom": map[string]any{
				"secretKeyRef": map[string]any{"name": ref["name"], "key": ref["key"]}}})
		}
		delete(pod, "envSecretKeyRefs")
	}
	if len(env) > 0 {
		pod["env"] = env
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

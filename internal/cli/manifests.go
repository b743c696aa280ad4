package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// kubeflowAPIVersion is the Kubeflow spark-operator's SparkApplication
// version, whose spec sparkplane's follows field for field.
const kubeflowAPIVersion = "sparkoperator.k8s.io/v1beta2"

// manifest is one SparkApplication read from a file, with where it came from
// for messages.
type manifest struct {
	source string // "app.yaml: document 2"
	object *unstructured.Unstructured
}

// readManifests reads every SparkApplication in the files (YAML or JSON, one
// or many documents, "-" for standard input). Anything else in them is an
// error that says what to do, so a typo in apiVersion never silently drops an
// application.
func readManifests(files []string, stdin io.Reader) ([]manifest, error) {
	var out []manifest
	for _, file := range files {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		name := file
		if file == "-" {
			name = "STDIN" // as kubectl names it
		}
		docs, err := parseManifests(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no SparkApplication found in %s", strings.Join(files, ", "))
	}
	return out, nil
}

// parseManifests splits data into documents and checks each is a
// SparkApplication of sparkplane.io/v1alpha1 (a List of them is expanded).
func parseManifests(file string, data []byte) ([]manifest, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []manifest
	for doc := 1; ; doc++ {
		content := map[string]any{}
		if err := decoder.Decode(&content); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if len(content) == 0 {
			doc-- // an empty document (a stray "---") is not counted
			continue
		}
		obj := &unstructured.Unstructured{Object: content}
		source := fmt.Sprintf("%s: document %d", file, doc)
		if obj.IsList() {
			err := obj.EachListItem(func(item runtime.Object) error {
				u := item.(*unstructured.Unstructured)
				m, err := checkManifest(source+" item "+u.GetName(), u)
				if err != nil {
					return err
				}
				out = append(out, m)
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		m, err := checkManifest(source, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
}

func checkManifest(source string, obj *unstructured.Unstructured) (manifest, error) {
	apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
	switch {
	case apiVersion == kubeflowAPIVersion:
		return manifest{}, fmt.Errorf("%s: apiVersion %s is the Kubeflow spark-operator's; sparkplane reads the same spec under %s: change apiVersion to %s and submit again",
			source, kubeflowAPIVersion, v1alpha1.GroupVersion, v1alpha1.GroupVersion)
	case apiVersion == "" || kind == "":
		return manifest{}, fmt.Errorf("%s: apiVersion and kind must be set (apiVersion: %s, kind: SparkApplication)", source, v1alpha1.GroupVersion)
	case kind != "SparkApplication":
		return manifest{}, fmt.Errorf("%s: kind %s is not a SparkApplication; sparkplane submits only SparkApplications (apply other objects with kubectl)", source, kind)
	case apiVersion != v1alpha1.GroupVersion.String():
		return manifest{}, fmt.Errorf("%s: apiVersion %s is not served by sparkplane: use apiVersion: %s", source, apiVersion, v1alpha1.GroupVersion)
	case obj.GetName() == "" && obj.GetGenerateName() == "":
		return manifest{}, fmt.Errorf("%s: metadata.name is required (or metadata.generateName for a generated name)", source)
	}
	return manifest{source: source, object: obj}, nil
}

// namespaceFor decides the namespace of a manifest as kubectl does: the
// document's own namespace, else the one in use; an explicit -n that
// contradicts the document is an error rather than a guess.
func namespaceFor(m manifest, kube *kubeFlags) (string, error) {
	docNamespace := m.object.GetNamespace()
	switch {
	case docNamespace == "":
		return kube.namespaceInUse, nil
	case kube.namespace != "" && kube.namespace != docNamespace:
		return "", fmt.Errorf("%s: the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation",
			m.source, docNamespace, kube.namespace, docNamespace)
	}
	return docNamespace, nil
}

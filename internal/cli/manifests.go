package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"

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

// manifestFlags are kubectl's -f/--filename and -R/--recursive.
type manifestFlags struct {
	filenames []string
	recursive bool
}

func (f *manifestFlags) addFlags(cmd *cobra.Command, usage string) {
	cmd.Flags().StringSliceVarP(&f.filenames, "filename", "f", nil, usage+` (files, folders of .yaml/.yml/.json files, URLs, "-" for standard input); repeat for several`)
	cmd.Flags().BoolVarP(&f.recursive, "recursive", "R", false, "Process the folders given with -f recursively")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
}

// readManifests reads every SparkApplication named by -f (YAML or JSON, one
// or many documents per file, folders with -R, "-" for stdin) through
// cli-runtime's resource.Builder, locally: nothing is sent to the server.
// Anything that is not a SparkApplication of ours is an error that says what
// to do, so a typo in apiVersion never silently drops an application.
func readManifests(getter genericclioptions.RESTClientGetter, f manifestFlags, stdin io.Reader) ([]manifest, error) {
	builder := resource.NewBuilder(getter).Unstructured().Local()
	var paths []string
	for _, name := range f.filenames {
		if name == "-" {
			builder = builder.Stream(stdin, "STDIN") // as kubectl names it
			continue
		}
		paths = append(paths, name)
	}
	if len(paths) > 0 {
		builder = builder.FilenameParam(false, &resource.FilenameOptions{Filenames: paths, Recursive: f.recursive})
	}
	result := builder.Do()
	if err := result.Err(); err != nil {
		return nil, err
	}
	var out []manifest
	documents := map[string]int{} // per source, for messages
	err := result.Visit(func(info *resource.Info, err error) error {
		source := "STDIN"
		if info != nil {
			source = info.Source
		}
		documents[source]++
		where := fmt.Sprintf("%s: document %d", source, documents[source])
		if err != nil {
			return fmt.Errorf("%s: %w", where, missingTypeError(err))
		}
		switch obj := info.Object.(type) {
		case *unstructured.UnstructuredList:
			for i := range obj.Items {
				m, err := checkManifest(where+" item "+obj.Items[i].GetName(), &obj.Items[i])
				if err != nil {
					return err
				}
				out = append(out, m)
			}
		case *unstructured.Unstructured:
			m, err := checkManifest(where, obj)
			if err != nil {
				return err
			}
			out = append(out, m)
		default:
			return fmt.Errorf("%s: unexpected object %T", where, info.Object)
		}
		return nil
	})
	if err != nil {
		return nil, missingTypeError(err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no SparkApplication found in %s", strings.Join(f.filenames, ", "))
	}
	return out, nil
}

// missingTypeError says what to write when a document lacks apiVersion or
// kind; the decoder's error only arrives as text ("Object 'Kind' is missing
// in '{...}'").
func missingTypeError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Object 'Kind' is missing") || strings.Contains(msg, "Object 'apiVersion' is missing") {
		return fmt.Errorf("%s: apiVersion and kind must be set (apiVersion: %s, kind: SparkApplication)", strings.SplitN(msg, ": Object", 2)[0], v1alpha1.GroupVersion)
	}
	return err
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
	case kube.enforceNamespace && kube.namespaceInUse != docNamespace:
		return "", fmt.Errorf("%s: the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation",
			m.source, docNamespace, kube.namespaceInUse, docNamespace)
	}
	return docNamespace, nil
}

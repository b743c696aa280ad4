package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const piApp = `apiVersion: sparkplane.io/v1alpha1
kind: SparkApplication
metadata:
  name: %s
spec:
  type: Python
  sparkVersion: 3.5.3
`

func app(name string) string { return strings.Replace(piApp, "%s", name, 1) }

func TestParseManifests(t *testing.T) {
	cases := map[string]struct {
		data      string
		wantNames []string
		wantErr   string
	}{
		"one document":           {data: app("a"), wantNames: []string{"a"}},
		"several documents":      {data: app("a") + "---\n" + app("b") + "---\n", wantNames: []string{"a", "b"}},
		"stray separators":       {data: "---\n---\n" + app("a") + "---\n\n---\n" + app("b"), wantNames: []string{"a", "b"}},
		"json":                   {data: `{"apiVersion":"sparkplane.io/v1alpha1","kind":"SparkApplication","metadata":{"name":"j"},"spec":{}}`, wantNames: []string{"j"}},
		"a list":                 {data: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: sparkplane.io/v1alpha1\n  kind: SparkApplication\n  metadata: {name: x}\n- apiVersion: sparkplane.io/v1alpha1\n  kind: SparkApplication\n  metadata: {name: z}\n", wantNames: []string{"x", "z"}},
		"generateName":           {data: strings.Replace(app("a"), "name: a", "generateName: nightly-", 1), wantNames: []string{""}},
		"kubeflow apiVersion":    {data: strings.Replace(app("a"), "sparkplane.io/v1alpha1", "sparkoperator.k8s.io/v1beta2", 1), wantErr: "STDIN: document 1: apiVersion sparkoperator.k8s.io/v1beta2 is the Kubeflow spark-operator's; sparkplane reads the same spec under sparkplane.io/v1alpha1: change apiVersion to sparkplane.io/v1alpha1 and submit again"},
		"kubeflow in second doc": {data: app("a") + "---\n" + strings.Replace(app("b"), "sparkplane.io/v1alpha1", "sparkoperator.k8s.io/v1beta2", 1), wantErr: "document 2: apiVersion sparkoperator.k8s.io/v1beta2"},
		"another kind":           {data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", wantErr: "document 1: kind ConfigMap is not a SparkApplication"},
		"another version":        {data: strings.Replace(app("a"), "v1alpha1", "v1", 1), wantErr: "apiVersion sparkplane.io/v1 is not served by sparkplane: use apiVersion: sparkplane.io/v1alpha1"},
		"no kind":                {data: "apiVersion: sparkplane.io/v1alpha1\nmetadata: {name: a}\n", wantErr: "apiVersion and kind must be set"},
		"no name":                {data: strings.Replace(app("a"), "  name: a\n", "  labels: {a: b}\n", 1), wantErr: "metadata.name is required"},
		"not yaml":               {data: "kind: [unclosed\n", wantErr: "error parsing STDIN: error converting YAML to JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseManifests([]byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.object.GetName())
			}
			if diff := cmp.Diff(tc.wantNames, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

// parseManifests reads data as `-f -` does.
func parseManifests(data []byte) ([]manifest, error) {
	return readManifests(newConfigFlags(), manifestFlags{filenames: []string{"-"}}, strings.NewReader(string(data)))
}

// TestReadManifestsFromFolders: -f takes folders (their .yaml, .yml and
// .json files, other files ignored), subfolders only with -R, as kubectl.
func TestReadManifestsFromFolders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", app("a"))
	write("b.json", `{"apiVersion":"sparkplane.io/v1alpha1","kind":"SparkApplication","metadata":{"name":"b"},"spec":{}}`)
	write("notes.md", "# not a manifest")
	write("nested/c.yml", app("c"))
	names := func(recursive bool) []string {
		got, err := readManifests(newConfigFlags(), manifestFlags{filenames: []string{dir}, recursive: recursive}, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range got {
			out = append(out, m.object.GetName())
		}
		return out
	}
	if diff := cmp.Diff([]string{"a", "b"}, names(false)); diff != "" {
		t.Errorf("-f DIR (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names(true)); diff != "" {
		t.Errorf("-f DIR -R (-want +got):\n%s", diff)
	}
	_, err := readManifests(newConfigFlags(), manifestFlags{filenames: []string{filepath.Join(dir, "missing.yaml")}}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing file: got %v, want an error naming it", err)
	}
}

func TestNamespaceFor(t *testing.T) {
	withNS, _ := parseManifests([]byte(strings.Replace(app("a"), "metadata:\n", "metadata:\n  namespace: team-a\n", 1)))
	withoutNS, _ := parseManifests([]byte(app("a")))
	cases := map[string]struct {
		m                manifest
		flag, contextNS  string
		want, wantErrSub string
	}{
		"document's own":              {m: withNS[0], contextNS: "default", want: "team-a"},
		"context's":                   {m: withoutNS[0], contextNS: "spark", want: "spark"},
		"flag agrees":                 {m: withNS[0], flag: "team-a", contextNS: "team-a", want: "team-a"},
		"flag contradicts":            {m: withNS[0], flag: "team-b", contextNS: "team-b", wantErrSub: "You must pass '--namespace=team-a'"},
		"flag for a document without": {m: withoutNS[0], flag: "team-b", contextNS: "team-b", want: "team-b"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := namespaceFor(tc.m, &kubeFlags{enforceNamespace: tc.flag != "", namespaceInUse: tc.contextNS})
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErrSub)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzParseManifests: no input makes the parser panic, and whatever it
// accepts is a named SparkApplication of our version.
func FuzzParseManifests(f *testing.F) {
	f.Add([]byte(app("a")))
	f.Add([]byte(app("a") + "---\n" + app("b")))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: sparkplane.io/v1alpha1, kind: SparkApplication, metadata: {name: x}}]\n"))
	f.Add([]byte(`{"apiVersion":"sparkplane.io/v1alpha1"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseManifests(data)
		if err != nil {
			return
		}
		for _, m := range got {
			if m.object.GetAPIVersion() != "sparkplane.io/v1alpha1" || m.object.GetKind() != "SparkApplication" {
				t.Fatalf("accepted %s %s", m.object.GetAPIVersion(), m.object.GetKind())
			}
			if m.object.GetName() == "" && m.object.GetGenerateName() == "" {
				t.Fatal("accepted a document without a name")
			}
		}
	})
}

package emulator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProperties(t *testing.T) {
	cases := map[string]struct {
		text string
		want map[string]string
	}{
		"as java.util.Properties.store writes spark.properties": {
			text: "#Java properties built from Kubernetes config map with name: app-driver-conf-map\n#Wed Nov 25 13:00:00 UTC 2026\nspark.driver.host=app-svc.ns.svc\nspark.master=k8s\\://https\\://10.0.0.1\\:443\nspark.app.name=my app\n",
			want: map[string]string{"spark.driver.host": "app-svc.ns.svc", "spark.master": "k8s://https://10.0.0.1:443", "spark.app.name": "my app"},
		},
		"colon and space separators, comments with ! and blank lines": {
			text: "a:1\n  b 2\n! comment\n\nc = 3\nd=\n",
			want: map[string]string{"a": "1", "b": "2", "c": "3", "d": ""},
		},
		"continuation lines drop leading white space": {
			text: "spark.executor.extraJavaOptions=-Da=1 \\\n    -Db=2\nnext=x\n",
			want: map[string]string{"spark.executor.extraJavaOptions": "-Da=1 -Db=2", "next": "x"},
		},
		"escaped backslash at the end is not a continuation": {
			text: "path=C\\:\\\\\nother=y",
			want: map[string]string{"path": `C:\`, "other": "y"},
		},
		"unicode escapes and surrogate pairs": {
			text: "name=caf\\u00e9 \\uD83D\\uDE00\nkey\\ with\\ spaces=v\n",
			want: map[string]string{"name": "café 😀", "key with spaces": "v"},
		},
		"later keys win, CRLF line ends": {
			text: "a=1\r\na=2\r\n",
			want: map[string]string{"a": "2"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseProperties(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseProperties (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for name, text := range map[string]string{
		"short unicode escape": "a=\\u12",
		"bad hex":              "a=\\uZZZZ",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseProperties(text)
			if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "four hex digits") {
				t.Fatalf("error = %v, want one naming line 1 and the escape", err)
			}
		})
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, seed := range []string{"a=b", "a\\\n b", "\\u00e9=\\uD83D\\uDE00", "#x\n!y\nk:v", "\\", "a=\\u"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		props, err := ParseProperties(text)
		if err != nil {
			return
		}
		// Whatever parsed must survive a round trip through a simple writer.
		var b strings.Builder
		for k, v := range props {
			b.WriteString(escapeForTest(k, true) + "=" + escapeForTest(v, false) + "\n")
		}
		again, err := ParseProperties(b.String())
		if err != nil {
			t.Fatalf("re-parsing %q: %v", b.String(), err)
		}
		if diff := cmp.Diff(props, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// escapeForTest escapes like java.util.Properties.saveConvert.
func escapeForTest(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '=' || r == ':' || r == '#' || r == '!':
			b.WriteString(`\` + string(r))
		case r == ' ' && (key || i == 0):
			b.WriteString(`\ `)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16Units(r) {
				b.WriteString(`\u` + strings.ToUpper(hex4(u)))
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

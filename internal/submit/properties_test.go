package submit

import (
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestFormatProperties(t *testing.T) {
	got := FormatProperties("c", map[string]string{
		"a key":     " leading space, inner space",
		"k=v:x":     "C:\\path#1!",
		"multiline": "line1\nline2\ttab\r\f",
		"unicode":   "zoë \u0001",
	})
	want := "#c\n" +
		`a\ key=\ leading space, inner space` + "\n" +
		`k\=v\:x=C\:\\path\#1\!` + "\n" +
		`multiline=line1\nline2\ttab\r\f` + "\n" +
		`unicode=zoë \u0001` + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseProperties(t *testing.T) {
	in := "# comment\n! also a comment\n  \n" +
		"a=1\n" +
		"b : 2\n" +
		"c 3\n" +
		"d=multi \\\n    line\n" +
		"e=\\u0041\\tB\n" +
		"f\n" +
		"a=override\n"
	got, err := ParseProperties(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "override", "b": "2", "c": "3", "d": "multi line", "e": "A\tB", "f": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseProperties(`x=\u12`); err == nil {
		t.Error("a truncated \\u escape was accepted")
	}
}

// FuzzProperties: any map of valid UTF-8 keys and values survives
// FormatProperties → ParseProperties unchanged, whatever characters it holds.
func FuzzProperties(f *testing.F) {
	f.Add("spark.app.name", "a b=c:d#e!f\\g")
	f.Add(" lead", "\n\r\t\f trailing\\")
	f.Add("k", "\u0000\u0085\u2028 é")
	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) || key == "" {
			return
		}
		conf := map[string]string{key: value, "spark.other": value + key}
		got, err := ParseProperties(FormatProperties("comment\nsecond line", conf))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(conf, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

package spark

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseMemoryMiB(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    int64
		wantErr string
	}{
		"no unit is MiB":      {in: "4096", want: 4096},
		"g":                   {in: "4g", want: 4096},
		"upper case GB":       {in: "2GB", want: 2048},
		"m":                   {in: "512m", want: 512},
		"mb":                  {in: "512mb", want: 512},
		"k rounds down":       {in: "1536k", want: 1},
		"bytes":               {in: "1073741824b", want: 1024},
		"t":                   {in: "1t", want: 1 << 20},
		"zero":                {in: "0", want: 0},
		"kubernetes Gi":       {in: "4Gi", wantErr: `"4Gi" is not a Spark memory size; use e.g. 4g or 4096m`},
		"fraction":            {in: "1.5g", wantErr: "fractions are not supported"},
		"empty":               {in: "", wantErr: "is not a Spark memory size"},
		"unit only":           {in: "g", wantErr: "is not a Spark memory size"},
		"negative":            {in: "-1g", wantErr: "is not a Spark memory size"},
		"junk unit":           {in: "12x", wantErr: `"12x" is not a Spark memory size; use e.g. 4g or 4096m`},
		"overflow":            {in: "99999999999999999999", wantErr: "too large"},
		"beyond Spark's int":  {in: "3p", wantErr: "too large: Spark takes at most"},
		"huge in bytes unit":  {in: "9223372036854775807p", wantErr: "too large"},
		"surrounding spaces":  {in: " 2g ", want: 2048},
		"largest MiB allowed": {in: "2147483647", want: 2147483647},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMemoryMiB(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMemoryMiB(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseMemoryMiB(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestMemoryOverheadMiB(t *testing.T) {
	cases := map[string]struct {
		memory int64
		factor float64
		want   int64
	}{
		"small JVM gets the 384 floor":  {memory: 1024, factor: 0.1, want: 384},
		"JVM 8g":                        {memory: 8192, factor: 0.1, want: 819},
		"Python 2g":                     {memory: 2048, factor: 0.4, want: 819},
		"Python 512m still floored":     {memory: 512, factor: 0.4, want: 384},
		"exactly at the floor":          {memory: 3840, factor: 0.1, want: 384},
		"just above the floor":          {memory: 3850, factor: 0.1, want: 385},
		"zero factor keeps the floor":   {memory: 100000, factor: 0, want: 384},
		"large executor 64g, factor .1": {memory: 65536, factor: 0.1, want: 6553},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := MemoryOverheadMiB(tc.memory, tc.factor); got != tc.want {
				t.Errorf("MemoryOverheadMiB(%d, %g) = %d, want %d", tc.memory, tc.factor, got, tc.want)
			}
		})
	}
}

// FuzzParseMemoryMiB: never panics; accepted sizes are non-negative, within
// Spark's int range, and a re-formatted value in MiB parses to the same number.
func FuzzParseMemoryMiB(f *testing.F) {
	for _, s := range []string{"4g", "512m", "1.5g", "", "9999999999999p", "12x", "0b", "1KB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mib, err := ParseMemoryMiB(s)
		if err != nil {
			if !strings.Contains(err.Error(), "Spark memory size") && !strings.Contains(err.Error(), "too large") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
			return
		}
		if mib < 0 || mib > 1<<31-1 {
			t.Fatalf("ParseMemoryMiB(%q) = %d out of range", s, mib)
		}
		if back, err := ParseMemoryMiB(formatMiB(mib)); err != nil || back != mib {
			t.Fatalf("%d MiB does not round-trip: %d, %v", mib, back, err)
		}
	})
}

func formatMiB(mib int64) string { return strconv.FormatInt(mib, 10) + "m" }

package submit

import (
	"strconv"
	"strings"
	"testing"
)

func TestArgumentLimits(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"ordinary":           {[]string{"1000", "--input", "s3a://bucket/in"}, ""},
		"one at the limit":   {[]string{strings.Repeat("x", maxArgumentBytes)}, ""},
		"one over the limit": {[]string{"a", strings.Repeat("x", maxArgumentBytes+1)}, "spec.arguments[1]: Invalid value"},
		"too many in all":    {[]string{strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10), strings.Repeat("x", 100<<10)}, "spec.arguments: Invalid value"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := scalaApp()
			app.Spec.Arguments = tc.args
			_, err := Build(app, Options{Attempt: 1})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %.300v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestOversizedSparkConfNamesSparkConf(t *testing.T) {
	app := scalaApp()
	app.Spec.SparkConf = map[string]string{}
	for i := 0; i < 10000; i++ {
		app.Spec.SparkConf["spark.sparkplane.test.key"+strconv.Itoa(i)] = strings.Repeat("v", 100)
	}
	_, err := Build(app, Options{Attempt: 1})
	if err == nil || !strings.HasPrefix(err.Error(), "spec.sparkConf: ") {
		t.Fatalf("error = %.300v, want one naming spec.sparkConf", err)
	}
}

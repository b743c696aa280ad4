package submit

import (
	"k8s.io/utils/ptr"
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

func TestImageAndClassLimits(t *testing.T) {
	app := scalaApp()
	app.Spec.Image = ptr.To(strings.Repeat("x", 200<<10))
	app.Spec.MainClass = ptr.To(strings.Repeat("C", 100<<10))
	_, err := Build(app, Options{Attempt: 1})
	if err == nil || !strings.Contains(err.Error(), "spec.image: Invalid value") || !strings.Contains(err.Error(), "spec.mainClass: Invalid value") {
		t.Fatalf("error = %.500v, want spec.image and spec.mainClass refused", err)
	}
	app = scalaApp()
	app.Spec.MainClass = ptr.To(strings.Repeat("C", 200<<10))
	if _, err := Build(app, Options{Attempt: 1}); err == nil || strings.Count(err.Error(), "spec.mainClass") != 1 {
		t.Fatalf("a 200 KiB mainClass: error = %.500v, want it refused once", err)
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

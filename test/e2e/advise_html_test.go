//go:build e2e

package e2e

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestAdviseHTMLInChromium: `sparkplane advise -o html` on Spark's own event
// logs writes one self-contained page that headless Chromium renders with,
// per application, the task-time histogram (bars drawn) and the per-stage
// table.
func TestAdviseHTMLInChromium(t *testing.T) {
	root := framework.RepoRoot(t)
	chromium := installChromium(t, root)
	logs := filepath.Join(root, "..", "shared", "testdata", "spark-events")
	if _, err := os.Stat(logs); err != nil {
		logs = "/work/shared/testdata/spark-events"
	}
	r := framework.Run(t, nil, "advise", "-o", "html", logs)
	if r.Err != nil {
		t.Fatalf("advise -o html: %v\n%s", r.Err, r.Stderr)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, []byte(r.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, chromium, "--dump-dom", "file://"+page)
	apps := strings.Count(dom, `<section class="app">`)
	if apps < 2 {
		t.Fatalf("Chromium's DOM shows %d application sections, want one per log in %s", apps, logs)
	}
	histograms := regexp.MustCompile(`(?s)<svg class="histogram"[^>]*>.*?</svg>`).FindAllString(dom, -1)
	if len(histograms) == 0 {
		t.Fatal("no task-time histogram in the DOM")
	}
	for _, h := range histograms {
		if !strings.Contains(h, `<rect class="bar"`) {
			t.Errorf("a histogram without bars: %.300s", h)
		}
	}
	stageRows := regexp.MustCompile(`(?s)<table class="stages">.*?</table>`).FindAllString(dom, -1)
	if len(stageRows) == 0 || strings.Count(strings.Join(stageRows, ""), "<tr>") < len(stageRows)*2 {
		t.Errorf("per-stage tables missing or empty: %d tables", len(stageRows))
	}
	// One page: nothing fetched from elsewhere.
	if m := regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).FindString(dom); m != "" {
		t.Errorf("the report loads %s from the network", m)
	}
	shot := filepath.Join(t.TempDir(), "advise.png")
	runChromium(t, chromium, "--window-size=1000,1600", "--screenshot="+shot, "file://"+page)
	bar := color.RGBA{0x15, 0x65, 0xc0, 0xff}
	checkScreenshot(t, shot, 1000, 1600, map[string]color.RGBA{"histogram bar": bar})
	// The recommendations' left border has the bars' colour too, but is 4
	// pixels wide: drawn bars are the longer horizontal runs.
	if runs := horizontalRuns(t, shot, bar, 12); runs < 16 {
		t.Errorf("the screenshot shows %d pixel rows of bar-coloured runs of 12+ pixels: the histogram did not render", runs)
	}
	t.Logf("%d applications, %d histograms, %d stage tables rendered", apps, len(histograms), len(stageRows))
}

// horizontalRuns counts the pixel rows of the PNG at path that hold a run of
// at least n pixels of colour c.
func horizontalRuns(t *testing.T, path string, c color.RGBA, n int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		run := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img, x, y, c) {
				run++
			} else {
				run = 0
			}
			if run == n {
				rows++
				break
			}
		}
	}
	return rows
}

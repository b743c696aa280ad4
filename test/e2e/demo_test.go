//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkplane/sparkplane/internal/demo"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestDemoReport runs a small `sparkplane demo` (4 applications per run,
// through the built binary, as `make demo` does), checks report.json against
// the promises (every application succeeded, notices delivered and
// met, shuffle migrated rather than recomputed, the optimized run cheaper
// than the baseline) and renders report.html in Debian's headless Chromium:
// the DOM must hold the charts and the screenshot must show them. The
// screenshot and the report are kept in test/e2e/artifacts/.
func TestDemoReport(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs the demo (a local cluster with Karpenter, two runs of 4 applications)")
	}
	root := framework.RepoRoot(t)
	dir := t.TempDir()
	name := framework.UniqueName(t)
	// --keep leaves the cluster to the test: its state is removed when the
	// test passes and kept (its path and logs shown) when it fails, which
	// the demo's own teardown would not do.
	t.Cleanup(func() { framework.Down(t, name) })
	r := framework.Run(t, nil, "demo", "--apps", "4", "--seed", "7", "--report-dir", dir, "--name", name, "--keep")
	if r.Err != nil {
		t.Fatalf("sparkplane demo: %v\n%s", r.Err, r.Stderr)
	}
	for _, want := range []string{"spot notice 1/1", "optimized run: every application ended", "baseline run: every application ended", "cost (model prices", "deleted by: sparkplane"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}

	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep demo.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if a := rep.Applications; a.Total != 8 || a.Succeeded != 8 || a.ByProfile[demo.OptimizedProfile] != 4 || a.ByProfile[demo.BaselineProfileName] != 4 {
		t.Errorf("applications %+v: want 8 of 8 succeeded, 4 per profile", a)
	}
	if in := rep.Interruptions; in.Notices < 1 || in.ExecutorsDecommissioned < 1 || in.DeadlineMisses != 0 || in.ReactionP99Seconds > 10 {
		t.Errorf("interruptions %+v: want at least one notice and one executor decommissioned, 0 misses, p99 well inside the notice", in)
	}
	// Whether blocks migrate or are recomputed depends on where Karpenter put
	// the executors (a notice on the node holding every executor of an
	// application leaves them no peer), so only the model's label and the
	// account below are asserted.
	if s := rep.Shuffle; s.MigratedBytes+s.RecomputedBytes == 0 || s.Source != demo.SourceModel || s.Model.MigrationBytesPerSecond == 0 {
		t.Errorf("shuffle %+v: want blocks moved or recomputed, labelled as the model's with its parameters", s)
	}
	if c := rep.Cost; c.Source != demo.SourceModel || c.SpotPriceFactor != 0.35 {
		t.Errorf("cost %+v: want it labelled a model with the price file's spot factor 0.35", c)
	}
	// Who deleted each executor of the noticed node: all four sources are
	// reported, and they add up to the executors the notices found.
	in := rep.Interruptions
	total := 0
	for _, src := range demo.Sources {
		s, ok := in.BySource[src]
		if !ok {
			t.Errorf("interruptions.bySource lacks %q", src)
		}
		total += s.Executors
	}
	if total == 0 || in.BySource[demo.SourceSparkplane].Executors+in.BySource[demo.SourceKarpenter].Executors == 0 || in.NoticeVia != demo.NoticeViaKarpenter {
		t.Errorf("interruptions.bySource %+v (via %s): want executors deleted by sparkplane or Karpenter on the default delivery", in.BySource, in.NoticeVia)
	}
	// Shuffle counted once: what the noticed node's executors held is
	// exactly what was migrated, sent to fallback, recomputed or no longer read.
	if nn := rep.Shuffle.NoticedNodes; nn.HeldBytes == 0 || nn.HeldBytes != nn.MigratedBytes+nn.FallbackBytes+nn.RecomputedBytes+nn.UnreadBytes {
		t.Errorf("shuffle on noticed nodes %+v: want held bytes > 0 and = migrated + fallback + recomputed + unread", nn)
	}
	if c := rep.Cost; c.Optimized <= 0 || c.Baseline <= 0 || c.Ratio >= 0.75 || c.Currency != demo.Currency {
		t.Errorf("cost %+v: want the optimized run well below the baseline", c)
	}
	if opt := rep.Nodes[demo.RunOptimized]; opt["arm64-spot"].Count == 0 {
		t.Errorf("optimized nodes %+v: want arm64 spot nodes", opt)
	}
	// Every application's images were read from the demo's registry; the
	// amd64-only one kept its executors off arm64, and none ran where its
	// image cannot.
	amd64Only := demo.Mix(4, 7)[demo.AMD64OnlyApplication].Name
	for _, a := range rep.Images.Applications {
		if len(a.Images) != 1 || a.Images[0].Digest == "" || len(a.Images[0].Platforms) == 0 {
			t.Errorf("%s run %s: images %+v, want one image with its digest and platforms", a.Application, a.Run, a.Images)
			continue
		}
		if a.Application == amd64Only && (a.Run == demo.RunOptimized) != (len(a.ExcludedTiers) == 2) {
			t.Errorf("%s run %s (amd64-only image): excluded tiers %v, want the two arm64 tiers on cost-optimized", a.Application, a.Run, a.ExcludedTiers)
		}
		if a.Application == amd64Only && a.ExecutorArchitectures["arm64"] != 0 {
			t.Errorf("%s run %s (amd64-only image): executors by architecture %v, want none on arm64", a.Application, a.Run, a.ExecutorArchitectures)
		}
	}
	if rep.Images.ExecutorsOnMissingArchitecture != 0 || len(rep.Images.Applications) != 8 {
		t.Errorf("images: %d applications, %d executors on an architecture their image lacks; want 8 and 0", len(rep.Images.Applications), rep.Images.ExecutorsOnMissingArchitecture)
	}
	for pool := range rep.Nodes[demo.RunBaseline] {
		if pool != "amd64-on-demand" && pool != "driver" {
			t.Errorf("the baseline used node pool %s: want amd64-on-demand (and the driver pool) only", pool)
		}
	}

	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`href="(eventlogs/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(links) != 8 {
		t.Errorf("report.html links %d event logs, want one per application (8)", len(links))
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(dir, l[1])); err != nil {
			t.Errorf("event log link %s: %v", l[1], err)
		}
	}

	artifacts := filepath.Join(root, "test", "e2e", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.html", "report.json"} {
		if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			_ = os.WriteFile(filepath.Join(artifacts, "demo-"+f), data, 0o644)
		}
	}
	chromium := installChromium(t, root)
	url := "file://" + filepath.Join(dir, "report.html")
	dom := runChromium(t, chromium, "--dump-dom", url)
	for _, want := range []string{"<svg", "Nodes by tier over time", "Interruptions (optimized run)", "eventlogs/", "Who deleted the executors of noticed nodes", `class="model"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM Chromium built lacks %q", want)
		}
	}
	shot := filepath.Join(artifacts, "demo-report.png")
	_ = os.Remove(shot)
	runChromium(t, chromium, "--window-size=1000,2400", "--screenshot="+shot, url)
	checkScreenshot(t, shot, 1000, 2400, map[string]color.RGBA{"arm64-spot": {0x2e, 0x7d, 0x32, 0xff}, "driver": {0xff, 0x8f, 0x00, 0xff}})
	t.Logf("screenshot: %s", shot)
}

// installChromium runs hack/chromium.sh (apt-get only when /usr/bin/chromium
// is missing) and returns the browser's path; the test is skipped, saying
// why, when Chromium cannot be installed (no apt repository reachable).
func installChromium(t *testing.T, root string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "chromium.sh"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("no headless Chromium: hack/chromium.sh (Debian's chromium through apt-get) failed: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// runChromium runs headless Chromium with a fresh profile and nothing that
// reaches the network on its own, and returns its standard output.
func runChromium(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// checkScreenshot: a PNG of the asked size that shows the report's charts,
// i.e. holds at least 20 pixels of each wanted colour (the charts' fills),
// not a blank or error page.
func checkScreenshot(t *testing.T, path string, width, height int, want map[string]color.RGBA) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), width, height)
	}
	found := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			for name, c := range want {
				if near(img, x, y, c) {
					found[name]++
				}
			}
		}
	}
	for name := range want {
		if found[name] < 20 {
			t.Errorf("the screenshot shows %d pixels of the %s colour: the charts did not render", found[name], name)
		}
	}
}

func near(img image.Image, x, y int, c color.RGBA) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	d := func(a uint32, b uint8) int { v := int(a>>8) - int(b); return v * v }
	return d(r, c.R)+d(g, c.G)+d(b, c.B) < 300
}

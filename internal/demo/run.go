package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/devcluster/notice"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Defaults of Options.
const (
	DefaultApps        = 12
	DefaultSeed        = 7
	DefaultClusterName = "demo"
	// OptimizedProfile is the built-in profile the optimized run uses.
	OptimizedProfile = "cost-optimized"
	// Currency of the instance-type file's prices.
	Currency = "USD"
	// PriceSource names where the prices come from.
	PriceSource = "internal/devcluster/instance-types.json, the instance-type file of Karpenter's kwok provider (us-east-1 on-demand list prices; spot at 0.35x)"
)

// The ways the demo delivers a Spot notice (Options.NoticeVia).
const (
	// NoticeViaKarpenter deletes the node's NodeClaim, so Karpenter taints
	// the node (karpenter.sh/disrupted) and drains it itself, as on EKS with
	// Karpenter's interruption queue: sparkplane races Karpenter's eviction.
	NoticeViaKarpenter = notice.ViaKarpenter
	// NoticeViaNTH taints and cordons the node as aws-node-termination-handler
	// in IMDS mode does (aws-node-termination-handler/spot-itn), and nothing
	// drains it: the action is sparkplane's alone.
	NoticeViaNTH = notice.ViaNTH
	// NoticeViaSpotITN only taints the node with the Spot interruption
	// taint (aws-node-termination-handler/spot-itn, no cordon), as an agent
	// that just reports the EC2 warning would; again nothing else acts on
	// it. (A node condition would need a condition signal in the
	// interruption controller, which watches taints and node deletion.)
	NoticeViaSpotITN = notice.ViaSpotITN
)

// NoticeVias lists the deliveries; the first is the default.
var NoticeVias = []string{NoticeViaKarpenter, NoticeViaNTH, NoticeViaSpotITN}

// AblateInterruption is the component `--ablate` can switch off: the
// operator's interruption controller.
const AblateInterruption = "interruption"

// OperatorOptions tell StartOperator what to run.
type OperatorOptions struct {
	// Zones are the NodePools' zones (the operator spreads applications over
	// them, as nodes are made on demand).
	Zones []string
	// Without names controllers to leave out (AblateInterruption).
	Without []string
	// ImagePlatforms: look the applications' images up in their registry
	// at submission (the demo's applications use its local registry).
	ImagePlatforms bool
}

// Interrupter delivers Spot interruption notices; notice.Interrupter is the
// default; tests may give the demo another.
type Interrupter interface {
	// PickSpotNodes picks up to n spot nodes that run executors and have no
	// notice yet, reproducibly for seed.
	PickSpotNodes(ctx context.Context, n int, seed int64) ([]string, error)
	// Notify gives node its notice and says what it did.
	Notify(ctx context.Context, node string) (string, error)
	// RemoveWhenDue deletes the nodes still there at the end of the notice.
	RemoveWhenDue(ctx context.Context, nodes []string, at time.Time) error
}

// Options configure Run.
type Options struct {
	// Apps per run (DefaultApps when zero) and the mix's Seed.
	Apps int
	Seed int64
	// ReportDir receives report.json, report.html and eventlogs/.
	ReportDir string
	// Keep leaves the cluster running at the end.
	Keep bool
	// ClusterName of the local cluster; DefaultClusterName when empty.
	ClusterName string
	// Out receives the live progress lines.
	Out io.Writer
	// SparkplaneBinary runs the cluster's shuffle volume provisioner as a
	// component, as `dev up` does (devcluster.Options.SparkplaneBinary);
	// when empty the demo runs it in this process for the runs' duration.
	SparkplaneBinary string
	// StartOperator runs sparkplane's controllers against cfg until ctx ends.
	// It is started once per run and stopped at the run's end.
	StartOperator func(ctx context.Context, cfg *rest.Config, opts OperatorOptions) error
	// NewInterrupter returns the notice deliverer for the cluster at cfg,
	// delivering the way via names (one of NoticeVias); when nil, notices
	// come as `sparkplane dev interrupt --via <via>` gives them
	// (notice.Interrupter), reporting node removals to Log.
	NewInterrupter func(cfg *rest.Config, via string) (Interrupter, error)
	// Log gets the default notice deliverer's report; discarded when nil.
	Log io.Writer
	// NoticeVia is how notices are delivered; NoticeViaKarpenter when empty.
	NoticeVia string
	// Ablate names components to switch off in a second chaos run of the
	// same seed, reported side by side with the first (AblateInterruption);
	// the baseline run is then left out.
	Ablate []string
	// RunTimeout bounds each run's wait for its applications; 6 minutes when zero.
	RunTimeout time.Duration
	// SubmitInterval spaces the submissions of a run; 500ms when zero.
	SubmitInterval time.Duration
	// NoticeNotBefore is how long into the optimized run the first notice may
	// come (so executors hold shuffle output); 35s when zero. NoticeGap
	// spaces notices; 10s when zero.
	NoticeNotBefore, NoticeGap time.Duration
	// Notice is the notice length; 120s (a Spot notice) when zero.
	Notice time.Duration
}

func (o *Options) complete() error {
	if o.Apps == 0 {
		o.Apps = DefaultApps
	}
	if o.ClusterName == "" {
		o.ClusterName = DefaultClusterName
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.RunTimeout == 0 {
		o.RunTimeout = 6 * time.Minute
	}
	if o.SubmitInterval == 0 {
		o.SubmitInterval = 500 * time.Millisecond
	}
	if o.NoticeNotBefore == 0 {
		o.NoticeNotBefore = 35 * time.Second
	}
	if o.NoticeGap == 0 {
		o.NoticeGap = 10 * time.Second
	}
	if o.Notice == 0 {
		o.Notice = 120 * time.Second
	}
	if o.NoticeVia == "" {
		o.NoticeVia = NoticeViaKarpenter
	}
	if !slices.Contains(NoticeVias, o.NoticeVia) {
		return fmt.Errorf("notice via %q is not known: use one of %s", o.NoticeVia, strings.Join(NoticeVias, ", "))
	}
	for _, a := range o.Ablate {
		if a != AblateInterruption {
			return fmt.Errorf("ablate %q is not known: the component that can be switched off is %q", a, AblateInterruption)
		}
	}
	switch {
	case o.Apps < 1:
		return fmt.Errorf("apps: %d is out of range; run at least 1 application", o.Apps)
	case o.ReportDir == "":
		return errors.New("report dir: empty; name a folder for report.json and report.html")
	case o.StartOperator == nil:
		return errors.New("demo: StartOperator is required")
	}
	return devcluster.ValidateName(o.ClusterName)
}

// Result is what Run produced.
type Result struct {
	Demo   Demo
	Report Report
	// Kubeconfig of the cluster when it was kept.
	Kubeconfig string
}

// runner holds one demo's shared state.
type runner struct {
	opts    Options
	start   time.Time
	out     io.Writer
	outMu   sync.Mutex
	cluster *devcluster.Cluster
	cfg     *rest.Config
	client  client.Client
	cs      kubernetes.Interface
	tracker *tracker
	em      *emulator.Emulator
	intr    Interrupter
	zones   []string
}

func (r *runner) printf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, "[%4.0fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// Run brings up the local cluster, runs the optimized and the baseline runs,
// writes the report and tears the cluster down unless opts.Keep.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.ReportDir, "eventlogs"), 0o755); err != nil {
		return nil, fmt.Errorf("report dir: %w", err)
	}
	r := &runner{opts: opts, start: time.Now(), out: opts.Out, zones: devcluster.Zones(1)}
	r.printf("bringing up the local cluster %q (kube-apiserver, kube-scheduler, kwok, Karpenter's kwok provider)", opts.ClusterName)
	cluster, err := devcluster.Up(ctx, devcluster.Options{Name: opts.ClusterName, Zones: len(r.zones), Karpenter: true, Timeout: 4 * time.Minute, SparkplaneBinary: opts.SparkplaneBinary})
	if err != nil {
		return nil, err
	}
	r.cluster = cluster
	r.printf("cluster up in %.0fs; logs in %s", cluster.ReadyAfter.Seconds(), filepath.Join(cluster.Dir, "logs"))

	res, runErr := r.runAll(ctx)
	if ctx.Err() != nil {
		runErr = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if opts.Keep {
		if res == nil {
			res = &Result{}
		}
		res.Kubeconfig = cluster.Kubeconfig()
		return res, runErr
	}
	r.printf("tearing down the local cluster %q", opts.ClusterName)
	if err := devcluster.Down(opts.ClusterName, false); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("tearing down: %w (stop it with sparkplane dev down --name %s)", err, opts.ClusterName))
	}
	return res, runErr
}

func demoScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

func (r *runner) runAll(ctx context.Context) (*Result, error) {
	cfg, err := r.cluster.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	r.cfg = cfg
	scheme, err := demoScheme()
	if err != nil {
		return nil, err
	}
	if r.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if r.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if err := r.installPlatform(ctx); err != nil {
		return nil, err
	}
	priceFile := filepath.Join(r.cluster.Dir, "karpenter", "instance-types.json")
	data, err := os.ReadFile(priceFile)
	if err != nil {
		return nil, fmt.Errorf("reading Karpenter's instance-type file: %w", err)
	}
	prices, err := ParsePrices(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", priceFile, err)
	}
	if r.intr, err = r.newInterrupter(cfg); err != nil {
		return nil, err
	}

	// Everything in-process stops when bgCtx ends, before the cluster goes.
	bgCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	r.tracker = newTracker(prices)
	if err := r.tracker.start(bgCtx, r.cs); err != nil {
		return nil, err
	}
	if r.opts.SparkplaneBinary == "" {
		if err := devcluster.ProvisionVolumes(bgCtx, r.cs); err != nil {
			return nil, err
		}
	}
	if r.em, err = emulator.New(cfg, emulator.Options{EventLogDir: filepath.Join(r.opts.ReportDir, "eventlogs")}); err != nil {
		return nil, err
	}
	wg.Go(func() { _ = r.em.Run(bgCtx) })
	r.printf("Spark driver emulator running in this process; notices delivered via %s", r.opts.NoticeVia)

	demo := Demo{Seed: r.opts.Seed, Apps: r.opts.Apps, Currency: Currency, PriceSource: PriceSource, StartedAt: r.start,
		NoticeVia: r.opts.NoticeVia, Ablated: r.opts.Ablate, SpotPriceFactor: prices.SpotFactor(), ShuffleModel: DefaultShuffleModel()}
	mix := Mix(r.opts.Apps, r.opts.Seed)
	// The applications' images come from a registry in this process, as
	// they would from a team's registry: one of them is built for amd64
	// only, and the operator reads that at submission.
	reg, err := registrytest.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the demo's image registry: %w", err)
	}
	defer reg.Close()
	for i := range mix {
		mix[i].Image = reg.Image(mix[i].ImageRepo)
	}
	r.printf("image registry on %s: %s (linux/amd64 + linux/arm64) for every application but %s, whose image is %s (linux/amd64 only)",
		reg.Host, registrytest.MultiArchRepo, mixName(mix, AMD64OnlyApplication), registrytest.AMD64Repo)
	for _, spec := range r.runSpecs() {
		run, err := r.runWithOperator(bgCtx, spec, mix)
		if err != nil {
			return nil, err
		}
		demo.Runs = append(demo.Runs, run)
	}
	// Every node is priced for its whole life, so wait for the last ones.
	if err := r.releaseNodes(bgCtx, func() bool { return len(r.tracker.liveNodes()) == 0 }); err != nil {
		return nil, err
	}
	for i := range demo.Runs {
		nodes, execs, priceErrs := r.tracker.collect(demo.Runs[i].Name, time.Now())
		if len(priceErrs) > 0 {
			return nil, fmt.Errorf("pricing nodes: %w", errors.Join(priceErrs...))
		}
		demo.Runs[i].Nodes, demo.Runs[i].Executors = nodes, execs
	}
	demo.FinishedAt = time.Now()
	rep := BuildReport(demo)
	if err := WriteReport(r.opts.ReportDir, demo, rep); err != nil {
		return nil, err
	}
	r.summary(rep)
	return &Result{Demo: demo, Report: rep}, nil
}

// WriteReport writes report.json and report.html into dir.
func WriteReport(dir string, d Demo, rep Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	if err := RenderHTML(f, d, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// installPlatform applies the kwok platform bundle's node classes, NodePools,
// PriorityClasses and shuffle StorageClass (made the default, provisioned by
// the local cluster's volume provisioner), then sparkplane (CRDs, RBAC, built-in profiles) and the
// baseline profile.
func (r *runner) installPlatform(ctx context.Context) error {
	pcfg := platform.DefaultConfig(platform.ProviderKWOK)
	pcfg.Zones = r.zones
	pcfg.DriverZone = r.zones[0]
	// The baseline puts every executor on amd64 on-demand: give that tier
	// room for the whole fleet, so Karpenter never relaxes the preference.
	pcfg.Executors.CPULimits.Amd64OnDemand = 1024
	bundle, err := platform.Render(pcfg)
	if err != nil {
		return fmt.Errorf("rendering the kwok platform bundle: %w", err)
	}
	objs := bundle.KarpenterObjects()
	if f := bundle.File("storageclasses.yaml"); f != nil {
		objs = append(objs, f.Objects...)
	}
	pools := 0
	for _, obj := range objs {
		u, err := platform.ToUnstructured(obj)
		if err != nil {
			return err
		}
		if u.GetKind() == "StorageClass" {
			ann := u.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann["storageclass.kubernetes.io/is-default-class"] = "true"
			u.SetAnnotations(ann)
		}
		if u.GetKind() == "NodePool" {
			pools++
		}
		if err := r.client.Patch(ctx, u, client.Apply, client.FieldOwner("sparkplane-demo"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s of the platform bundle: %w", u.GetKind(), u.GetName(), err)
		}
	}
	r.printf("applied the kwok platform bundle: %d NodePools in tier order (arm64 spot > amd64 spot > arm64 on-demand > amd64 on-demand), driver pool, shuffle StorageClass", pools)
	installObjs, err := install.Objects(install.Options{SkipOperatorDeployment: true})
	if err != nil {
		return err
	}
	if err := install.Apply(ctx, r.client, installObjs, io.Discard); err != nil {
		return fmt.Errorf("installing sparkplane: %w", err)
	}
	baseline, err := install.ToUnstructured(BaselineProfile())
	if err != nil {
		return err
	}
	if err := r.client.Patch(ctx, baseline, client.Apply, client.FieldOwner("sparkplane-demo"), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying SparkProfile %s: %w", BaselineProfileName, err)
	}
	r.printf("installed sparkplane (CRDs, RBAC, built-in SparkProfiles) and the baseline SparkProfile %s", BaselineProfileName)
	return nil
}

// runSpec is one run of the demo.
type runSpec struct {
	name, profile string
	chaos         bool
	// without: controllers left out of the operator for this run.
	without []string
}

// runSpecs: the optimized run, then the baseline, or with --ablate the same
// chaos run again without the ablated controllers.
func (r *runner) runSpecs() []runSpec {
	specs := []runSpec{{name: RunOptimized, profile: OptimizedProfile, chaos: true}}
	if len(r.opts.Ablate) > 0 {
		return append(specs, runSpec{name: RunAblated, profile: OptimizedProfile, chaos: true, without: r.opts.Ablate})
	}
	return append(specs, runSpec{name: RunBaseline, profile: BaselineProfileName})
}

// runWithOperator runs one pass with an operator of its own, stopped at its
// end (so the next run can leave controllers out).
func (r *runner) runWithOperator(ctx context.Context, spec runSpec, mix []AppSpec) (RunResult, error) {
	opCtx, stop := context.WithCancel(ctx)
	operatorErr := make(chan error, 1)
	go func() {
		operatorErr <- r.opts.StartOperator(opCtx, r.cfg, OperatorOptions{Zones: r.zones, Without: spec.without, ImagePlatforms: true})
	}()
	defer func() {
		stop()
		<-operatorErr
	}()
	what := "all controllers"
	if len(spec.without) > 0 {
		what = "every controller but " + strings.Join(spec.without, ", ")
	}
	r.printf("operator (%s) running in this process for the %s run", what, spec.name)
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	go func() {
		select {
		case err := <-operatorErr:
			operatorErr <- err
			r.printf("the operator stopped: %v", err)
			cancelRun()
		case <-runCtx.Done():
		}
	}()
	run, err := r.runOnce(runCtx, spec.name, spec.profile, spec.chaos, mix)
	if err != nil && runCtx.Err() != nil && ctx.Err() == nil {
		return run, fmt.Errorf("the operator stopped during the %s run", spec.name)
	}
	return run, err
}

// deliveredNotice is a notice the demo delivered and what it printed of it.
type deliveredNotice struct {
	Notice
	reported bool
}

func (r *runner) runOnce(ctx context.Context, name, profile string, chaos bool, mix []AppSpec) (RunResult, error) {
	ns := "demo-" + name
	if err := r.namespace(ctx, ns); err != nil {
		return RunResult{}, err
	}
	r.tracker.setRun(name)
	run := RunResult{Name: name, Profile: profile, Start: time.Now()}
	r.printf("%s run: %d applications on SparkProfile %s in namespace %s", name, len(mix), profile, ns)
	target := 0
	if chaos {
		target = (len(mix) + 3) / 4
	}
	var notices []*deliveredNotice
	nextNotice := run.Start.Add(r.opts.NoticeNotBefore)
	submitted := 0
	lastProgress := time.Time{}
	for {
		now := time.Now()
		for submitted < len(mix) && !now.Before(run.Start.Add(time.Duration(submitted)*r.opts.SubmitInterval)) {
			app := Application(mix[submitted], ns, profile)
			if err := r.client.Create(ctx, app); err != nil && !apierrors.IsAlreadyExists(err) {
				return run, fmt.Errorf("submitting SparkApplication %s/%s: %w", ns, app.Name, err)
			}
			submitted++
		}
		var apps v1alpha1.SparkApplicationList
		if err := r.client.List(ctx, &apps, client.InNamespace(ns)); err != nil {
			return run, fmt.Errorf("listing applications: %w", err)
		}
		states := map[string]int{}
		terminal := 0
		for _, a := range apps.Items {
			state := string(a.Status.State)
			if state == "" {
				state = "New"
			}
			states[state]++
			if a.Status.State.IsTerminal() {
				terminal++
			}
		}
		allDone := submitted == len(mix) && terminal == len(mix)

		if chaos && len(notices) < target && !now.Before(nextNotice) && !allDone {
			nextNotice = now.Add(2 * time.Second)
			seed := r.opts.Seed*1000 + int64(len(notices)) + 1
			if nodes, err := r.intr.PickSpotNodes(ctx, 1, seed); err == nil && len(nodes) == 1 {
				node := nodes[0]
				how, err := r.intr.Notify(ctx, node)
				if err != nil {
					r.printf("notice to %s failed: %v", node, err)
				} else {
					dn := &deliveredNotice{Notice: Notice{Node: node, NodePool: r.tracker.nodePool(node), At: now}}
					notices = append(notices, dn)
					r.printf("spot notice %d/%d: node %s (%s): %s", len(notices), target, node, dn.NodePool, how)
					nextNotice = now.Add(r.opts.NoticeGap)
					// Karpenter usually removes the node long before; the
					// waiter ends with ctx, before the cluster goes.
					go r.terminateWhenDue(ctx, node, now.Add(r.opts.Notice))
				}
			}
		}
		for i, n := range notices {
			if n.reported {
				continue
			}
			// Report once every executor the watch placed on the node has
			// been deleted, and not before the watch had a few seconds to
			// show the node's pods.
			if done := r.tracker.noticeOutcome(&n.Notice); done && now.Sub(n.At) > 5*time.Second {
				n.reported = true
				var reactions []float64
				missed := 0
				bySource := map[string]int{}
				for _, e := range n.Executors {
					if e.Decommissioned {
						reactions = append(reactions, e.Reaction.Seconds())
					}
					if e.Missed() {
						missed++
					}
					bySource[e.Source]++
				}
				var by []string
				for _, src := range Sources {
					if bySource[src] > 0 {
						by = append(by, fmt.Sprintf("%s %d", src, bySource[src]))
					}
				}
				r.printf("notice %d: %d/%d executors on %s deleted gracefully (by %s; attribution final at the run's end), reaction max %.3fs, %d deadline misses",
					i+1, len(reactions), len(n.Executors), n.Node, strings.Join(by, ", "), Percentile(reactions, 100), missed)
			}
		}
		if now.Sub(lastProgress) >= 5*time.Second || allDone {
			lastProgress = now
			r.progress(name, states, len(notices), target)
		}
		if allDone {
			break
		}
		if now.Sub(run.Start) > r.opts.RunTimeout {
			r.printf("%s run: gave up waiting after %s with %d of %d applications ended", name, r.opts.RunTimeout, terminal, len(mix))
			break
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	run.End = time.Now()
	r.printf("%s run: every application ended after %s; releasing its nodes", name, run.End.Sub(run.Start).Round(time.Second))
	// The next run may start once Karpenter has tainted every node of this
	// one (so nothing new lands there); their removal is timed all the same.
	if err := r.releaseNodes(ctx, func() bool { return len(r.tracker.untainted()) == 0 }); err != nil {
		return run, err
	}
	for _, n := range notices {
		r.tracker.noticeOutcome(&n.Notice)
		run.Notices = append(run.Notices, n.Notice)
	}
	apps, err := r.appResults(ctx, ns, profile)
	if err != nil {
		return run, err
	}
	run.Apps = apps
	for _, a := range apps {
		run.MigratedBytes += a.MigratedBytes
		run.RecomputedBytes += a.RecomputedBytes
		run.FallbackBytes += a.FallbackBytes
	}
	run.NoticedShuffle = noticedShuffle(run.Notices, r.em.Summary().Apps, ns)
	return run, nil
}

// terminateWhenDue ends node at the end of its notice as the EC2 instance's
// termination would: executors still on it are lost (deleted with no grace
// period; a graceful delete under way is cut short too), then the node goes.
func (r *runner) terminateWhenDue(ctx context.Context, node string, at time.Time) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(at)):
	}
	pods, err := r.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node, LabelSelector: spark.LabelRole + "=" + spark.RoleExecutor})
	if err == nil {
		for _, p := range pods.Items {
			_ = r.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		}
	}
	_ = r.intr.RemoveWhenDue(ctx, []string{node}, at)
}

// noticedShuffle totals what the emulator did with the shuffle blocks of
// the executors of noticed nodes (in namespace ns): each executor's
// departure, joined by pod name.
func noticedShuffle(notices []Notice, apps []emulator.AppSummary, ns string) ShuffleAccount {
	onNoticed := map[string]bool{}
	for _, n := range notices {
		for _, d := range n.Executors {
			onNoticed[d.Pod] = true
		}
	}
	var acc ShuffleAccount
	for _, a := range apps {
		if a.Namespace != ns {
			continue
		}
		for _, rm := range a.Removals {
			if !onNoticed[a.Namespace+"/"+rm.Pod] {
				continue
			}
			acc.add(ShuffleAccount{Executors: 1, HeldBytes: rm.HeldBytes, MigratedBytes: rm.MigratedBytes, FallbackBytes: rm.FallbackBytes,
				RecomputedBytes: rm.RecomputedBytes, UnreadBytes: rm.UnreadBytes})
		}
	}
	return acc
}

func (r *runner) progress(run string, states map[string]int, notices, target int) {
	var parts []string
	for _, s := range []string{"New", "Pending", "Running", "Retrying", "Succeeded", "Failed"} {
		if states[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", states[s], strings.ToLower(s)))
		}
	}
	nodes, executors := r.tracker.snapshot()
	var pools []string
	for p := range nodes {
		pools = append(pools, p)
	}
	var nodeParts []string
	for _, p := range sortTiers(pools) {
		nodeParts = append(nodeParts, fmt.Sprintf("%s %d", p, nodes[p]))
	}
	if len(nodeParts) == 0 {
		nodeParts = []string{"none yet"}
	}
	line := fmt.Sprintf("%-9s apps: %s | nodes: %s | executors: %d", run, strings.Join(parts, ", "), strings.Join(nodeParts, ", "), executors)
	if target > 0 {
		line += fmt.Sprintf(" | notices: %d/%d", notices, target)
	}
	r.printf("%s", line)
}

func (r *runner) namespace(ctx context.Context, ns string) error {
	if err := r.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := r.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s has no default service account after a minute (kube-controller-manager): %w", ns, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// releaseNodes deletes every Karpenter NodeClaim, so a run's nodes go when
// its last application ends, and waits until done holds (2 minutes at most).
// It deletes again every few seconds: capacity Karpenter was still launching
// (e.g. to replace an interrupted node) shows up as new NodeClaims.
func (r *runner) releaseNodes(ctx context.Context, done func() bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	var lastDelete time.Time
	for !done() {
		if time.Since(lastDelete) >= 5*time.Second {
			lastDelete = time.Now()
			if err := r.deleteNodeClaims(ctx); err != nil {
				return err
			}
			continue
		}
		if time.Now().After(deadline) {
			r.printf("nodes %v are still there 2 minutes after their NodeClaims were deleted; counting them until now", r.tracker.liveNodes())
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

func (r *runner) deleteNodeClaims(ctx context.Context) error {
	var claims unstructured.UnstructuredList
	claims.SetAPIVersion("karpenter.sh/v1")
	claims.SetKind("NodeClaimList")
	if err := r.client.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	for i := range claims.Items {
		if claims.Items[i].GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.client.Delete(ctx, &claims.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting NodeClaim %s: %w", claims.Items[i].GetName(), err)
		}
	}
	return nil
}

// appResults reads the run's applications and joins what the emulator saw
// of each (over every attempt).
func (r *runner) appResults(ctx context.Context, ns, profile string) ([]AppResult, error) {
	var apps v1alpha1.SparkApplicationList
	if err := r.client.List(ctx, &apps, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	byApp := map[string][]emulator.AppSummary{}
	for _, s := range r.em.Summary().Apps {
		if s.Namespace == ns {
			byApp[s.Application] = append(byApp[s.Application], s)
		}
	}
	var out []AppResult
	for _, a := range apps.Items {
		res := AppResult{Name: a.Name, Profile: profile, Type: string(a.Spec.Type), Size: a.Labels["sparkplane.io/demo-size"],
			State: string(a.Status.State), AppID: a.Status.SparkApplicationID, Submitted: a.CreationTimestamp.Time}
		if a.Status.Profile != nil {
			res.Profile = a.Status.Profile.Name
		}
		if a.Status.TerminationTime != nil {
			res.Finished = a.Status.TerminationTime.Time
		}
		if rr := a.Status.Resolution; rr != nil {
			res.Images, res.ExcludedTiers = rr.Images, rr.ExcludedTiers
		}
		for _, s := range byApp[a.Name] {
			res.ExecutorsCreated += s.ExecutorsCreated
			res.ExecutorsDecommissioned += s.ExecutorsDecommissioned
			res.ExecutorsLost += s.ExecutorsLost
			res.MigratedBytes += s.MigratedBytes
			res.RecomputedBytes += s.RecomputedBytes
			res.FallbackBytes += s.FallbackBytes
			if s.AppID != "" {
				res.AppID = s.AppID
			}
			if s.EventLog != "" {
				if rel, err := filepath.Rel(r.opts.ReportDir, s.EventLog); err == nil {
					res.EventLog = filepath.ToSlash(rel)
				}
			}
		}
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *runner) summary(rep Report) {
	a, in, sh, c := rep.Applications, rep.Interruptions, rep.Shuffle, rep.Cost
	var profiles []string
	for p, n := range a.ByProfile {
		profiles = append(profiles, fmt.Sprintf("%s %d", p, n))
	}
	sort.Strings(profiles)
	r.printf("applications: %d of %d succeeded, %d failed (%s)", a.Succeeded, a.Total, a.Failed, strings.Join(profiles, ", "))
	r.printf("interruptions (via %s): %d notices, %d executors decommissioned, reaction p50 %.3fs p99 %.3fs, %d deadline misses",
		in.NoticeVia, in.Notices, in.ExecutorsDecommissioned, in.ReactionP50Seconds, in.ReactionP99Seconds, in.DeadlineMisses)
	r.printf("deleted by: %s", sourceLine(in.BySource))
	nn := sh.NoticedNodes
	r.printf("shuffle (model: %s/s migration, time scale %g): %s migrated, %s recomputed; noticed nodes' executors held %s: %s migrated + %s recomputed + %s to fallback + %s no longer read",
		HumanBytes(sh.Model.MigrationBytesPerSecond), sh.Model.TimeScale, HumanBytes(sh.MigratedBytes), HumanBytes(sh.RecomputedBytes),
		HumanBytes(nn.HeldBytes), HumanBytes(nn.MigratedBytes), HumanBytes(nn.RecomputedBytes), HumanBytes(nn.FallbackBytes), HumanBytes(nn.UnreadBytes))
	if ab := rep.Ablation; ab != nil {
		r.printf("ablation: the same seed without %s, side by side", strings.Join(ab.Without, ", "))
		for _, line := range AblationTable(*ab) {
			r.printf("  %s", line)
		}
	}
	for _, run := range []string{RunOptimized, RunBaseline, RunAblated} {
		usage, ok := rep.Nodes[run]
		if !ok {
			continue
		}
		var pools []string
		for p := range usage {
			pools = append(pools, p)
		}
		var parts []string
		for _, p := range sortTiers(pools) {
			parts = append(parts, fmt.Sprintf("%s %d (%.3f h)", p, usage[p].Count, usage[p].NodeHours))
		}
		r.printf("nodes %-9s %s", run+":", strings.Join(parts, ", "))
	}
	if c.Baseline > 0 {
		r.printf("cost (model prices: spot = %.2f × on-demand list price): %s %.4f optimized vs %.4f baseline: ratio %.3f", c.SpotPriceFactor, c.Currency, c.Optimized, c.Baseline, c.Ratio)
	}
	r.printf("report: %s, %s", filepath.Join(r.opts.ReportDir, "report.html"), filepath.Join(r.opts.ReportDir, "report.json"))
}

// sourceLine renders a bySource split on one line.
func sourceLine(by map[string]SourceReport) string {
	var parts []string
	for _, src := range Sources {
		s := by[src]
		parts = append(parts, fmt.Sprintf("%s %d (p50 %.3fs, p99 %.3fs)", src, s.Executors, s.ReactionP50Seconds, s.ReactionP99Seconds))
	}
	return strings.Join(parts, ", ")
}

// AblationTable renders the ablation's figures as aligned text rows: a
// header, then one row per figure with the optimized and the ablated run.
func AblationTable(ab AblationReport) []string {
	w, a := ab.With, ab.Ablated
	rows := [][3]string{
		{"", "with " + strings.Join(ab.Without, ", "), "without"},
		{"applications failed", fmt.Sprintf("%d of %d", w.Failed, w.Applications), fmt.Sprintf("%d of %d", a.Failed, a.Applications)},
		{"notices", fmt.Sprint(w.Notices), fmt.Sprint(a.Notices)},
		{"executors on noticed nodes", fmt.Sprint(sourceTotal(w.BySource)), fmt.Sprint(sourceTotal(a.BySource))},
	}
	for _, src := range Sources {
		rows = append(rows, [3]string{"  deleted by " + src, fmt.Sprint(w.BySource[src].Executors), fmt.Sprint(a.BySource[src].Executors)})
	}
	rows = append(rows,
		[3]string{"reaction p50 / p99", fmt.Sprintf("%.3fs / %.3fs", w.ReactionP50Seconds, w.ReactionP99Seconds), fmt.Sprintf("%.3fs / %.3fs", a.ReactionP50Seconds, a.ReactionP99Seconds)},
		[3]string{"deadline misses", fmt.Sprint(w.DeadlineMisses), fmt.Sprint(a.DeadlineMisses)},
		[3]string{"shuffle held on noticed nodes (model)", HumanBytes(w.Shuffle.HeldBytes), HumanBytes(a.Shuffle.HeldBytes)},
		[3]string{"  migrated (model)", HumanBytes(w.Shuffle.MigratedBytes), HumanBytes(a.Shuffle.MigratedBytes)},
		[3]string{"  recomputed (model)", HumanBytes(w.Shuffle.RecomputedBytes), HumanBytes(a.Shuffle.RecomputedBytes)},
	)
	width := [3]int{}
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len(cell))
		}
	}
	out := make([]string, 0, len(rows))
	for _, row := range rows {
		out = append(out, fmt.Sprintf("%-*s  %*s  %*s", width[0], row[0], width[1], row[1], width[2], row[2]))
	}
	return out
}

func sourceTotal(by map[string]SourceReport) int {
	n := 0
	for _, s := range by {
		n += s.Executors
	}
	return n
}

// newInterrupter is Options.NewInterrupter, or the notice package's
// deliverer, delivering the way Options.NoticeVia says (the demo's vias are
// named as `dev interrupt`'s).
func (r *runner) newInterrupter(cfg *rest.Config) (Interrupter, error) {
	if r.opts.NewInterrupter != nil {
		return r.opts.NewInterrupter(cfg, r.opts.NoticeVia)
	}
	c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return notice.Interrupter{Client: c, Via: r.opts.NoticeVia, Out: r.opts.Log}, nil
}

func mixName(mix []AppSpec, i int) string {
	if i < len(mix) {
		return mix[i].Name
	}
	return "(none: fewer applications)"
}

package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The multi-cluster demo's defaults and fixed names.
const (
	// ClustersNamespace holds the multi-cluster demo's applications on the
	// hub (and their copies on the members).
	ClustersNamespace = "demo-clusters"
	// DefaultClustersApps is the fleet of the multi-cluster demo.
	DefaultClustersApps = 12
	// clustersPoll is how often the demo looks at the hub and the members:
	// the resolution of its measurements.
	clustersPoll = 200 * time.Millisecond
)

// HubOptions tell StartHub how to run the hub operator.
type HubOptions struct {
	// Lease and LostAfter are the hub's --lease and --lost-after.
	Lease, LostAfter time.Duration
}

// ClustersOptions configure RunClusters.
type ClustersOptions struct {
	// Apps in the fleet (DefaultClustersApps when zero) and the mix's Seed.
	Apps int
	Seed int64
	// ReportDir receives report.json, report.html and eventlogs/.
	ReportDir string
	// Keep leaves the three clusters running at the end.
	Keep bool
	// Name prefixes the clusters: <name>-hub, <name>-a and <name>-b.
	Name string
	// Out receives the live progress lines.
	Out io.Writer
	// SparkplaneBinary runs each member's shuffle volume provisioner as a
	// component (devcluster.Options.SparkplaneBinary); when empty the demo
	// runs them in this process.
	SparkplaneBinary string
	// StartOperator runs a member's operator against cfg until ctx ends.
	StartOperator func(ctx context.Context, cfg *rest.Config, opts OperatorOptions) error
	// StartHub runs the hub operator (sparkplane operator --hub) against the
	// hub at cfg until ctx ends.
	StartHub func(ctx context.Context, cfg *rest.Config, opts HubOptions) error
	// Lease and LostAfter of the hub; its defaults (15s, 30s) when zero.
	Lease, LostAfter time.Duration
	// RunTimeout bounds the wait for the fleet to end; 6 minutes when zero.
	RunTimeout time.Duration
	// SubmitInterval spaces the submissions before the outage; 1s when zero.
	SubmitInterval time.Duration
}

func (o *ClustersOptions) complete() error {
	if o.Apps == 0 {
		o.Apps = DefaultClustersApps
	}
	if o.Name == "" {
		o.Name = DefaultClusterName
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Lease == 0 {
		o.Lease = 15 * time.Second
	}
	if o.LostAfter == 0 {
		o.LostAfter = 30 * time.Second
	}
	if o.RunTimeout == 0 {
		o.RunTimeout = 6 * time.Minute
	}
	if o.SubmitInterval == 0 {
		o.SubmitInterval = time.Second
	}
	switch {
	case o.Apps < 2:
		return fmt.Errorf("apps: %d is out of range; the multi-cluster demo needs at least 2 applications (some before the outage, some during it)", o.Apps)
	case o.ReportDir == "":
		return errors.New("report dir: empty; name a folder for report.json and report.html")
	case o.StartOperator == nil || o.StartHub == nil:
		return errors.New("demo: StartOperator and StartHub are required")
	case o.LostAfter <= o.Lease:
		return fmt.Errorf("lost-after (%s) must be longer than the lease (%s)", o.LostAfter, o.Lease)
	}
	for _, n := range o.clusterNames() {
		if err := devcluster.ValidateName(n); err != nil {
			return fmt.Errorf("--name %q: %w", o.Name, err)
		}
	}
	return nil
}

// memberRegions are the members' region labels.
var memberRegions = map[string]string{"a": "us-east-1", "b": "us-west-2"}

// memberLabels are the labels of the demo's MemberCluster name.
func memberLabels(name string) map[string]string {
	return map[string]string{"env": "prod", "region": memberRegions[name]}
}

// clusterNames: the hub, then the members.
func (o *ClustersOptions) clusterNames() []string {
	return []string{o.Name + "-hub", o.Name + "-a", o.Name + "-b"}
}

// ClustersResult is what RunClusters produced.
type ClustersResult struct {
	Demo   ClustersDemo
	Report Report
	// Kubeconfigs of the hub and the members, by cluster name, when kept.
	Kubeconfigs map[string]string
}

// member is one member cluster of the demo and what runs against it.
type member struct {
	name    string // the MemberCluster's name: a or b
	cluster *devcluster.Cluster
	cfg     *rest.Config
	client  client.Client
}

type clustersRunner struct {
	opts  ClustersOptions
	start time.Time
	outMu sync.Mutex
	hub   *devcluster.Cluster
	hubC  client.Client
	a, b  *member
	obs   *observer
}

func (r *clustersRunner) printf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.opts.Out, "[%4.0fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// RunClusters is `sparkplane demo --clusters 2`: a hub and two members on
// this machine, the hub operator and both member operators (and a driver
// emulator per member) in this process; a fleet submitted to the hub and
// placed over both members; member b's API server stopped mid-run and
// started again once the hub has moved its applications; every figure
// measured by watching the hub and the members. It writes report.json (with
// "clusters") and report.html (with the timeline) and tears the clusters
// down unless opts.Keep.
func RunClusters(ctx context.Context, opts ClustersOptions) (*ClustersResult, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.ReportDir, "eventlogs"), 0o755); err != nil {
		return nil, fmt.Errorf("report dir: %w", err)
	}
	r := &clustersRunner{opts: opts, start: time.Now()}
	names := opts.clusterNames()
	r.printf("bringing up the hub %q (etcd and API server) and the members %q and %q (API server, scheduler, kwok nodes)", names[0], names[1], names[2])
	clusters := make([]*devcluster.Cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			o := devcluster.Options{Name: name, Zones: 1, NodesPerTier: 1, Timeout: 4 * time.Minute, SparkplaneBinary: opts.SparkplaneBinary}
			if i == 0 {
				o = devcluster.Options{Name: name, Hub: true, Timeout: 4 * time.Minute}
			}
			clusters[i], errs[i] = devcluster.Up(ctx, o)
		})
	}
	wg.Wait()
	teardown := func() error {
		var downErrs []error
		for i, c := range clusters {
			if c == nil {
				continue
			}
			if err := devcluster.Down(names[i], false); err != nil {
				downErrs = append(downErrs, fmt.Errorf("tearing down %s: %w (stop it with sparkplane dev down --name %s)", names[i], err, names[i]))
			}
		}
		return errors.Join(downErrs...)
	}
	if err := errors.Join(errs...); err != nil {
		if !opts.Keep {
			err = errors.Join(err, teardown())
		}
		return nil, err
	}
	r.hub = clusters[0]
	r.printf("clusters up in %.0fs; logs in %s", time.Since(r.start).Seconds(), filepath.Dir(r.hub.Dir))

	res, runErr := r.run(ctx, clusters[1], clusters[2])
	if ctx.Err() != nil {
		runErr = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if opts.Keep {
		if res == nil {
			res = &ClustersResult{}
		}
		res.Kubeconfigs = map[string]string{}
		for _, c := range clusters {
			res.Kubeconfigs[c.Name] = c.Kubeconfig()
		}
		return res, runErr
	}
	r.printf("tearing down the three clusters")
	return res, errors.Join(runErr, teardown())
}

func (r *clustersRunner) connect(c *devcluster.Cluster) (*rest.Config, client.Client, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	// A stopped API server must not hold the demo's calls for long.
	cfg.Timeout = 5 * time.Second
	scheme, err := demoScheme()
	if err != nil {
		return nil, nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	return cfg, cl, err
}

func (r *clustersRunner) run(ctx context.Context, a, b *devcluster.Cluster) (*ClustersResult, error) {
	var err error
	if _, r.hubC, err = r.connect(r.hub); err != nil {
		return nil, err
	}
	r.a, r.b = &member{name: "a", cluster: a}, &member{name: "b", cluster: b}
	for _, m := range []*member{r.a, r.b} {
		if m.cfg, m.client, err = r.connect(m.cluster); err != nil {
			return nil, err
		}
		if err := r.installMember(ctx, m); err != nil {
			return nil, fmt.Errorf("member %s: %w", m.name, err)
		}
		if err := r.addMember(ctx, m); err != nil {
			return nil, fmt.Errorf("member %s: %w", m.name, err)
		}
	}
	r.printf("installed sparkplane on both members; MemberClusters a (region us-east-1, weight 1) and b (region us-west-2, weight 2) added to the hub, both env=prod")

	// Everything in-process stops when bgCtx ends, before the clusters go.
	bgCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	background := func(what string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(bgCtx); err != nil && bgCtx.Err() == nil {
				r.printf("%s stopped: %v", what, err)
			}
		})
	}
	for _, m := range []*member{r.a, r.b} {
		em, err := emulator.New(m.cfg, emulator.Options{Namespace: ClustersNamespace, EventLogDir: filepath.Join(r.opts.ReportDir, "eventlogs", m.name)})
		if err != nil {
			return nil, err
		}
		background("the driver emulator of member "+m.name, em.Run)
		background("the operator of member "+m.name, func(ctx context.Context) error {
			return r.opts.StartOperator(ctx, m.cfg, OperatorOptions{Zones: devcluster.Zones(1)})
		})
		if r.opts.SparkplaneBinary == "" {
			cs, err := kubernetes.NewForConfig(m.cfg)
			if err != nil {
				return nil, err
			}
			background("the volume provisioner of member "+m.name, func(ctx context.Context) error { return devcluster.ProvisionVolumes(ctx, cs) })
		}
	}
	hubCfg, err := r.hub.RESTConfig()
	if err != nil {
		return nil, err
	}
	background("the hub operator", func(ctx context.Context) error {
		return r.opts.StartHub(ctx, hubCfg, HubOptions{Lease: r.opts.Lease, LostAfter: r.opts.LostAfter})
	})
	r.printf("hub operator (lease %s, lost after %s), two member operators and two driver emulators running in this process", r.opts.Lease, r.opts.LostAfter)

	r.obs = newObserver(r.hubC, map[string]client.Client{r.a.name: r.a.client, r.b.name: r.b.client}, r.b.name)
	background("the observer", r.obs.run)
	if err := r.waitFor(bgCtx, 2*time.Minute, "both members Healthy", func() bool {
		return r.obs.state(r.a.name) == string(v1alpha1.MemberHealthy) && r.obs.state(r.b.name) == string(v1alpha1.MemberHealthy)
	}); err != nil {
		return nil, err
	}
	r.printf("both members Healthy")
	if err := r.fleet(bgCtx); err != nil {
		return nil, err
	}
	d := r.obs.result(r.opts.Seed, []string{r.a.name, r.b.name}, r.opts.Lease, r.opts.LostAfter, r.start)
	cl, apps := BuildClustersReport(d)
	rep := Report{Applications: apps, Clusters: &cl}
	if err := writeClustersReport(r.opts.ReportDir, d, rep); err != nil {
		return nil, err
	}
	r.summary(cl, apps)
	return &ClustersResult{Demo: d, Report: rep}, nil
}

// fleet submits the applications, stops member b's API server while some
// run there and the rest arrive, starts it again once the hub moved what b
// had not started, and waits for every application's final state.
func (r *clustersRunner) fleet(ctx context.Context) error {
	if err := r.hubC.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ClustersNamespace}}); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("creating namespace %s on the hub: %w", ClustersNamespace, err)
	}
	mix := Mix(r.opts.Apps, r.opts.Seed)
	before := (len(mix) + 1) / 2
	r.printf("submitting %d applications to the hub, one every %s; the other %d arrive while member b is unreachable", before, r.opts.SubmitInterval, len(mix)-before)
	// The second application may run only in member b's region: its
	// clusterSelector keeps it there through b's outage.
	pinned := mix[1].Name
	r.printf("%s has clusterSelector env=prod, region=%s (member b only); the others env=prod", pinned, memberRegions[r.b.name])
	for i, spec := range mix[:before] {
		if i > 0 {
			if err := sleep(ctx, r.opts.SubmitInterval); err != nil {
				return err
			}
		}
		selector := map[string]string{"env": "prod"}
		if spec.Name == pinned {
			selector["region"] = memberRegions[r.b.name]
		}
		if err := r.submit(ctx, spec, selector); err != nil {
			return err
		}
	}
	if err := r.waitFor(ctx, 3*time.Minute, "an application running on member b", func() bool { return r.obs.running(r.b.name) > 0 }); err != nil {
		return err
	}
	// Stop right after a heartbeat of b, so the applications that arrive
	// next are placed on b before the hub finds it unreachable: those never
	// start there, and are the ones the hub re-places.
	beat := r.obs.heartbeat(r.b.name)
	_ = r.waitFor(ctx, 10*time.Second, "a heartbeat of member b", func() bool { return !r.obs.heartbeat(r.b.name).Equal(beat) })
	r.printf("member b runs %d application(s); stopping its API server (sparkplane dev stop %s)", r.obs.running(r.b.name), r.b.cluster.Name)
	stoppedAt := time.Now()
	if err := devcluster.StopAPIServer(r.b.cluster.Name); err != nil {
		return err
	}
	r.obs.event(r.b.name, EventAPIServerStopped, stoppedAt)
	for _, spec := range mix[before:] {
		if err := r.submit(ctx, spec, map[string]string{"env": "prod"}); err != nil {
			return err
		}
	}
	if err := r.waitFor(ctx, r.opts.LostAfter+time.Minute, "member b Lost", func() bool { return r.obs.state(r.b.name) == string(v1alpha1.MemberLost) }); err != nil {
		return err
	}
	r.printf("member b is Lost %.1fs after its API server stopped (lost-after %s)", time.Since(stoppedAt).Seconds(), r.opts.LostAfter)
	if err := r.waitFor(ctx, time.Minute, "every application re-placed or resubmitted off member b", func() bool { return r.obs.leftOn(r.b.name, pinned) == 0 }); err != nil {
		return err
	}
	replaced, resubmitted := r.obs.moved(r.b.name)
	r.printf("off member b: %d re-placed (never started there: epoch + 1), %d resubmitted per restartPolicy (ClusterLost); %s stays, as its clusterSelector allows no other member", replaced, resubmitted, pinned)
	if err := sleep(ctx, 5*time.Second); err != nil {
		return err
	}
	r.printf("starting member b's API server again (sparkplane dev start %s)", r.b.cluster.Name)
	if err := devcluster.StartAPIServer(ctx, r.b.cluster.Name, 2*time.Minute); err != nil {
		return err
	}
	r.obs.event(r.b.name, EventAPIServerStarted, time.Now())
	if err := r.waitFor(ctx, 2*time.Minute, "member b Healthy again", func() bool { return r.obs.state(r.b.name) == string(v1alpha1.MemberHealthy) }); err != nil {
		return err
	}
	r.printf("member b is Healthy again; its copies of an older epoch were deleted before it was")
	deadline := time.Now().Add(r.opts.RunTimeout)
	last := time.Time{}
	for {
		done, total, line := r.obs.progress()
		if done == total && total == len(mix) {
			r.printf("%s", line)
			break
		}
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			r.printf("%s", line)
		}
		if time.Now().After(deadline) {
			r.printf("gave up waiting after %s with %d of %d applications ended", r.opts.RunTimeout, done, total)
			break
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	// One more look at the members: stale copies gone, drivers counted.
	return r.waitFor(ctx, 30*time.Second, "no stale copies on member b", func() bool { return r.obs.staleNow() == 0 })
}

// submit creates one application of the mix on the hub, on members
// labelled selector. OnFailure lets the hub resubmit one whose member was
// lost after it started.
func (r *clustersRunner) submit(ctx context.Context, spec AppSpec, selector map[string]string) error {
	app := Application(spec, ClustersNamespace, "")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](2), OnFailureRetryInterval: ptr.To[int64](5)}
	app.Spec.ClusterSelector = &metav1.LabelSelector{MatchLabels: selector}
	if err := r.hubC.Create(ctx, app); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("submitting SparkApplication %s/%s to the hub: %w", ClustersNamespace, app.Name, err)
	}
	r.obs.submitted(app.Name, time.Now(), selector)
	return nil
}

func (r *clustersRunner) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting %s for %s", timeout, what)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// installMember installs sparkplane (CRDs, RBAC, built-in profiles) and the
// kwok platform bundle's PriorityClasses and shuffle StorageClass on m.
func (r *clustersRunner) installMember(ctx context.Context, m *member) error {
	pcfg := platform.DefaultConfig(platform.ProviderKWOK)
	pcfg.Zones = devcluster.Zones(1)
	pcfg.DriverZone = pcfg.Zones[0]
	bundle, err := platform.Render(pcfg)
	if err != nil {
		return fmt.Errorf("rendering the kwok platform bundle: %w", err)
	}
	var objs []client.Object
	for _, name := range []string{"priorityclasses.yaml", "storageclasses.yaml"} {
		if f := bundle.File(name); f != nil {
			objs = append(objs, f.Objects...)
		}
	}
	for _, obj := range objs {
		u, err := platform.ToUnstructured(obj)
		if err != nil {
			return err
		}
		if err := m.client.Patch(ctx, u, client.Apply, client.FieldOwner("sparkplane-demo"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s of the platform bundle: %w", u.GetKind(), u.GetName(), err)
		}
	}
	installObjs, err := install.Objects(install.Options{SkipOperatorDeployment: true})
	if err != nil {
		return err
	}
	if err := install.Apply(ctx, m.client, installObjs, io.Discard); err != nil {
		return fmt.Errorf("installing sparkplane: %w", err)
	}
	return nil
}

// addMember does what `sparkplane clusters add` does on the hub: the
// member's kubeconfig in a Secret and a MemberCluster naming it.
func (r *clustersRunner) addMember(ctx context.Context, m *member) error {
	kubeconfig, err := os.ReadFile(m.cluster.Kubeconfig())
	if err != nil {
		return err
	}
	if err := r.hubC.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: install.Namespace}}); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("creating namespace %s on the hub: %w", install.Namespace, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: install.Namespace, Name: "member-" + m.name},
		Data:       map[string][]byte{v1alpha1.DefaultKubeconfigKey: kubeconfig},
	}
	if err := r.hubC.Create(ctx, secret); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("storing the member's kubeconfig on the hub: %w", err)
	}
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: m.name, Labels: memberLabels(m.name)},
		Spec: v1alpha1.MemberClusterSpec{
			KubeconfigSecretRef: v1alpha1.SecretKeyReference{Namespace: install.Namespace, Name: secret.Name, Key: v1alpha1.DefaultKubeconfigKey},
			// b weighs more, so it wins ties and runs applications when its
			// API server stops (what the hub then resubmits elsewhere).
			Weight: map[string]int32{"a": 1, "b": 2}[m.name],
		},
	}
	if err := r.hubC.Create(ctx, mc); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("creating MemberCluster %s: %w", m.name, err)
	}
	return nil
}

func (r *clustersRunner) summary(cl ClustersReport, apps ApplicationsReport) {
	r.printf("applications: %d of %d succeeded, %d failed, %d unfinished", apps.Succeeded, apps.Total, apps.Failed, cl.Unfinished)
	for _, m := range cl.Members {
		r.printf("member %s: %d placed, %d finished there (%d succeeded, %d failed)", m.Name, m.Placed, m.Finished, m.Succeeded, m.Failed)
	}
	r.printf("member %s stopped: Lost after %.1fs (reference: lost-after + 5s = %.0fs); %d re-placed (epoch + 1, never started there), last copy on the other member %.1fs after Lost (reference ≤ 10s); %d resubmitted (ClusterLost, restartPolicy OnFailure); %d failed ClusterLost",
		cl.StoppedMember, cl.DetectionSeconds, cl.LostAfterSeconds+5, cl.Replaced, cl.ReplacementSeconds, cl.Resubmitted, cl.FailedClusterLost)
	r.printf("clusterSelector: %d placement(s) outside an application's selector (reference 0); %d application(s) kept on member %s by their selector through its outage",
		cl.SelectorViolations, cl.KeptBySelector, cl.StoppedMember)
	r.printf("on its return: %d stale copies deleted (%d left), the last seen %.1fs after its API server started; duplicates (drivers on two members without ClusterLost): %d (reference 0); measured every %.1fs",
		cl.StaleCopies, cl.StaleCopiesLeft, cl.StaleCopiesGoneSeconds, cl.Duplicates, cl.PollSeconds)
	r.printf("report: %s, %s", filepath.Join(r.opts.ReportDir, "report.html"), filepath.Join(r.opts.ReportDir, "report.json"))
}

// writeClustersReport writes report.json and report.html into dir.
func writeClustersReport(dir string, d ClustersDemo, rep Report) error {
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
	if err := RenderClustersHTML(f, d, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// observer polls the hub's applications and members, and each member's
// copies and driver pods, every clustersPoll; it keeps what ClustersDemo
// reports. A member that does not answer is skipped until it does.
type observer struct {
	hub     client.Client
	members map[string]client.Client
	stopped string

	mu      sync.Mutex
	states  map[string]string
	beats   map[string]time.Time
	events  []ClusterEvent
	apps    map[string]*ClusterApp
	drivers map[string]map[string]map[string]bool // app → member → driver pods
	copies  map[string]map[string]*seenSpan       // app → member/epoch → when seen
	stale   int                                   // stale copies on the stopped member at the last look after its return
	back    time.Time                             // the stopped member's API server was started again
}

// seenSpan is when a copy was first and last seen.
type seenSpan struct{ first, last time.Time }

func newObserver(hub client.Client, members map[string]client.Client, stopped string) *observer {
	return &observer{hub: hub, members: members, stopped: stopped, states: map[string]string{}, beats: map[string]time.Time{},
		apps: map[string]*ClusterApp{}, drivers: map[string]map[string]map[string]bool{}, copies: map[string]map[string]*seenSpan{}}
}

func (o *observer) run(ctx context.Context) error {
	for {
		o.poll(ctx)
		if err := sleep(ctx, clustersPoll); err != nil {
			return nil
		}
	}
}

func (o *observer) event(member, what string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ClusterEvent{At: at, Member: member, What: what})
	if what == EventAPIServerStarted {
		o.back = at
	}
}

func (o *observer) submitted(name string, at time.Time, selector map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.apps[name] == nil {
		o.apps[name] = &ClusterApp{Name: name, Submitted: at, DriversOn: map[string]int{}}
	}
	o.apps[name].ClusterSelector = selector
}

func (o *observer) state(member string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.states[member]
}

func (o *observer) heartbeat(member string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.beats[member]
}

// running counts the applications the hub shows Running on member.
func (o *observer) running(member string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, a := range o.apps {
		if p := lastPlacement(a); p != nil && p.Cluster == member && a.State == string(v1alpha1.StateRunning) {
			n++
		}
	}
	return n
}

// leftOn counts unfinished applications still placed on member, but for except.
func (o *observer) leftOn(member, except string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, a := range o.apps {
		if p := lastPlacement(a); p != nil && p.Cluster == member && !terminalState(a.State) && a.Name != except {
			n++
		}
	}
	return n
}

// moved counts the applications that left member: re-placed (no
// ClusterLost) and resubmitted.
func (o *observer) moved(member string) (replaced, resubmitted int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range o.apps {
		for i := 1; i < len(a.Placements); i++ {
			if a.Placements[i-1].Cluster == member && a.Placements[i].Cluster != member {
				if a.ClusterLost {
					resubmitted++
				} else {
					replaced++
				}
				break
			}
		}
	}
	return replaced, resubmitted
}

func (o *observer) staleNow() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stale
}

func (o *observer) progress() (done, total int, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	states := map[string]int{}
	on := map[string]int{}
	for _, a := range o.apps {
		state := a.State
		if state == "" {
			state = "New"
		}
		states[state]++
		if terminalState(a.State) {
			done++
		} else if p := lastPlacement(a); p != nil {
			on[p.Cluster]++
		}
	}
	var parts []string
	for _, s := range []string{"New", "Submitted", "Pending", "Running", "Retrying", "Succeeded", "Failed"} {
		if states[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", states[s], strings.ToLower(s)))
		}
	}
	var members []string
	for _, m := range sortedKeys(o.members) {
		members = append(members, fmt.Sprintf("%s %s (%d unfinished)", m, o.states[m], on[m]))
	}
	return done, len(o.apps), fmt.Sprintf("apps: %s | members: %s", strings.Join(parts, ", "), strings.Join(members, ", "))
}

// poll looks once; each observation is timed when its list returned.
func (o *observer) poll(ctx context.Context) {
	mcs := &v1alpha1.MemberClusterList{}
	if err := o.hub.List(ctx, mcs); err == nil {
		now := time.Now()
		o.mu.Lock()
		for _, mc := range mcs.Items {
			if st := string(mc.Status.State); st != "" && st != o.states[mc.Name] {
				o.states[mc.Name] = st
				o.events = append(o.events, ClusterEvent{At: now, Member: mc.Name, What: st})
			}
			if hb := mc.Status.LastHeartbeatTime; hb != nil {
				o.beats[mc.Name] = hb.Time
			}
		}
		o.mu.Unlock()
	}
	apps := &v1alpha1.SparkApplicationList{}
	if err := o.hub.List(ctx, apps, client.InNamespace(ClustersNamespace)); err == nil {
		now := time.Now()
		o.mu.Lock()
		for i := range apps.Items {
			o.seeApp(&apps.Items[i], now)
		}
		o.mu.Unlock()
	}
	for name, c := range o.members {
		copies := &v1alpha1.SparkApplicationList{}
		copiesErr := c.List(ctx, copies, client.InNamespace(ClustersNamespace), client.HasLabels{v1alpha1.LabelHubID})
		now := time.Now()
		pods := &corev1.PodList{}
		podsErr := c.List(ctx, pods, client.InNamespace(ClustersNamespace), client.MatchingLabels{spark.LabelRole: spark.RoleDriver})
		o.mu.Lock()
		if copiesErr == nil {
			stale := 0
			for i := range copies.Items {
				cp := &copies.Items[i]
				if o.copies[cp.Name] == nil {
					o.copies[cp.Name] = map[string]*seenSpan{}
				}
				key := name + "/" + cp.Labels[v1alpha1.LabelPlacementEpoch]
				if o.copies[cp.Name][key] == nil {
					o.copies[cp.Name][key] = &seenSpan{first: now}
				}
				o.copies[cp.Name][key].last = now
				if name == o.stopped && o.isStale(cp, name) {
					stale++
				}
			}
			if name == o.stopped && !o.back.IsZero() {
				o.stale = stale
			}
		}
		if podsErr == nil {
			for _, pod := range pods.Items {
				app := pod.Labels[v1alpha1.LabelApplication]
				if app == "" {
					continue
				}
				if o.drivers[app] == nil {
					o.drivers[app] = map[string]map[string]bool{}
				}
				if o.drivers[app][name] == nil {
					o.drivers[app][name] = map[string]bool{}
				}
				o.drivers[app][name][pod.Name] = true
			}
		}
		o.mu.Unlock()
	}
}

// seeApp records the hub's view of one application (o.mu held).
func (o *observer) seeApp(app *v1alpha1.SparkApplication, now time.Time) {
	a := o.apps[app.Name]
	if a == nil {
		a = &ClusterApp{Name: app.Name, Submitted: app.CreationTimestamp.Time, DriversOn: map[string]int{}}
		o.apps[app.Name] = a
	}
	st := &app.Status
	a.State = string(st.State)
	if st.TerminationTime != nil && terminalState(a.State) {
		a.Finished = st.TerminationTime.Time
	}
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionClusterLost); c != nil && c.Status == metav1.ConditionTrue {
		a.ClusterLost = true
	}
	if p := st.Placement; p != nil {
		a.Resubmissions = p.Resubmissions
		if last := lastPlacement(a); last == nil || last.Epoch != p.Epoch {
			a.Placements = append(a.Placements, PlacementSeen{Cluster: p.Cluster, Epoch: p.Epoch, Seen: now})
		}
	}
}

// isStale: a copy on member that is not the hub application's current
// placement (o.mu held).
func (o *observer) isStale(cp *v1alpha1.SparkApplication, member string) bool {
	a := o.apps[cp.Name]
	if a == nil {
		return false
	}
	p := lastPlacement(a)
	if p == nil {
		return false
	}
	epoch, err := strconv.ParseInt(cp.Labels[v1alpha1.LabelPlacementEpoch], 10, 64)
	return err != nil || p.Cluster != member || epoch < p.Epoch
}

// result is the observations as a ClustersDemo.
func (o *observer) result(seed int64, members []string, lease, lostAfter time.Duration, start time.Time) ClustersDemo {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := ClustersDemo{Seed: seed, Members: members, MemberLabels: map[string]map[string]string{}, Stopped: o.stopped, Lease: lease, LostAfter: lostAfter, PollInterval: clustersPoll,
		StartedAt: start, FinishedAt: time.Now(), Events: append([]ClusterEvent(nil), o.events...), StaleCopiesLeft: o.stale}
	for _, m := range members {
		d.MemberLabels[m] = memberLabels(m)
	}
	for _, name := range sortedKeys(o.apps) {
		a := *o.apps[name]
		a.Placements = append([]PlacementSeen(nil), a.Placements...)
		for i := range a.Placements {
			if span := o.copies[name][a.Placements[i].Cluster+"/"+strconv.FormatInt(a.Placements[i].Epoch, 10)]; span != nil {
				a.Placements[i].CopySeen = span.first
			}
		}
		// The stopped member's copies that its return made stale: seen
		// there, but not the application's last placement.
		if last := lastPlacement(&a); last != nil {
			for key, span := range o.copies[name] {
				if key == last.Cluster+"/"+strconv.FormatInt(last.Epoch, 10) || !strings.HasPrefix(key, o.stopped+"/") {
					continue
				}
				d.StaleCopies++
				if !o.back.IsZero() && span.last.After(o.back) && span.last.After(d.StaleCopiesGone) {
					d.StaleCopiesGone = span.last
				}
			}
		}
		a.DriversOn = map[string]int{}
		for m, pods := range o.drivers[name] {
			a.DriversOn[m] = len(pods)
		}
		d.Apps = append(d.Apps, a)
	}
	return d
}

func lastPlacement(a *ClusterApp) *PlacementSeen {
	if len(a.Placements) == 0 {
		return nil
	}
	return &a.Placements[len(a.Placements)-1]
}

func terminalState(s string) bool {
	return s == string(v1alpha1.StateSucceeded) || s == string(v1alpha1.StateFailed)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

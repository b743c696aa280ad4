package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/toolchain"
)

// Options configure Up.
type Options struct {
	// Name of the cluster; DefaultName when empty.
	Name string
	// Zones is the number of zones, 1 to MaxZones; 2 when zero.
	Zones int
	// NodesPerTier is the number of static nodes per executor tier and zone; 1 when zero.
	NodesPerTier int
	// Karpenter starts Karpenter's kwok provider with the tier NodePools
	// instead of the static executor and driver nodes.
	Karpenter bool
	// ArmSpotCPULimit is the arm64-spot NodePool's limits.cpu; ArmSpotCPULimit when zero.
	ArmSpotCPULimit int
	// APIServerPort is the API server's port; a free one when zero.
	APIServerPort int
	// SparkplaneBinary is a sparkplane binary that runs the shuffle volume
	// provisioner as a component (`sparkplane dev volume-provisioner`); the
	// CLI passes its own executable. Empty: no provisioner, and claims of the
	// shuffle StorageClass stay Pending.
	SparkplaneBinary string
	// ExtraArgs are appended to a component's command line, by component name.
	ExtraArgs map[string][]string
	// Timeout bounds Up; 3 minutes when zero.
	Timeout time.Duration
	// Progress receives one line per step; nothing is written when nil.
	Progress io.Writer
	// Hub starts a light hub: etcd and the API server with sparkplane's
	// CRDs, no nodes, scheduler, controller manager, kwok or Karpenter.
	Hub bool
}

func (o *Options) complete() error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Zones == 0 {
		o.Zones = 2
	}
	if o.NodesPerTier == 0 {
		o.NodesPerTier = 1
	}
	if o.ArmSpotCPULimit == 0 {
		o.ArmSpotCPULimit = ArmSpotCPULimit
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Zones < 1 || o.Zones > MaxZones {
		return fmt.Errorf("zones: %d is out of range; use 1 to %d", o.Zones, MaxZones)
	}
	if o.NodesPerTier < 1 {
		return fmt.Errorf("nodes per tier: %d is out of range; use at least 1", o.NodesPerTier)
	}
	for name := range o.ExtraArgs {
		if !slices.Contains(Components, name) {
			return fmt.Errorf("extra args: unknown component %q; use one of %v", name, Components)
		}
	}
	if o.ArmSpotCPULimit < 0 {
		return fmt.Errorf("arm64-spot CPU limit: %d is negative", o.ArmSpotCPULimit)
	}
	if o.APIServerPort < 0 || o.APIServerPort > 65535 {
		return fmt.Errorf("api server port: %d is out of range; use 1 to 65535, or 0 for a free one", o.APIServerPort)
	}
	return nil
}

// binaries the cluster runs, resolved before anything starts.
type binaries map[string]string

func resolveBinaries(karpenter bool) (binaries, error) {
	tools := map[string]toolchain.Tool{
		ComponentEtcd:              toolchain.Etcd,
		ComponentAPIServer:         toolchain.KubeAPIServer,
		ComponentControllerManager: toolchain.KubeControllerManager,
		ComponentScheduler:         toolchain.KubeScheduler,
		ComponentKwok:              toolchain.Kwok,
	}
	if karpenter {
		tools[ComponentKarpenter] = toolchain.KarpenterKwok
	}
	out := binaries{}
	for _, name := range Components {
		tool, ok := tools[name]
		if !ok {
			continue
		}
		path, err := tool.Path()
		if err != nil {
			return nil, err
		}
		out[name] = path
	}
	return out, nil
}

// Users the API server knows by token (--token-auth-file).
const (
	userAdmin             = "sparkplane-admin"
	userControllerManager = "system:kube-controller-manager"
	userScheduler         = "system:kube-scheduler"
	userKwok              = "kwok"
	userKarpenter         = "karpenter"
	userVolumeProvisioner = "sparkplane-volume-provisioner"
)

// Up starts a cluster and returns when it is usable: the API server ready,
// every static node Ready, the default service account made, and with
// Karpenter its NodePools applied and the provider ready. On failure it
// stops what it started, keeps the logs in the state folder, and returns an
// error that shows the failing component's last log lines.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	if opts.Hub && opts.Karpenter {
		return nil, errors.New("a hub runs no Spark: --hub and --karpenter do not go together")
	}
	bins, err := resolveBinaries(opts.Karpenter)
	if err != nil {
		return nil, err
	}
	if opts.SparkplaneBinary != "" {
		if _, err := os.Stat(opts.SparkplaneBinary); err != nil {
			return nil, fmt.Errorf("the sparkplane binary that runs the volume provisioner: %w", err)
		}
		bins[ComponentVolumeProvisioner] = opts.SparkplaneBinary
	}
	unlock, err := lockName(opts.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()

	dir := StateDir(opts.Name)
	running, err := FindProcesses("/proc", dir)
	if err != nil {
		return nil, err
	}
	if len(running) > 0 {
		return nil, fmt.Errorf("%w: %q runs %d processes from %s; use it (sparkplane dev status --name %s) or stop it first (sparkplane dev down --name %s)",
			ErrAlreadyUp, opts.Name, len(running), dir, opts.Name, opts.Name)
	}
	if opts.APIServerPort != 0 {
		if err := checkPortFree(opts.APIServerPort); err != nil {
			return nil, fmt.Errorf("api server port: %w; choose another with --apiserver-port, or leave it out to get a free one", err)
		}
	}
	// A folder without processes is what a failed start or `dev down --keep` left.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("removing the old state at %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, err
	}

	c := &Cluster{Name: opts.Name, Dir: dir, Zones: opts.Zones, Karpenter: opts.Karpenter, Hub: opts.Hub, StartedAt: start, started: map[string]*startedProcess{}}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	c.Ports = Ports{EtcdClient: ports[0], EtcdPeer: ports[1], APIServer: ports[2]}
	if opts.APIServerPort != 0 {
		c.Ports.APIServer = opts.APIServerPort
	}
	if opts.Karpenter {
		c.Ports.KarpenterMetrics, c.Ports.KarpenterHealth = ports[3], ports[4]
	}
	c.APIServerURL = fmt.Sprintf("https://127.0.0.1:%d", c.Ports.APIServer)

	u := &upper{c: c, opts: opts, bins: bins, progress: opts.Progress, start: start}
	if err := u.run(ctx); err != nil {
		left := "nothing is left running"
		if stopErr := stopProcesses("/proc", dir, 5*time.Second); stopErr != nil {
			left = fmt.Sprintf("and stopping what it started failed: %v; retry with sparkplane dev down --name %s", stopErr, opts.Name)
		}
		c.reap()
		_ = c.save()
		return nil, fmt.Errorf("dev up %q failed, %s (logs are in %s): %w", opts.Name, left, filepath.Join(dir, "logs"), err)
	}
	return c, nil
}

type upper struct {
	c        *Cluster
	opts     Options
	bins     binaries
	progress io.Writer
	start    time.Time
	tokens   map[string]string
	caPEM    []byte
	client   client.Client
}

func (u *upper) step(format string, args ...any) {
	fmt.Fprintf(u.progress, "%6.1fs  %s\n", time.Since(u.start).Seconds(), fmt.Sprintf(format, args...))
}

func (u *upper) path(parts ...string) string {
	return filepath.Join(append([]string{u.c.Dir}, parts...)...)
}

func (u *upper) run(ctx context.Context) error {
	if err := u.writeConfig(); err != nil {
		return err
	}
	c := u.c
	if err := u.startComponent(ComponentEtcd, []string{
		"--name=default",
		"--data-dir=" + u.path("etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", c.Ports.EtcdClient),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", c.Ports.EtcdClient),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", c.Ports.EtcdPeer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", c.Ports.EtcdPeer),
		fmt.Sprintf("--initial-cluster=default=http://127.0.0.1:%d", c.Ports.EtcdPeer),
		"--unsafe-no-fsync",
		"--log-level=warn",
	}, nil); err != nil {
		return err
	}
	etcdHealth := fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports.EtcdClient)
	if err := u.waitFor(ctx, "etcd to be healthy", ComponentEtcd, func() (bool, error) { return httpOK(ctx, http.DefaultClient, etcdHealth), nil }); err != nil {
		return err
	}
	u.step("etcd ready on 127.0.0.1:%d", c.Ports.EtcdClient)

	if err := u.startComponent(ComponentAPIServer, []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.Ports.EtcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.Ports.APIServer),
		"--cert-dir=" + u.path("pki"),
		"--tls-cert-file=" + u.path("pki", "apiserver.crt"),
		"--tls-private-key-file=" + u.path("pki", "apiserver.key"),
		"--client-ca-file=" + u.path("pki", "ca.crt"),
		"--token-auth-file=" + u.path("pki", "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + u.path("pki", "sa.pub"),
		"--service-account-signing-key-file=" + u.path("pki", "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
	}, nil); err != nil {
		return err
	}
	if err := u.startNodeComponents(); err != nil {
		return err
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 5 * time.Second
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	readyz, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	if err := u.waitFor(ctx, "kube-apiserver to be ready", ComponentAPIServer, func() (bool, error) {
		return httpOK(ctx, readyz, c.APIServerURL+"/readyz"), nil
	}); err != nil {
		return err
	}
	u.step("kube-apiserver ready at %s", c.APIServerURL)
	u.client, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if u.opts.Hub {
		return u.finishHub(ctx, cfg)
	}
	// kube-controller-manager gives up when the API server is not healthy
	// within 20s, which a loaded machine can exceed, so it starts only now.
	if err := u.startComponent(ComponentControllerManager, []string{
		"--kubeconfig=" + u.path("kubeconfigs", "kube-controller-manager.kubeconfig"),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + u.path("pki", "sa.key"),
		"--root-ca-file=" + u.path("pki", "ca.crt"),
		"--cluster-name=sparkplane-dev-" + c.Name,
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		// Nothing on the local cluster reads v1 Endpoints (deprecated since
		// 1.33; no kube-proxy or DNS runs here), and their controller writes
		// one per Service besides the EndpointSlice: a Spark driver Service
		// would cost the API server two writes instead of one.
		"--controllers=*,-endpoints-controller",
	}, nil); err != nil {
		return err
	}

	nodes, err := StaticFleet(FleetOptions{Zones: u.opts.Zones, NodesPerTier: u.opts.NodesPerTier, SystemOnly: u.opts.Karpenter})
	if err != nil {
		return err
	}
	for _, node := range nodes {
		if err := u.client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", node.Name, err)
		}
	}
	c.Nodes = len(nodes)
	u.step("created %d kwok nodes in %d zones", len(nodes), u.opts.Zones)

	if _, ok := u.bins[ComponentVolumeProvisioner]; ok {
		if err := u.startComponent(ComponentVolumeProvisioner, []string{
			"dev", "volume-provisioner", "--kubeconfig=" + u.path("kubeconfigs", "volume-provisioner.kubeconfig"),
		}, nil); err != nil {
			return err
		}
		u.step("volume provisioner %s started for the shuffle StorageClass", VolumeProvisioner)
	}

	if u.opts.Karpenter {
		if err := u.startKarpenter(ctx); err != nil {
			return err
		}
	}

	if err := u.waitFor(ctx, fmt.Sprintf("%d nodes to be Ready", len(nodes)), ComponentKwok, func() (bool, error) {
		list := &corev1.NodeList{}
		if err := u.client.List(ctx, list); err != nil {
			return false, nil
		}
		ready := 0
		for i := range list.Items {
			if NodeReady(&list.Items[i]) {
				ready++
			}
		}
		return ready >= len(nodes), nil
	}); err != nil {
		return err
	}
	u.step("%d nodes Ready", len(nodes))
	if err := u.waitFor(ctx, "the default service account (kube-controller-manager)", ComponentControllerManager, func() (bool, error) {
		err := u.client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, nil
	}); err != nil {
		return err
	}
	c.ReadyAfter = time.Since(u.start)
	u.step("cluster %q is up", c.Name)
	return c.save()
}

// startNodeComponents starts kube-scheduler and kwok (not on a hub). They
// wait for the API server as long as it takes; starting them before it is
// ready overlaps their start-up with the API server's.
func (u *upper) startNodeComponents() error {
	if u.opts.Hub {
		return nil
	}
	if err := u.startComponent(ComponentScheduler, []string{
		"--kubeconfig=" + u.path("kubeconfigs", "kube-scheduler.kubeconfig"),
		"--leader-elect=false",
		"--secure-port=0",
	}, nil); err != nil {
		return err
	}
	if err := u.startComponent(ComponentKwok, []string{
		"--kubeconfig=" + u.path("kubeconfigs", "kwok.kubeconfig"),
		"--config=" + u.path("kwok", "kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokAnnotation + "=" + KwokAnnotationValue,
		"--cidr=10.64.0.1/16",
		"--node-lease-duration-seconds=40",
	}, nil); err != nil {
		return err
	}
	return nil
}

// installCRDs creates crds and waits until the API server serves them.
func (u *upper) installCRDs(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition, what string) error {
	for _, crd := range crds {
		if err := u.client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
	}
	if err := u.waitFor(ctx, what+" to be established", ComponentAPIServer, func() (bool, error) {
		for _, crd := range crds {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := u.client.Get(ctx, client.ObjectKeyFromObject(crd), got); err != nil {
				return false, nil
			}
			established := false
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	return nil
}

// startKarpenter installs the Karpenter CRDs, starts the kwok provider, and
// applies KarpenterObjects once it is ready.
func (u *upper) startKarpenter(ctx context.Context) error {
	crds, err := KarpenterCRDs()
	if err != nil {
		return err
	}
	if err := u.installCRDs(ctx, crds, "the Karpenter CRDs"); err != nil {
		return err
	}
	objects, err := KarpenterObjects(Zones(u.opts.Zones), u.opts.ArmSpotCPULimit)
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, obj := range objects {
		if err := u.client.Patch(ctx, obj, client.Apply, client.FieldOwner(ApplyFieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		kinds[obj.GetKind()]++
	}
	u.step("applied Karpenter CRDs and the kwok platform bundle's pools and storage (as kubectl apply --server-side): %d NodePools, %d KWOKNodeClass, %d PriorityClasses, %d StorageClass",
		kinds["NodePool"], kinds["KWOKNodeClass"], kinds["PriorityClass"], kinds["StorageClass"])
	env := []string{
		"KUBECONFIG=" + u.path("kubeconfigs", "karpenter.kubeconfig"),
		"SYSTEM_NAMESPACE=kube-system",
	}
	if err := u.startComponent(ComponentKarpenter, []string{
		"--instance-types-file-path=" + u.path("karpenter", "instance-types.json"),
		"--disable-leader-election",
		fmt.Sprintf("--metrics-port=%d", u.c.Ports.KarpenterMetrics),
		fmt.Sprintf("--health-probe-port=%d", u.c.Ports.KarpenterHealth),
		"--batch-max-duration=5s",
	}, env); err != nil {
		return err
	}
	health := fmt.Sprintf("http://127.0.0.1:%d/readyz", u.c.Ports.KarpenterHealth)
	if err := u.waitFor(ctx, "Karpenter to be ready", ComponentKarpenter, func() (bool, error) { return httpOK(ctx, http.DefaultClient, health), nil }); err != nil {
		return err
	}
	u.step("karpenter (kwok provider) ready")
	return nil
}

// writeConfig writes certificates, keys, tokens, kubeconfigs and the kwok
// and Karpenter configuration into the state folder.
func (u *upper) writeConfig() error {
	now := time.Now()
	ca, err := newCA(u.c.Name, now)
	if err != nil {
		return err
	}
	u.caPEM = ca.certPEM
	certPEM, keyPEM, err := ca.servingCert("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}, now)
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	u.tokens = map[string]string{}
	var tokensCSV strings.Builder
	for _, user := range []struct{ name, groups string }{
		{userAdmin, "system:masters"},
		{userControllerManager, ""},
		{userScheduler, ""},
		// kwok and Karpenter act on nodes, pods, leases and CRDs cluster-wide,
		// as they do with cluster-admin in a real cluster.
		{userKwok, "system:masters"},
		{userKarpenter, "system:masters"},
		// The provisioner creates and deletes PersistentVolumes, as a CSI
		// provisioner does with its own ClusterRole.
		{userVolumeProvisioner, "system:masters"},
	} {
		token, err := newToken()
		if err != nil {
			return err
		}
		u.tokens[user.name] = token
		fmt.Fprintf(&tokensCSV, "%s,%s,%s,\"%s\"\n", token, user.name, user.name, user.groups)
	}
	files := map[string][]byte{
		"pki/ca.crt":                    ca.certPEM,
		"pki/apiserver.crt":             certPEM,
		"pki/apiserver.key":             keyPEM,
		"pki/sa.key":                    saKey,
		"pki/sa.pub":                    saPub,
		"pki/tokens.csv":                []byte(tokensCSV.String()),
		"kwok/kwok.yaml":                []byte("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n"),
		"karpenter/instance-types.json": karpenterInstanceTypes,
	}
	if err := writeFiles(u.c.Dir, files); err != nil {
		return err
	}
	if err := os.MkdirAll(u.path("kubeconfigs"), 0o700); err != nil {
		return err
	}
	for path, user := range map[string]string{
		"kubeconfig": userAdmin,
		"kubeconfigs/kube-controller-manager.kubeconfig": userControllerManager,
		"kubeconfigs/kube-scheduler.kubeconfig":          userScheduler,
		"kubeconfigs/kwok.kubeconfig":                    userKwok,
		"kubeconfigs/karpenter.kubeconfig":               userKarpenter,
		"kubeconfigs/volume-provisioner.kubeconfig":      userVolumeProvisioner,
	} {
		if err := clientcmd.WriteToFile(kubeconfig(u.c.Name, u.c.APIServerURL, ca.certPEM, user, u.tokens[user]), u.path(path)); err != nil {
			return err
		}
	}
	return nil
}

// kubeconfig returns a self-contained kubeconfig for user.
func kubeconfig(clusterName, server string, caPEM []byte, user, token string) clientcmdapi.Config {
	name := "sparkplane-dev-" + clusterName
	return clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{name: {Server: server, CertificateAuthorityData: caPEM}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{user: {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{name: {Cluster: name, AuthInfo: user}},
		CurrentContext: name,
	}
}

// startedProcess is a component this program started; done is closed when it exits.
type startedProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startComponent starts a component in its own session (so it outlives this
// program), its output in logs/<name>.log, and records its pid.
func (u *upper) startComponent(name string, args []string, env []string) error {
	logFile, err := os.OpenFile(logPath(u.c.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args = append(args, u.opts.ExtraArgs[name]...)
	cmd := exec.Command(u.bins[name], args...)
	cmd.Dir = u.c.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &startedProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	u.c.started[name] = p
	u.c.Components = append(u.c.Components, ComponentInfo{Name: name, PID: cmd.Process.Pid, Log: logPath(u.c.Dir, name), Command: cmd.Args, Env: env})
	return u.c.save()
}

// waitFor polls cond every 100ms until it holds. It fails at once when any
// started component exits, and when ctx ends; both errors show the last lines
// of the log of the component that died, or else of blame.
func (u *upper) waitFor(ctx context.Context, what, blame string, cond func() (bool, error)) error {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		for _, info := range u.c.Components {
			p := u.c.started[info.Name]
			select {
			case <-p.done:
				return componentError(info.Name, fmt.Sprintf("exited (%v) while waiting for %s", p.err, what), info.Log)
			default:
			}
		}
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("interrupted while waiting for %s", what)
			}
			return componentError(blame, fmt.Sprintf("not done after %s waiting for %s", u.opts.Timeout, what), logPath(u.c.Dir, blame))
		case <-ticker.C:
		}
	}
}

// componentError reports a component that failed, with its last log lines;
// it wraps ErrPortTaken when the log says an address was in use.
func componentError(name, what, log string) error {
	tail := tailFile(log, 15)
	err := fmt.Errorf("%s %s; last lines of %s:\n%s", name, what, log, indent(tail))
	if strings.Contains(tail, "address already in use") {
		return fmt.Errorf("%w: %w", ErrPortTaken, err)
	}
	return err
}

func indent(text string) string {
	return "    " + strings.ReplaceAll(text, "\n", "\n    ")
}

// reap waits briefly for the processes this program started, so none is
// left a zombie.
func (c *Cluster) reap() {
	for _, p := range c.started {
		select {
		case <-p.done:
		case <-time.After(time.Second):
		}
	}
}

func httpOK(ctx context.Context, hc *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

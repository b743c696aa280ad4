package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// memberRequestTimeout bounds every call the hub makes to a member, so a
// member that stops answering is found unreachable within one heartbeat
// and a lease write cannot land much later than it was computed.
const memberRequestTimeout = 3 * time.Second

// conn is the hub's connection to one member: a direct client and a cache
// of the copies this hub placed there (label sparkplane.io/hub=<hub id>).
type conn struct {
	name string
	// kubeconfigHash identifies the kubeconfig the conn was made from; a
	// changed Secret replaces the conn.
	kubeconfigHash string
	client         client.Client
	copies         cache.Cache
	synced         atomic.Bool
	stop           context.CancelFunc
}

// members holds the connections, keyed by MemberCluster name, and the
// placements made on each since its last heartbeat.
type members struct {
	hubID  string
	scheme *runtime.Scheme
	// copyEvents carries the hub application behind every copy change.
	copyEvents chan event.TypedGenericEvent[*v1alpha1.SparkApplication]

	mu       sync.Mutex
	conns    map[string]*conn
	inFlight map[string]int32
}

func newMembers(hubID string) *members {
	return &members{
		hubID:      hubID,
		scheme:     memberScheme(),
		copyEvents: make(chan event.TypedGenericEvent[*v1alpha1.SparkApplication], 4096),
		conns:      map[string]*conn{},
		inFlight:   map[string]int32{},
	}
}

// memberScheme knows what the hub reads on a member: core kinds, leases,
// sparkplane's kinds and Karpenter's NodePools.
func memberScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	karpenter := schema.GroupVersion{Group: "karpenter.sh", Version: "v1"}
	s.AddKnownTypes(karpenter, &karpv1.NodePool{}, &karpv1.NodePoolList{})
	metav1.AddToGroupVersion(s, karpenter)
	return s
}

// get returns the member's connection, nil when there is none yet.
func (m *members) get(name string) *conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns[name]
}

// placed counts delta placements on the member as in flight (-1 undoes one).
func (m *members) placed(name string, delta int32) {
	m.mu.Lock()
	m.inFlight[name] = max(m.inFlight[name]+delta, 0)
	m.mu.Unlock()
}

func (m *members) heartbeat(name string) {
	m.mu.Lock()
	m.inFlight[name] = 0
	m.mu.Unlock()
}

func (m *members) inFlightOf(name string) int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight[name]
}

// close stops and forgets the member's connection.
func (m *members) close(name string) {
	m.mu.Lock()
	c := m.conns[name]
	delete(m.conns, name)
	delete(m.inFlight, name)
	m.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// closeAll stops every connection (the manager is stopping).
func (m *members) closeAll() {
	m.mu.Lock()
	names := make([]string, 0, len(m.conns))
	for name := range m.conns {
		names = append(names, name)
	}
	m.mu.Unlock()
	for _, name := range names {
		m.close(name)
	}
}

// connect returns the member's connection for kubeconfig, making it (and
// starting its copy cache under ctx) when there is none or the kubeconfig
// changed.
func (m *members) connect(ctx context.Context, name string, kubeconfig []byte) (*conn, error) {
	sum := sha256.Sum256(kubeconfig)
	hash := hex.EncodeToString(sum[:8])
	if c := m.get(name); c != nil && c.kubeconfigHash == hash {
		return c, nil
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig in the Secret does not load: %w", err)
	}
	c, err := m.newConn(ctx, name, hash, cfg)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	old := m.conns[name]
	m.conns[name] = c
	m.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return c, nil
}

func (m *members) newConn(ctx context.Context, name, hash string, cfg *rest.Config) (*conn, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = memberRequestTimeout
	cfg.UserAgent = "sparkplane-hub"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	direct, err := client.New(cfg, client.Options{Scheme: m.scheme})
	if err != nil {
		return nil, fmt.Errorf("a client for member %s: %w", name, err)
	}
	// The watch must outlive the request timeout.
	watchCfg := rest.CopyConfig(cfg)
	watchCfg.Timeout = 0
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelHubID: m.hubID})
	copies, err := cache.New(watchCfg, cache.Options{
		Scheme:           m.scheme,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{&v1alpha1.SparkApplication{}: {Label: selector}},
	})
	if err != nil {
		return nil, fmt.Errorf("a cache for member %s: %w", name, err)
	}
	informer, err := copies.GetInformer(ctx, &v1alpha1.SparkApplication{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watching copies on member %s: %w", name, err)
	}
	connCtx, stop := context.WithCancel(ctx)
	forward := func(obj any) {
		if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		cp, ok := obj.(*v1alpha1.SparkApplication)
		if !ok {
			return
		}
		origin := &v1alpha1.SparkApplication{}
		origin.Namespace, origin.Name = cp.Namespace, cp.Name
		select {
		case m.copyEvents <- event.TypedGenericEvent[*v1alpha1.SparkApplication]{Object: origin}:
		case <-connCtx.Done(): // the connection (or the hub) is stopping
		}
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    forward,
		UpdateFunc: func(_, obj any) { forward(obj) },
		DeleteFunc: forward,
	}); err != nil {
		stop()
		return nil, err
	}
	c := &conn{name: name, kubeconfigHash: hash, client: direct, copies: copies, stop: stop}
	go func() { _ = copies.Start(connCtx) }()
	go func() {
		if copies.WaitForCacheSync(connCtx) {
			c.synced.Store(true)
		}
	}()
	return c, nil
}

// copyOf reads the copy of a hub application from the member's cache. ok is
// false when the cache has not synced yet (nothing is known).
func (c *conn) copyOf(ctx context.Context, key types.NamespacedName) (cp *v1alpha1.SparkApplication, ok bool, err error) {
	if !c.synced.Load() {
		return nil, false, nil
	}
	cp = &v1alpha1.SparkApplication{}
	if err := c.copies.Get(ctx, key, cp); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, true, nil
		}
		return nil, false, err
	}
	return cp, true, nil
}

// copyList lists this hub's copies from the member's cache.
func (c *conn) copyList(ctx context.Context) ([]v1alpha1.SparkApplication, bool, error) {
	if !c.synced.Load() {
		return nil, false, nil
	}
	list := &v1alpha1.SparkApplicationList{}
	if err := c.copies.List(ctx, list); err != nil {
		return nil, false, err
	}
	return list.Items, true, nil
}

// isStarted says whether the copy's driver was created (last known): the
// member counted an attempt or reports a state past New.
func isStarted(cp *v1alpha1.SparkApplication) bool {
	return cp.Status.Attempts > 0 || cp.Status.State != v1alpha1.StateNew
}

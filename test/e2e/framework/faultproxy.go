package framework

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FaultMix is what a FaultProxy does to requests, drawn per request from a
// source seeded with Seed: the fractions are of all requests and add up to
// at most 1; the rest pass untouched.
type FaultMix struct {
	Seed uint64
	// TooManyRequests answers 429 with Retry-After: RetryAfter (whole
	// seconds, as the API server writes it).
	TooManyRequests float64
	RetryAfter      time.Duration
	// ServerError answers 500 or 503 (half each).
	ServerError float64
	// Reset closes the client's connection without an answer (RST).
	Reset float64
	// Latency delays the request by Delay before passing it on (not
	// watches).
	Latency float64
	Delay   time.Duration
	// CutWatchesAfter, when positive, cuts every watch stream, open or
	// opened later, at a random time up to it from the mix's start or the
	// watch's.
	CutWatchesAfter time.Duration
}

// ProxiedRequest is one request the proxy saw.
type ProxiedRequest struct {
	At time.Time
	// Key is the method and URL (path and query).
	Key   string
	Watch bool
	// Fault is what the proxy did: "" (passed), "429", "500", "503",
	// "reset", "delay"; "cut" records a watch stream cut (at the cut).
	Fault string
	// RetryAfter is the Retry-After the proxy answered with.
	RetryAfter time.Duration
}

// FaultProxy is a reverse proxy on loopback in front of an API server that
// injects faults (FaultMix) and records every request, so a test can run
// the operator through it and count how it behaves.
type FaultProxy struct {
	URL    string
	target *url.URL

	mu       sync.Mutex
	mix      FaultMix
	rnd      *rand.Rand
	requests []ProxiedRequest
	// mixChanged is closed (and replaced) by SetMix, so that watches
	// opened before the mix draw their cut from the new one.
	mixChanged chan struct{}
}

// StartFaultProxy starts a proxy in front of the API server cfg points at,
// passing every request on with cfg's credentials and the client's
// Impersonate headers, until the test ends. It starts
// with no faults.
func StartFaultProxy(t testing.TB, cfg *rest.Config) *FaultProxy {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy authenticates with cfg's credentials (a client does not
	// send its token to a plain-HTTP server); the client's Impersonate-*
	// headers pass through, so it still acts as whom its kubeconfig says.
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{target: target, rnd: rand.New(rand.NewPCG(0, 0)), mixChanged: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(target)
	director := rp.Director
	rp.Director = func(req *http.Request) {
		director(req)
		req.Header.Del("Authorization")
	}
	rp.Transport = transport
	rp.FlushInterval = -1                    // stream watches
	rp.ErrorLog = log.New(io.Discard, "", 0) // cut and reset streams are the point
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p.handler(rp), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		srv.Close()
	})
	p.URL = "http://" + l.Addr().String()
	return p
}

// SetMix changes the faults from now on and reseeds the draws with
// mix.Seed, so two runs with one seed draw the same sequence.
func (p *FaultProxy) SetMix(mix FaultMix) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mix = mix
	p.rnd = rand.New(rand.NewPCG(mix.Seed, mix.Seed^0x5eed))
	close(p.mixChanged)
	p.mixChanged = make(chan struct{})
}

// watchCut returns when to cut a watch under the current mix (0: never)
// and the channel closed when the mix changes.
func (p *FaultProxy) watchCut() (time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mix.CutWatchesAfter <= 0 {
		return 0, p.mixChanged
	}
	return time.Duration(1 + p.rnd.Int64N(int64(p.mix.CutWatchesAfter))), p.mixChanged
}

// cutWatch cancels a watch stream when the mix says, also for a watch that
// opened before the mix was set, and records the cut.
func (p *FaultProxy) cutWatch(ctx context.Context, cancel context.CancelFunc, key string) {
	for {
		after, changed := p.watchCut()
		var timer <-chan time.Time
		if after > 0 {
			t := time.NewTimer(after)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-timer:
			p.record(ProxiedRequest{At: time.Now(), Key: key, Watch: true, Fault: "cut"})
			cancel()
			return
		}
	}
}

// Requests returns the requests seen between from and to.
func (p *FaultProxy) Requests(from, to time.Time) []ProxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ProxiedRequest
	for _, r := range p.requests {
		if !r.At.Before(from) && r.At.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// decide draws what to do with one request.
func (p *FaultProxy) decide(watch bool) (fault string, mix FaultMix) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mix = p.mix
	x := p.rnd.Float64()
	coin := p.rnd.IntN(2)
	for _, f := range []struct {
		share float64
		name  string
	}{{mix.TooManyRequests, "429"}, {mix.ServerError, "5xx"}, {mix.Reset, "reset"}, {mix.Latency, "delay"}} {
		if x < f.share {
			if f.name == "5xx" {
				return []string{"500", "503"}[coin], mix
			}
			if f.name == "delay" && watch {
				return "", mix
			}
			return f.name, mix
		}
		x -= f.share
	}
	return "", mix
}

func (p *FaultProxy) record(r ProxiedRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r)
}

func (p *FaultProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		watch := req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1"
		fault, mix := p.decide(watch)
		rec := ProxiedRequest{At: time.Now(), Key: req.Method + " " + req.URL.RequestURI(), Watch: watch, Fault: fault}
		switch fault {
		case "429":
			secs := max(1, int(mix.RetryAfter/time.Second))
			rec.RetryAfter = time.Duration(secs) * time.Second
			p.record(rec)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected: too many requests","reason":"TooManyRequests","code":429}`, http.StatusTooManyRequests)
			return
		case "500", "503":
			p.record(rec)
			code, _ := strconv.Atoi(fault)
			http.Error(w, fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected: server error","code":%d}`, code), code)
			return
		case "reset":
			p.record(rec)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tcp, ok := conn.(*net.TCPConn); ok {
						_ = tcp.SetLinger(0)
					}
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case "delay":
			select {
			case <-time.After(mix.Delay):
			case <-req.Context().Done():
			}
		}
		if watch {
			ctx, cancel := context.WithCancel(req.Context())
			defer cancel()
			req = req.WithContext(ctx)
			go p.cutWatch(ctx, cancel, rec.Key)
		}
		p.record(rec)
		next.ServeHTTP(w, req)
	})
}

// Kubeconfig writes a copy of kubeconfig whose clusters point at the proxy
// (plain HTTP on loopback), keeping the users' impersonation, which the
// proxy passes on with its own credentials.
func (p *FaultProxy) Kubeconfig(t testing.TB, kubeconfig string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, cluster := range cfg.Clusters {
		cluster.Server = p.URL
		cluster.CertificateAuthorityData, cluster.CertificateAuthority = nil, ""
	}
	path := filepath.Join(t.TempDir(), "proxied.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

package hub_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"
	"k8s.io/client-go/kubernetes"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

// costs is what the benchmarks' API servers and processes spent up to a
// moment: requests per API server by verb and resource (its /metrics
// apiserver_request_total) and CPU time of each API server, its etcd and
// this test process (hub and member operators, clients, stand-in kubelets).
type costs struct {
	requests map[string]map[string]float64 // API server name → "VERB resource[/subresource]" → count
	cpu      map[string]time.Duration      // process name → user+system CPU
}

// namedEnv names an API server in the figures.
type namedEnv struct {
	name string
	env  *testenv.Env
}

// requests false skips reading the API servers' /metrics, which costs this
// process a noticeable share of CPU (the figures are large).
func measureCosts(t testing.TB, envs []namedEnv, requests bool) costs {
	t.Helper()
	c := costs{requests: map[string]map[string]float64{}, cpu: map[string]time.Duration{}}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		c.cpu["test process"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// The API servers and etcds are this process's children (envtest).
	procs, err := procfs.AllProcs()
	if err != nil {
		t.Logf("reading processes: %v", err)
		procs = nil
	}
	etcdOf := map[string]string{} // etcd client URL → API server name
	type child struct {
		stat procfs.ProcStat
		args []string
	}
	var children []child
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil || st.PPID != os.Getpid() {
			continue
		}
		args, err := p.CmdLine()
		if err != nil {
			continue
		}
		children = append(children, child{st, args})
	}
	for _, ch := range children {
		if ch.stat.Comm != "kube-apiserver" {
			continue
		}
		port, etcdURL := flagOf(ch.args, "secure-port"), flagOf(ch.args, "etcd-servers")
		for _, e := range envs {
			if u, err := url.Parse(e.env.Config.Host); err == nil && u.Port() == port {
				c.cpu[e.name+" kube-apiserver"] = time.Duration(ch.stat.CPUTime() * float64(time.Second))
				etcdOf[etcdURL] = e.name
			}
		}
	}
	for _, ch := range children {
		if ch.stat.Comm != "etcd" {
			continue
		}
		if name, ok := etcdOf[flagOf(ch.args, "listen-client-urls")]; ok {
			c.cpu[name+" etcd"] = time.Duration(ch.stat.CPUTime() * float64(time.Second))
		}
	}
	// Read last: parsing /metrics costs this process CPU of its own.
	for _, e := range envs {
		if requests {
			c.requests[e.name] = requestsOf(t, e.env)
		}
	}
	return c
}

// flagOf is the value of --name=value or --name value in args.
func flagOf(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// requestsOf reads apiserver_request_total from the API server's /metrics,
// summed by verb and resource (and subresource).
func requestsOf(t testing.TB, env *testenv.Env) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Logf("metrics client: %v", err)
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Logf("reading /metrics: %v", err)
		return out
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Logf("parsing /metrics: %v", err)
		return out
	}
	family, ok := families["apiserver_request_total"]
	if !ok {
		return out
	}
	for _, m := range family.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		if code := labels["code"]; code != "" && code[0] != '2' {
			key += " (" + code + ")"
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out
}

// perApplication reports what happened between before and after divided
// by n applications: CPU milliseconds per process and requests per API
// server (only those that moved by at least 0.05 an application).
func perApplication(before, after costs, n int) string {
	var b strings.Builder
	names := make([]string, 0, len(after.cpu))
	for name := range after.cpu {
		names = append(names, name)
	}
	sort.Strings(names)
	var total time.Duration
	for _, name := range names {
		d := after.cpu[name] - before.cpu[name]
		total += d
		fmt.Fprintf(&b, "\n    CPU %-28s %6.1f ms/app", name, float64(d)/float64(time.Millisecond)/float64(n))
	}
	fmt.Fprintf(&b, "\n    CPU %-28s %6.1f ms/app", "all", float64(total)/float64(time.Millisecond)/float64(n))
	servers := make([]string, 0, len(after.requests))
	for name := range after.requests {
		servers = append(servers, name)
	}
	sort.Strings(servers)
	for _, server := range servers {
		var sum float64
		var lines []string
		for key, v := range after.requests[server] {
			d := (v - before.requests[server][key]) / float64(n)
			if d < 0.05 {
				continue
			}
			sum += d
			lines = append(lines, fmt.Sprintf("%s %.2f", key, d))
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "\n    %s API server: %.2f requests/app: %s", server, sum, strings.Join(lines, ", "))
	}
	return b.String()
}

// profileServers, when SPARKPLANE_BENCH_PPROF names a directory, writes a
// CPU profile of each API server over the next d there (name-prefix.pprof),
// to see what their CPU per application is spent on; otherwise nothing.
func profileServers(t testing.TB, envs []namedEnv, prefix string, d time.Duration) {
	dir := os.Getenv("SPARKPLANE_BENCH_PPROF")
	if dir == "" {
		return
	}
	for _, e := range envs {
		go func() {
			cs, err := kubernetes.NewForConfig(e.env.Config)
			if err != nil {
				t.Logf("profile client: %v", err)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
			defer cancel()
			raw, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").
				Param("seconds", fmt.Sprint(int(d.Seconds()))).Timeout(d + 30*time.Second).DoRaw(ctx)
			if err != nil {
				t.Logf("profiling %s: %v", e.name, err)
				return
			}
			if err := os.WriteFile(fmt.Sprintf("%s/%s-%s.pprof", dir, e.name, prefix), raw, 0o644); err != nil {
				t.Logf("writing the profile: %v", err)
			}
		}()
	}
}

// coresBusy is the CPU the measured processes spent between two moments
// over the time between them: how many of the machine's cores they kept
// busy.
func coresBusy(before, after costs, over time.Duration) float64 {
	var total time.Duration
	for name, d := range after.cpu {
		total += d - before.cpu[name]
	}
	return total.Seconds() / over.Seconds()
}

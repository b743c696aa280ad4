// Package doctor checks a cluster for everything sparkplane relies on — the
// API server, the CRDs, the operator, Karpenter and its NodePools, the
// PriorityClasses and StorageClasses the profiles name, a CSI driver, the
// driver's ServiceAccount and permissions, Pod Security, the metrics stack —
// and says for each what it found and, when something is wrong, how to fix
// it. `sparkplane doctor` prints its results.
package doctor

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Status of one check.
type Status string

const (
	// OK: the piece is there and right.
	OK Status = "ok"
	// Fail: sparkplane (or some applications) will not work until fixed.
	Fail Status = "fail"
	// Warn: works, but not as designed (an optional piece is missing, or a
	// version differs).
	Warn Status = "warn"
)

// Symbol is the one-character mark printed before a check.
func (s Status) Symbol() string {
	switch s {
	case OK:
		return "✓"
	case Fail:
		return "✗"
	}
	return "!"
}

// Result is the outcome of one check. Check names are stable: scripts and
// docs/install.md's troubleshooting table refer to them.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Fix says what to run or change; set for every Fail and most Warns.
	Fix string `json:"fix,omitempty"`
}

// Names of the checks, in the order Run runs them.
const (
	CheckAPIServer     = "api-server"
	CheckCRDs          = "crds"
	CheckOperator      = "operator"
	CheckKarpenter     = "karpenter"
	CheckNodePools     = "nodepools"
	CheckDriverPool    = "driver-pool"
	CheckPriorityClass = "priority-classes"
	CheckStorageClass  = "storage-classes"
	CheckCSIDriver     = "csi-driver"
	CheckDriverAccount = "driver-service-account"
	CheckPodSecurity   = "pod-security"
	// CheckSubmitterPolicy: install's admission policy against the
	// confused deputy (docs/security.md).
	CheckSubmitterPolicy = "submitter-policy"
	CheckMetricsStack    = "metrics-stack"
)

// Options of a run.
type Options struct {
	// Namespace is where Spark applications run: the driver account,
	// its permissions and Pod Security are checked there.
	Namespace string
	// Version of this binary; the operator's image tag is compared with it.
	Version string
}

// Cluster is what the checks read.
type Cluster struct {
	Client    client.Client
	Discovery discovery.DiscoveryInterface
}

// Failed says whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Run runs every check. When the API server cannot be reached it stops
// after that check: nothing else could be read.
func Run(ctx context.Context, cl Cluster, opts Options) []Result {
	api := checkAPIServer(cl)
	results := []Result{api}
	if api.Status == Fail {
		return results
	}
	r := &run{ctx: ctx, c: cl.Client, opts: opts}
	profiles := r.profiles()
	results = append(results,
		r.checkCRDs(),
		r.checkOperator(),
	)
	karpenter := r.checkKarpenter()
	results = append(results, karpenter)
	if karpenter.Status == OK {
		results = append(results, r.checkNodePools(), r.checkDriverPool())
	}
	results = append(results, r.checkPriorityClasses(profiles))
	storage, classes := r.checkStorageClasses(profiles)
	results = append(results, storage, r.checkCSIDrivers(classes),
		r.checkDriverAccount(), r.checkPodSecurity(), r.checkSubmitterPolicy(), r.checkMetricsStack())
	return results
}

type run struct {
	ctx  context.Context
	c    client.Client
	opts Options
}

func ok(check, format string, args ...any) Result {
	return Result{Check: check, Status: OK, Message: fmt.Sprintf(format, args...)}
}

func fail(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Fail, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func warn(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Warn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

package emulator

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExecutorTarget(t *testing.T) {
	static := allocation{static: 3}
	dynamic := allocation{dynamic: true, static: 2, minimum: 1, limit: 10}
	cases := map[string]struct {
		p          allocation
		backlog    int
		cores      int
		registered bool
		want       int
	}{
		"static ignores the backlog":             {static, 100, 2, true, 3},
		"dynamic sizes by backlog over cores":    {dynamic, 9, 2, true, 5},
		"dynamic capped at max":                  {dynamic, 500, 2, true, 10},
		"dynamic never below min":                {dynamic, 0, 2, true, 1},
		"initial count until the first executor": {dynamic, 1, 4, false, 2},
		"unbounded max":                          {allocation{dynamic: true, limit: math.MaxInt32}, 48, 1, true, 48},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := executorTarget(tc.p, tc.backlog, tc.cores, tc.registered); got != tc.want {
				t.Errorf("target = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAllocationConf(t *testing.T) {
	parse := func(props string) (allocation, error) {
		conf, err := ParseProperties(props)
		if err != nil {
			t.Fatal(err)
		}
		a := &app{spec: &DriverSpec{Conf: Conf(conf)}}
		return a.allocationConf()
	}
	got, err := parse("spark.dynamicAllocation.enabled=true\nspark.dynamicAllocation.minExecutors=2\nspark.dynamicAllocation.initialExecutors=1\nspark.dynamicAllocation.maxExecutors=8\nspark.executor.instances=4\nspark.kubernetes.allocation.batch.size=5\nspark.kubernetes.allocation.batch.delay=250\n")
	if err != nil {
		t.Fatal(err)
	}
	want := allocation{dynamic: true, static: 4, minimum: 2, limit: 8, batchSize: 5, batchDelay: 250 * time.Millisecond, idleTimeout: time.Minute, creationTimeout: 600 * time.Second}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(allocation{})); diff != "" {
		t.Errorf("allocation (-want +got):\n%s", diff)
	}
	for name, tc := range map[string]struct{ props, want string }{
		"min above max":  {"spark.dynamicAllocation.enabled=true\nspark.dynamicAllocation.minExecutors=5\nspark.dynamicAllocation.maxExecutors=2\n", "min <= max"},
		"zero batch":     {"spark.kubernetes.allocation.batch.size=0\n", "batch.size"},
		"bad delay":      {"spark.kubernetes.allocation.batch.delay=soon\n", "batch.delay"},
		"negative count": {"spark.executor.instances=-1\n", "spark.executor.instances"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(tc.props)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestClassifyRemoval(t *testing.T) {
	now := metav1.Now()
	pod := func(deleting bool, grace int64) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelExecutorID: "3"}}}
		if deleting {
			p.DeletionTimestamp = &now
			p.DeletionGracePeriodSeconds = &grace
		}
		return p
	}
	cases := map[string]struct {
		pod          *corev1.Pod
		released     bool
		decommission bool
		want         RemovalKind
		wantGrace    time.Duration
	}{
		"graceful delete, decommissioning on":  {pod(true, 30), false, true, Decommissioned, 150 * time.Second},
		"graceful delete, decommissioning off": {pod(true, 30), false, false, Lost, 0},
		"delete with no grace":                 {pod(true, 0), false, true, Lost, 0},
		"vanished with no deletionTimestamp":   {pod(false, 0), false, true, Lost, 0},
		"released by the driver":               {pod(true, 30), true, true, Released, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kind, grace, reason := classifyRemoval(tc.pod, tc.released, tc.decommission, 5)
			if kind != tc.want || grace != tc.wantGrace || reason == "" {
				t.Errorf("got %v, %v, %q; want %v, %v", kind, grace, reason, tc.want, tc.wantGrace)
			}
		})
	}
}

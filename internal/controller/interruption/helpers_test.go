package interruption

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/sparkplane/sparkplane/internal/testenv"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func stringUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// waitForEvent waits for an events.k8s.io Event with reason about the named
// object in ns.
func waitForEvent(t testing.TB, ns, regarding, reason string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "event "+reason+" on "+regarding, func() bool {
		var list eventsv1.EventList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Regarding.Name == regarding && e.Reason == reason {
				return true
			}
		}
		return false
	})
}

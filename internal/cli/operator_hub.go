package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/sparkplane/sparkplane/internal/controller/hub"
	"github.com/sparkplane/sparkplane/internal/install"
)

// hubLeaderElectionID is the Lease the hub operator's replicas elect a
// leader with (a hub may also be a member: the two operators must not share one).
const hubLeaderElectionID = install.HubLeaderElectionID

// hubOperatorOptions are the operator's --hub flags.
type hubOperatorOptions struct {
	enabled bool
	opts    hub.Options
}

func (h *hubOperatorOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&h.enabled, "hub", false, "Run as the hub: place each SparkApplication on a MemberCluster (sparkplane clusters add) instead of running it here; no Spark runs on the hub")
	fs.StringVar(&h.opts.HubID, "hub-id", hub.DefaultHubID, "With --hub: the name this hub gives itself on the copies it places (label sparkplane.io/hub); unique per hub sharing members")
	fs.DurationVar(&h.opts.Lease, "lease", hub.DefaultLease, "With --hub: how long a member may start a placed application's driver after the hub's last lease grant")
	fs.DurationVar(&h.opts.LostAfter, "lost-after", hub.DefaultLostAfter, "With --hub: a member unreachable this long is Lost and its not-started applications are re-placed (must exceed --lease)")
	fs.DurationVar(&h.opts.HeartbeatInterval, "heartbeat-interval", hub.DefaultHeartbeatInterval, "With --hub: how often each member is probed")
	fs.DurationVar(&h.opts.GCInterval, "gc-interval", hub.DefaultGCInterval, "With --hub: how often copies whose hub application is gone are deleted from members")
}

func (h *hubOperatorOptions) validate() error {
	if !h.enabled {
		return nil
	}
	if h.opts.GCInterval <= 0 || h.opts.GCInterval > time.Minute {
		return fmt.Errorf("--gc-interval must be between 0 and 1m (orphan copies are collected at least every minute), got %s", h.opts.GCInterval)
	}
	return h.opts.Validate()
}

// options are the hub's options for operator.New, nil without --hub. A hub
// runs the hub controller and the schedules' controller, whose runs it
// places like any application.
func (h *hubOperatorOptions) options() *hub.Options {
	if !h.enabled {
		return nil
	}
	opts := h.opts
	opts.OperatorNamespace = install.Namespace
	opts.OperatorLease = install.LeaderElectionID
	return &opts
}

func leaderElectionID(hubMode bool) string {
	if hubMode {
		return hubLeaderElectionID
	}
	return install.LeaderElectionID
}

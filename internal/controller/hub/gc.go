package hub

import (
	"context"
	"errors"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// collector deletes, every GCInterval, the copies on reachable members that
// no hub application accounts for. It runs only on the elected leader.
type collector struct{ hub *Controller }

func (g *collector) NeedLeaderElection() bool { return true }

func (g *collector) Start(ctx context.Context) error {
	ticker := time.NewTicker(g.hub.opts.GCInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		list := &v1alpha1.MemberClusterList{}
		if err := g.hub.client.List(ctx, list); err != nil {
			log.FromContext(ctx).Error(err, "Listing members for garbage collection")
			continue
		}
		for i := range list.Items {
			mc := &list.Items[i]
			if mc.Status.State != v1alpha1.MemberHealthy && mc.Status.State != v1alpha1.MemberDraining {
				continue // collected when it is back, before it is used
			}
			if err := g.hub.collect(ctx, mc.Name); err != nil {
				log.FromContext(ctx).Error(err, "Collecting orphan copies", "member", mc.Name)
			}
		}
	}
}

// collect deletes the member's copies that are stale: their hub application
// is gone (or is another one of the same name), is placed elsewhere, or is
// placed there at a newer epoch. It lists the copies live (a member that
// just came back may have changed since the cache last saw it) and checks
// each suspect against the hub's API server, not its cache, so a placement
// written a moment ago is never mistaken for a missing one.
func (c *Controller) collect(ctx context.Context, member string) error {
	cn := c.members.get(member)
	if cn == nil {
		return errors.New("no connection to the member")
	}
	list := &v1alpha1.SparkApplicationList{}
	if err := cn.client.List(ctx, list, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(labels.Set{v1alpha1.LabelHubID: c.opts.HubID})}); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		cp := &list.Items[i]
		key := types.NamespacedName{Namespace: cp.Namespace, Name: cp.Name}
		app := &v1alpha1.SparkApplication{}
		if err := c.client.Get(ctx, key, app); err == nil && !stale(cp, app, member) {
			continue
		}
		app = &v1alpha1.SparkApplication{}
		err := c.apiReader.Get(ctx, key, app)
		if err != nil && client.IgnoreNotFound(err) != nil {
			errs = append(errs, err)
			continue
		}
		if err == nil && !stale(cp, app, member) {
			continue
		}
		log.FromContext(ctx).V(1).Info("Deleting stale copy", "member", member, "copy", key, "epoch", cp.Labels[v1alpha1.LabelPlacementEpoch])
		if err := c.deleteCopy(ctx, cn, cp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stale says whether copy cp on member is not the hub application app's
// current copy (or the copy of a run the hub ended when its member was lost).
func stale(cp, app *v1alpha1.SparkApplication, member string) bool {
	if cp.Labels[v1alpha1.LabelOriginUID] != string(app.UID) {
		return true
	}
	p := app.Status.Placement
	if p == nil || endedByClusterLoss(app) {
		return true
	}
	epoch, err := strconv.ParseInt(cp.Labels[v1alpha1.LabelPlacementEpoch], 10, 64)
	return err != nil || p.Cluster != member || epoch < p.Epoch
}

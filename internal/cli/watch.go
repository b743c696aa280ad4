package cli

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// applicationQuery selects the SparkApplications a list, a watch or a wait
// is about: a namespace ("" for all), a label selector and, for one
// application, its name.
type applicationQuery struct {
	namespace string
	selector  labels.Selector
	name      string
}

func (q applicationQuery) listOptions(raw *metav1.ListOptions) []client.ListOption {
	opts := []client.ListOption{}
	if q.namespace != "" {
		opts = append(opts, client.InNamespace(q.namespace))
	}
	if q.selector != nil && !q.selector.Empty() {
		opts = append(opts, client.MatchingLabelsSelector{Selector: q.selector})
	}
	if q.name != "" {
		opts = append(opts, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", q.name)})
	}
	if raw != nil {
		opts = append(opts, &client.ListOptions{Raw: raw})
	}
	return opts
}

// list returns the applications the query selects, and the resource version
// a watch continues from.
func (q applicationQuery) list(ctx context.Context, c client.Client) (*v1alpha1.SparkApplicationList, error) {
	list := &v1alpha1.SparkApplicationList{}
	if err := c.List(ctx, list, q.listOptions(nil)...); err != nil {
		return nil, err
	}
	return list, nil
}

// untilStopped is err, except that the user stopping a watch (the context
// cancelled) is not a failure.
func untilStopped(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// watch calls changed with every change of the selected applications after
// resourceVersion, until changed says done, returns an error or ctx ends.
// A dropped connection or an expired resource version is resumed
// (client-go's RetryWatcher), so a long watch does not end by itself.
func (q applicationQuery) watch(ctx context.Context, c client.WithWatch, resourceVersion string, changed func(watch.EventType, *v1alpha1.SparkApplication) (done bool, err error)) error {
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &v1alpha1.SparkApplicationList{}, q.listOptions(&options)...)
		},
	}
	watcher, err := watchtools.NewRetryWatcherWithContext(ctx, resourceVersion, lw)
	if err != nil {
		return err
	}
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case event, ok := <-watcher.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("the watch of SparkApplications ended unexpectedly; run the command again")
			}
			switch event.Type {
			case watch.Error:
				return fmt.Errorf("watching SparkApplications: %v", event.Object)
			case watch.Bookmark:
				continue
			}
			app, ok := event.Object.(*v1alpha1.SparkApplication)
			if !ok {
				continue
			}
			done, err := changed(event.Type, app)
			if err != nil || done {
				return err
			}
		}
	}
}

// Package controller wires sparkplane's controllers into a manager: the one
// list of every controller the operator runs (each lives in its own package
// under internal/controller/<name>/ with NewController, Name and Register).
package controller

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/controller/queue"
	"github.com/sparkplane/sparkplane/internal/controller/scheduled"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
)

// Controller is what every sparkplane controller provides.
type Controller interface {
	Name() string
	Register(mgr manager.Manager) error
}

// Options configure the controllers; each controller's own Options sit here.
type Options struct {
	SparkApplication sparkapplication.Options
	// Profiles configure the profile resolver, the SparkApplication
	// controller's resolve hook (unless SparkApplication.Resolve is set).
	Profiles sparkprofile.ResolverOptions
	// Interruption configures the Spot-interruption controller (signals,
	// budget); the zero value is the default.
	Interruption interruption.Options
	// Scheduled configures the ScheduledSparkApplication controller.
	Scheduled scheduled.Options
}

// New returns every controller, in registration order. Add a controller by
// appending it here.
func New(mgr manager.Manager, opts Options) ([]Controller, error) {
	resolver := sparkprofile.NewResolver(opts.Profiles)
	if opts.SparkApplication.Resolve == nil {
		opts.SparkApplication.Resolve = resolver.Resolve
	}
	interruptions, err := interruption.NewController(opts.Interruption)
	if err != nil {
		return nil, err
	}
	// Kueue admission only where Kueue serves Workloads: elsewhere a queue
	// label would hold an application for an admission that never comes.
	var queued []Controller
	if queue.Available(mgr.GetRESTMapper()) {
		opts.SparkApplication.QueueAdmission = true
		queued = append(queued, queue.NewController())
	}
	return append([]Controller{
		resolver,
		sparkapplication.NewController(mgr.GetClient(), mgr.GetAPIReader(), opts.SparkApplication),
		sparkprofile.NewController(),
		interruptions,
		scheduled.NewController(mgr.GetClient(), opts.Scheduled),
	}, queued...), nil
}

// Register creates every controller and registers it with mgr. The manager's
// scheme must include core/v1 and sparkplane's v1alpha1.
func Register(mgr manager.Manager, opts Options) error {
	controllers, err := New(mgr, opts)
	if err != nil {
		return err
	}
	for _, c := range controllers {
		if err := c.Register(mgr); err != nil {
			return fmt.Errorf("registering controller %s: %w", c.Name(), err)
		}
	}
	return nil
}

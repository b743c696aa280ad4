package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// finishHub makes a light hub usable: sparkplane's CRDs (SparkApplication,
// MemberCluster, ...) installed and served. A hub runs no pods, so it has no
// nodes, scheduler or controller manager.
func (u *upper) finishHub(ctx context.Context, cfg *rest.Config) error {
	crds, err := v1alpha1.CRDs()
	if err != nil {
		return err
	}
	if err := u.installCRDs(ctx, crds, "sparkplane's CRDs"); err != nil {
		return err
	}
	u.step("installed %d sparkplane CRDs", len(crds))
	u.c.ReadyAfter = time.Since(u.start)
	u.step("hub %q is up (etcd and API server only)", u.c.Name)
	return u.c.save()
}

// StopAPIServer stops cluster name's API server and waits until its port is
// closed; etcd and every other component keep running, as in the loss of a
// region's control plane seen from outside. StartAPIServer brings it back.
// The stop is abrupt (SIGKILL right after SIGTERM), as a region's loss is:
// kube-apiserver's graceful shutdown would go on serving for seconds, so
// clients would not see the loss at the moment it was asked for.
func StopAPIServer(name string) error { return stopComponent(name, ComponentAPIServer, 0) }

// StartAPIServer starts cluster name's API server again, with the command
// line it was first started with, and waits until it is ready (at most timeout).
func StartAPIServer(ctx context.Context, name string, timeout time.Duration) error {
	return StartComponent(ctx, name, ComponentAPIServer, timeout)
}

// StopComponent stops one component of cluster name (ComponentAPIServer or
// ComponentEtcd: a control-plane restart) and waits until its ports are
// closed; the others keep running. StartComponent brings it back.
func StopComponent(name, component string) error {
	return stopComponent(name, component, 10*time.Second)
}

// stopComponent sends SIGTERM, waits up to grace, then SIGKILL.
func stopComponent(name, component string, grace time.Duration) error {
	c, unlock, err := loadLocked(name)
	if err != nil {
		return err
	}
	defer unlock()
	var ports []int
	switch component {
	case ComponentAPIServer:
		ports = []int{c.Ports.APIServer}
	case ComponentEtcd:
		ports = []int{c.Ports.EtcdClient, c.Ports.EtcdPeer}
	default:
		return fmt.Errorf("stopping %s: only %s and %s can be stopped and started again", component, ComponentAPIServer, ComponentEtcd)
	}
	if err := stopStage("/proc", c.Dir, []string{component}, grace); err != nil {
		return fmt.Errorf("stopping the %s of %q: %w", component, name, err)
	}
	return waitPortsClosed(ports, 10*time.Second)
}

// StartComponent starts a component StopComponent stopped again, with the
// command line it was first started with, and waits until the API server
// is ready again (at most timeout): for etcd, that is the API server
// serving from it again.
func StartComponent(ctx context.Context, name, component string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, unlock, err := loadLocked(name)
	if err != nil {
		return err
	}
	defer unlock()
	procs, err := c.Processes()
	if err != nil {
		return err
	}
	if slices.ContainsFunc(procs, func(p Process) bool { return p.Binary == component }) {
		return fmt.Errorf("the %s of %q is running already", component, name)
	}
	i := slices.IndexFunc(c.Components, func(ci ComponentInfo) bool { return ci.Name == component })
	if i < 0 || len(c.Components[i].Command) == 0 {
		return fmt.Errorf("cluster %q records no %s command line (started by an older sparkplane?): recreate it with sparkplane dev down and up", name, component)
	}
	info := &c.Components[i]
	logFile, err := os.OpenFile(info.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(info.Command[0], info.Command[1:]...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), info.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the %s of %q: %w", component, name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	info.PID = cmd.Process.Pid
	if err := c.save(); err != nil {
		return err
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	readyz, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for !httpOK(ctx, readyz, c.APIServerURL+"/readyz") {
		select {
		case err := <-exited:
			return componentError(component, fmt.Sprintf("exited (%v) while starting again", err), info.Log)
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("the API server of %q is not ready after starting %s again", name, component), ctx.Err())
		case <-ticker.C:
		}
	}
	return nil
}

func loadLocked(name string) (*Cluster, func(), error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	unlock, err := lockName(name)
	if err != nil {
		return nil, nil, err
	}
	c, err := Load(name)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

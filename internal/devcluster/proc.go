package devcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a running process that belongs to a cluster.
type Process struct {
	PID int
	// Binary is the base name of the executable (argv[0]), or
	// ComponentVolumeProvisioner for sparkplane running the provisioner.
	Binary string
	Args   []string
}

// clusterBinaries are the executables a cluster runs. Discovery only considers
// these, so a shell or `tail -f` on a log file is never taken for part of the cluster.
var clusterBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// clusterProcess reports whether a command line is one of a cluster's
// components: a cluster binary, or sparkplane running the volume
// provisioner (`<any path>/sparkplane dev volume-provisioner ...`; the
// binary may have any name, e.g. a test's build).
func clusterProcess(binary string, args []string) bool {
	return slices.Contains(clusterBinaries, binary) || len(args) > 2 && args[1] == "dev" && args[2] == "volume-provisioner"
}

// FindProcesses scans procRoot (normally /proc) for live processes running
// one of the cluster binaries with stateDir on their command line, as a whole
// path or as a prefix of one (stateDir + "/..."). Zombies count as gone.
func FindProcesses(procRoot, stateDir string) ([]Process, error) {
	stateDir = filepath.Clean(stateDir)
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("scanning processes: %w", err)
	}
	self := os.Getpid()
	var found []Process
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(procRoot, entry.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone meanwhile, a kernel thread, or a zombie
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		binary := filepath.Base(args[0])
		if !clusterProcess(binary, args) || !mentionsDir(args[1:], stateDir) {
			continue
		}
		if !slices.Contains(clusterBinaries, binary) {
			binary = ComponentVolumeProvisioner // whatever the sparkplane binary is called
		}
		if zombie(procRoot, entry.Name()) {
			continue
		}
		found = append(found, Process{PID: pid, Binary: binary, Args: args})
	}
	return found, nil
}

// mentionsDir reports whether an argument names dir or a path inside it,
// alone or as a flag's value (--data-dir=/x/dev/a/etcd).
func mentionsDir(args []string, dir string) bool {
	for _, arg := range args {
		if _, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(arg, "-") {
			arg = value
		}
		for _, part := range strings.Split(arg, ",") {
			if part == dir || strings.HasPrefix(part, dir+"/") {
				return true
			}
		}
	}
	return false
}

// zombie reports whether the process has exited and waits to be reaped.
func zombie(procRoot, pid string) bool {
	stat, err := os.ReadFile(filepath.Join(procRoot, pid, "stat"))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// stopOrder stops the API server's clients first, then the API server, then
// etcd: an API server whose etcd is gone, or an etcd with a client still
// attached, takes seconds longer to shut down.
var stopOrder = [][]string{
	{"kwok", "kube-scheduler", "kube-controller-manager", ComponentVolumeProvisioner},
	{"kube-apiserver"},
	{"etcd"},
}

// stopProcesses stops the cluster's processes stage by stage (stopOrder):
// SIGTERM to each process and its process group (it leads one, started with
// setsid), up to grace for them to be gone, then SIGKILL. It returns an error
// naming the processes still alive after that.
func stopProcesses(procRoot, stateDir string, grace time.Duration) error {
	for _, stage := range stopOrder {
		if err := stopStage(procRoot, stateDir, stage, grace); err != nil {
			return err
		}
	}
	// Anything left (a stage could not see a process that started meanwhile).
	return stopStage(procRoot, stateDir, append(slices.Clone(clusterBinaries), ComponentVolumeProvisioner), grace)
}

func stopStage(procRoot, stateDir string, binaries []string, grace time.Duration) error {
	find := func() ([]Process, error) {
		procs, err := FindProcesses(procRoot, stateDir)
		if err != nil {
			return nil, err
		}
		var in []Process
		for _, p := range procs {
			if slices.Contains(binaries, p.Binary) {
				in = append(in, p)
			}
		}
		return in, nil
	}
	signalAll := func(sig syscall.Signal) (bool, error) {
		procs, err := find()
		if err != nil {
			return false, err
		}
		for _, p := range procs {
			if pgid, err := syscall.Getpgid(p.PID); err == nil && pgid == p.PID {
				_ = syscall.Kill(-p.PID, sig)
			}
			_ = syscall.Kill(p.PID, sig)
		}
		return len(procs) > 0, nil
	}
	waitGone := func(timeout time.Duration) ([]Process, error) {
		deadline := time.Now().Add(timeout)
		for {
			procs, err := find()
			if err != nil || len(procs) == 0 || time.Now().After(deadline) {
				return procs, err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	any, err := signalAll(syscall.SIGTERM)
	if err != nil || !any {
		return err
	}
	left, err := waitGone(grace)
	if err != nil || len(left) == 0 {
		return err
	}
	if _, err := signalAll(syscall.SIGKILL); err != nil {
		return err
	}
	left, err = waitGone(5 * time.Second)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		var names []string
		for _, p := range left {
			names = append(names, fmt.Sprintf("%s (pid %d)", p.Binary, p.PID))
		}
		return errors.New("still running after SIGKILL: " + strings.Join(names, ", "))
	}
	return nil
}

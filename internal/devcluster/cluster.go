package devcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sparkplane/sparkplane/internal/toolchain"
)

// Component names: what `dev logs` takes and what status lists.
const (
	ComponentEtcd              = "etcd"
	ComponentAPIServer         = "kube-apiserver"
	ComponentControllerManager = "kube-controller-manager"
	ComponentScheduler         = "kube-scheduler"
	ComponentKwok              = "kwok"
	ComponentKarpenter         = "karpenter"
	// ComponentVolumeProvisioner provisions the shuffle StorageClass's
	// claims (`sparkplane dev volume-provisioner`, ProvisionVolumes).
	ComponentVolumeProvisioner = "volume-provisioner"
)

// Components lists every component in start order.
var Components = []string{ComponentEtcd, ComponentAPIServer, ComponentControllerManager, ComponentScheduler, ComponentKwok, ComponentVolumeProvisioner, ComponentKarpenter}

// Errors returned (wrapped) by Up, Load and Down.
var (
	ErrAlreadyUp = errors.New("cluster is already up")
	ErrNotFound  = errors.New("no such cluster")
)

// DefaultName is the cluster name when none is given.
const DefaultName = "sparkplane"

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidateName checks that name can name a cluster (and its folder).
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("name %q is not valid: use 1 to 40 lower-case letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// StateDir is the folder holding the state of cluster name; it ends in dev/<name>.
func StateDir(name string) string {
	cache := toolchain.CacheDir()
	if abs, err := filepath.Abs(cache); err == nil {
		cache = abs
	}
	return filepath.Join(cache, "dev", name)
}

// Cluster is a local cluster, as recorded in its state folder.
type Cluster struct {
	Name string `json:"name"`
	// Dir is StateDir(Name).
	Dir string `json:"dir"`
	// APIServerURL is https://127.0.0.1:<port>.
	APIServerURL string    `json:"apiServerURL"`
	Zones        int       `json:"zones"`
	Karpenter    bool      `json:"karpenter"`
	Ports        Ports     `json:"ports"`
	StartedAt    time.Time `json:"startedAt"`
	// ReadyAfter is how long Up took from its start to every node Ready and
	// the cluster usable.
	ReadyAfter time.Duration `json:"readyAfter"`
	// Nodes is the number of static nodes Up created.
	Nodes int `json:"nodes"`
	// Hub is true for a light hub cluster: etcd and the API server only,
	// with sparkplane's CRDs (Options.Hub).
	Hub        bool            `json:"hub,omitempty"`
	Components []ComponentInfo `json:"components"`

	// started holds the processes this program started, so that it reaps them.
	started map[string]*startedProcess
}

// Ports are the TCP ports a cluster listens on, all on 127.0.0.1 except
// Karpenter's, which it binds on every interface.
type Ports struct {
	EtcdClient       int `json:"etcdClient"`
	EtcdPeer         int `json:"etcdPeer"`
	APIServer        int `json:"apiServer"`
	KarpenterMetrics int `json:"karpenterMetrics,omitempty"`
	KarpenterHealth  int `json:"karpenterHealth,omitempty"`
}

// List returns the ports in use (non-zero).
func (p Ports) List() []int {
	var ports []int
	for _, port := range []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.KarpenterMetrics, p.KarpenterHealth} {
		if port != 0 {
			ports = append(ports, port)
		}
	}
	return ports
}

// ComponentInfo records one started process.
type ComponentInfo struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Log  string `json:"log"`
	// Command is the binary and its arguments, and Env the environment added
	// to this program's, as started: StartAPIServer starts it again so.
	Command []string `json:"command,omitempty"`
	Env     []string `json:"env,omitempty"`
}

// Kubeconfig is the path of the admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.Dir, "kubeconfig") }

// RESTConfig returns an admin client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig of cluster %q: %w", c.Name, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

// LogPath is the log file of a component.
func (c *Cluster) LogPath(component string) string { return logPath(c.Dir, component) }

func logPath(dir, component string) string { return filepath.Join(dir, "logs", component+".log") }

func (c *Cluster) statePath() string { return filepath.Join(c.Dir, "cluster.json") }

func (c *Cluster) save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.statePath() + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.statePath())
}

// Load reads the recorded state of cluster name. It does not check that the
// cluster is running; see Processes.
func Load(name string) (*Cluster, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	dir := StateDir(name)
	data, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q: nothing at %s; start it with `sparkplane dev up --name %s`", ErrNotFound, name, dir, name)
	}
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "cluster.json"), err)
	}
	return c, nil
}

// Processes returns the cluster's live processes, found by scanning /proc.
func (c *Cluster) Processes() ([]Process, error) { return FindProcesses("/proc", c.Dir) }

// Down stops every process of cluster name, waits until none is left and
// none of its ports listens, and removes its state folder unless keep. It
// stops strays too: processes found in /proc with the folder on their command
// line, whatever the recorded ids say. It returns ErrNotFound (wrapped) when
// there is neither state nor a process.
func Down(name string, keep bool) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	dir := StateDir(name)
	unlock, err := lockName(name)
	if err != nil {
		return err
	}
	defer unlock()
	return down(dir, name, keep)
}

func down(dir, name string, keep bool) error {
	procs, err := FindProcesses("/proc", dir)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(dir)
	if len(procs) == 0 && errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("%w %q: no process and no state at %s", ErrNotFound, name, dir)
	}
	// With the state kept, components get time to shut down cleanly; when it
	// is removed anyway, a short grace before SIGKILL keeps `dev down` quick.
	grace := 2 * time.Second
	if keep {
		grace = 15 * time.Second
	}
	if err := stopProcesses("/proc", dir, grace); err != nil {
		return fmt.Errorf("stopping cluster %q: %w", name, err)
	}
	if c, err := Load(name); err == nil {
		if err := waitPortsClosed(c.Ports.List(), 5*time.Second); err != nil {
			return fmt.Errorf("stopping cluster %q: %w", name, err)
		}
	}
	if keep {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the state of cluster %q: %w", name, err)
	}
	return nil
}

// waitPortsClosed waits until none of ports is in LISTEN state.
func waitPortsClosed(ports []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		listening, err := ListeningPorts("/proc")
		if err != nil {
			return err
		}
		var open []int
		for _, p := range ports {
			if listening[p] {
				open = append(open, p)
			}
		}
		if len(open) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ports %v still listen after every process stopped", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockName takes an exclusive lock on cluster name for the duration of an Up
// or Down, so two of them never race on one folder.
func lockName(name string) (func(), error) {
	locks := filepath.Join(filepath.Dir(StateDir(name)), ".locks")
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(locks, name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cluster %q is being started or stopped by another command; wait for it to finish", name)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// tailFile returns up to n last lines of a file.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return lastLines(string(data), n)
}

func lastLines(text string, n int) string {
	end := len(text)
	for end > 0 && text[end-1] == '\n' {
		end--
	}
	start := end
	for lines := 0; start > 0; start-- {
		if text[start-1] == '\n' {
			lines++
			if lines == n {
				break
			}
		}
	}
	return text[start:end]
}

// Tail writes the last n lines (all when n <= 0) of a component's log to w.
func (c *Cluster) Tail(w io.Writer, component string, n int) error {
	path := c.LogPath(component)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("component %q of cluster %q has no log at %s; components: %v", component, c.Name, path, c.componentNames())
	}
	if err != nil {
		return err
	}
	text := string(data)
	if n > 0 {
		text = lastLines(text, n) + "\n"
	}
	_, err = io.WriteString(w, text)
	return err
}

func (c *Cluster) componentNames() []string {
	var names []string
	for _, comp := range c.Components {
		names = append(names, comp.Name)
	}
	return names
}

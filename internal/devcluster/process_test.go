package devcluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCertificates(t *testing.T) {
	now := time.Now()
	ca, err := newCA("test", now)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.servingCert("kube-apiserver", []string{"localhost", "kubernetes.default.svc"}, []net.IP{net.ParseIP("127.0.0.1")}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("certificate and key do not match: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.certPEM) {
		t.Fatal("CA PEM does not parse")
	}
	for _, host := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots}); err == nil {
		t.Error("serving certificate verifies for a name it was not issued for")
	}
	other, err := newCA("other", now)
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AppendCertsFromPEM(other.certPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: otherRoots}); err == nil {
		t.Error("serving certificate verifies against another cluster's CA")
	}

	// A TLS handshake with the pair, as a client of the API server does.
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err == nil {
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	conn.Close()
}

func TestServiceAccountKey(t *testing.T) {
	privPEM, pubPEM, err := newServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	privBlock, _ := pem.Decode(privPEM)
	pubBlock, _ := pem.Decode(pubPEM)
	if privBlock == nil || pubBlock == nil {
		t.Fatal("keys are not PEM")
	}
	priv, err := x509.ParsePKCS1PrivateKey(privBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Error("public key does not belong to the private key")
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d returned twice in %v", p, ports)
		}
		seen[p] = true
		if err := checkPortFree(p); err != nil {
			t.Errorf("port %d is not free: %v", p, err)
		}
	}
}

func TestCheckPortFreeAndListeningPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	err = checkPortFree(port)
	if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), fmt.Sprint(port)) {
		t.Errorf("checkPortFree(taken %d) = %v, want ErrPortTaken naming the port", port, err)
	}
	listening, err := ListeningPorts("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if !listening[port] {
		t.Errorf("ListeningPorts misses %d", port)
	}
	l.Close()
	listening, err = ListeningPorts("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if listening[port] {
		t.Errorf("ListeningPorts still shows closed port %d", port)
	}
}

func TestListeningPortsParsesProcNetTCP(t *testing.T) {
	root := t.TempDir()
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
`
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`
	writeFile(t, filepath.Join(root, "net", "tcp"), tcp)
	writeFile(t, filepath.Join(root, "net", "tcp6"), tcp6)
	got, err := ListeningPorts(root)
	if err != nil {
		t.Fatal(err)
	}
	// 0x1F90 = 8080 and 0x1F91 = 8081 listen; 0x9C40 is an established connection.
	if diff := cmp.Diff(map[int]bool{8080: true, 8081: true}, got); diff != "" {
		t.Error(diff)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindProcessesInFakeProc(t *testing.T) {
	root := t.TempDir()
	dir := "/cache/dev/a"
	procs := map[string]struct{ cmdline, state string }{
		"10":   {"/bin/etcd\x00--data-dir=/cache/dev/a/etcd\x00", "S"},
		"11":   {"/bin/kube-apiserver\x00--cert-dir\x00/cache/dev/a/pki\x00", "R"},
		"12":   {"/bin/etcd\x00--data-dir=/cache/dev/ab/etcd\x00", "S"},        // another cluster
		"13":   {"/bin/tail\x00-f\x00/cache/dev/a/logs/etcd.log\x00", "S"},     // not a cluster binary
		"14":   {"/bin/kwok\x00--kubeconfig=/cache/dev/a/kubeconfig\x00", "Z"}, // zombie
		"15":   {"/bin/kube-scheduler\x00--kubeconfig=/other/dev/a/x\x00", "S"},
		"16":   {"/bin/kwok\x00--kubeconfig=/cache/dev/a\x00", "S"},
		"17":   {"/w/bin/sparkplane\x00dev\x00volume-provisioner\x00--kubeconfig=/cache/dev/a/kubeconfigs/volume-provisioner.kubeconfig\x00", "S"},
		"18":   {"/w/bin/sparkplane\x00operator\x00--kubeconfig=/cache/dev/a/kubeconfig\x00", "S"}, // a user's process, not a component
		"self": {"", ""},
	}
	for pid, p := range procs {
		writeFile(t, filepath.Join(root, pid, "cmdline"), p.cmdline)
		writeFile(t, filepath.Join(root, pid, "stat"), pid+" (some (odd) name) "+p.state+" 1 1 1")
	}
	got, err := FindProcesses(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range got {
		pids = append(pids, p.PID)
	}
	if diff := cmp.Diff([]int{10, 11, 16, 17}, pids); diff != "" {
		t.Errorf("pids (-want +got):\n%s", diff)
	}
}

func TestMentionsDir(t *testing.T) {
	dir := "/c/dev/x"
	cases := map[string]struct {
		args []string
		want bool
	}{
		"flag value":       {[]string{"--data-dir=/c/dev/x/etcd"}, true},
		"separate value":   {[]string{"--cert-dir", "/c/dev/x/pki"}, true},
		"the dir itself":   {[]string{"/c/dev/x"}, true},
		"list value":       {[]string{"--files=/a,/c/dev/x/b"}, true},
		"prefix name":      {[]string{"--data-dir=/c/dev/xy/etcd"}, false},
		"parent":           {[]string{"--data-dir=/c/dev"}, false},
		"inside, not path": {[]string{"--name=/d/c/dev/x/"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := mentionsDir(tc.args, dir); got != tc.want {
				t.Errorf("mentionsDir(%q) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}

// TestHelperProcess is not a test: TestStopProcessesRealProcess runs this
// test binary under the name etcd as a stand-in cluster process.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("DEVCLUSTER_HELPER_PROCESS") != "1" {
		return
	}
	time.Sleep(time.Hour)
	os.Exit(0)
}

// TestStopProcessesRealProcess starts a real process that looks like a
// cluster's etcd (this test binary behind a link named etcd, the state folder
// on its command line, in its own session, ignoring nothing) and checks that
// FindProcesses finds it and stopProcesses ends it.
func TestStopProcessesRealProcess(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	etcd := filepath.Join(t.TempDir(), "etcd")
	if err := os.Symlink(self, etcd); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(t.TempDir(), "dev", "proc-test")
	cmd := exec.Command(etcd, "-test.run=^TestHelperProcess$", "--", "--data-dir="+stateDir+"/etcd")
	cmd.Env = append(os.Environ(), "DEVCLUSTER_HELPER_PROCESS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var found []Process
	deadline := time.Now().Add(5 * time.Second)
	for len(found) == 0 && time.Now().Before(deadline) {
		found, err = FindProcesses("/proc", stateDir)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(found) != 1 || found[0].PID != cmd.Process.Pid || found[0].Binary != "etcd" {
		t.Fatalf("FindProcesses = %+v, want etcd with pid %d", found, cmd.Process.Pid)
	}
	if other, _ := FindProcesses("/proc", stateDir+"x"); len(other) != 0 {
		t.Errorf("another cluster's folder finds %+v", other)
	}
	if err := stopProcesses("/proc", stateDir, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("process still running after stopProcesses")
	}
	if left, _ := FindProcesses("/proc", stateDir); len(left) != 0 {
		t.Errorf("processes left: %+v", left)
	}
}

func TestLastLines(t *testing.T) {
	cases := []struct {
		text string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n\n\n", 1, "c"},
		{"a\n", 5, "a"},
		{"", 3, ""},
	}
	for _, tc := range cases {
		if got := lastLines(tc.text, tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, good := range []string{"a", "dev", "e2e-123", "x1"} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a_b", "a/b", "..", strings.Repeat("a", 41)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted a bad name", bad)
		}
	}
}

func TestOptionsComplete(t *testing.T) {
	cases := map[string]struct {
		opts Options
		want string
	}{
		"bad name":    {Options{Name: "Bad"}, `name "Bad" is not valid`},
		"zones":       {Options{Zones: 9}, "zones: 9 is out of range"},
		"port":        {Options{APIServerPort: 70000}, "api server port: 70000"},
		"cpu limit":   {Options{ArmSpotCPULimit: -1}, "arm64-spot CPU limit"},
		"nodes":       {Options{NodesPerTier: -2}, "nodes per tier"},
		"defaults ok": {Options{}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.opts.complete()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.opts.Name != DefaultName || tc.opts.Zones != 2 {
					t.Errorf("defaults not applied: %+v", tc.opts)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseListening(f *testing.F) {
	f.Add("  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n")
	f.Add("header\n0: 00000000000000000000000000000000:FFFF 0:0 0A\n")
	f.Add("header\n0: nonsense 0:0 0A\n1: 0100007F: x 0A\n")
	f.Fuzz(func(t *testing.T, text string) {
		ports := map[int]bool{}
		if err := parseListening(strings.NewReader(text), ports); err != nil {
			return
		}
		for port := range ports {
			if port < 0 || port > 65535 {
				t.Errorf("port %d out of range", port)
			}
		}
	})
}

func FuzzMentionsDir(f *testing.F) {
	f.Add("--data-dir=/c/dev/x/etcd", "/c/dev/x")
	f.Add("/c/dev/xy", "/c/dev/x")
	f.Fuzz(func(t *testing.T, arg, dir string) {
		if dir == "" {
			return
		}
		// A match always names dir or a path inside it.
		if mentionsDir([]string{arg}, dir) && !strings.Contains(arg, dir) {
			t.Errorf("mentionsDir(%q, %q) matched without the dir in the argument", arg, dir)
		}
	})
}

func TestComponentError(t *testing.T) {
	log := filepath.Join(t.TempDir(), "kube-apiserver.log")
	var lines []string
	for i := 0; i < 30; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	lines = append(lines, "E1125 failed to listen on 127.0.0.1:6443: listen tcp 127.0.0.1:6443: bind: address already in use")
	writeFile(t, log, strings.Join(lines, "\n")+"\n")
	err := componentError("kube-apiserver", "exited (exit status 1) while waiting for kube-apiserver to be ready", log)
	if !errors.Is(err, ErrPortTaken) {
		t.Errorf("error does not wrap ErrPortTaken: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"kube-apiserver exited (exit status 1)", log, "    line 29", "address already in use"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 15\n") {
		t.Errorf("error shows more than the last 15 lines:\n%s", msg)
	}

	writeFile(t, log, "panic: something else\n")
	if err := componentError("etcd", "exited", log); errors.Is(err, ErrPortTaken) {
		t.Errorf("unrelated failure reported as a taken port: %v", err)
	}
}

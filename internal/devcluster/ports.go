package devcluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrPortTaken is returned (wrapped) when a port the cluster needs is in use.
var ErrPortTaken = errors.New("port is taken")

// freePorts asks the kernel for n distinct free loopback ports. The ports
// are released before they are returned, so a process started later can bind
// them; another program could take one in between, which the caller detects
// from the component's log.
func freePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// checkPortFree returns ErrPortTaken when something listens on port, on
// loopback or on every interface.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %d is already in use by another program", ErrPortTaken, port)
		}
		return fmt.Errorf("checking port %d: %w", port, err)
	}
	return l.Close()
}

// ListeningPorts returns the TCP ports in LISTEN state on this machine (IPv4
// and IPv6), read from procRoot/net/tcp and tcp6; procRoot is normally /proc.
func ListeningPorts(procRoot string) (map[int]bool, error) {
	ports := map[int]bool{}
	for _, file := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(procRoot, "net", file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = parseListening(f, ports)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
		}
	}
	return ports, nil
}

// tcpListen is the socket state LISTEN in /proc/net/tcp.
const tcpListen = "0A"

func parseListening(r io.Reader, ports map[int]bool) error {
	scanner := bufio.NewScanner(r)
	first := true
	for scanner.Scan() {
		if first { // header
			first = false
			continue
		}
		fields := strings.Fields(scanner.Text())
		if len(fields) < 4 || fields[3] != tcpListen {
			continue
		}
		local := fields[1]
		i := strings.LastIndexByte(local, ':')
		if i < 0 {
			return fmt.Errorf("malformed local address %q", local)
		}
		port, err := strconv.ParseUint(local[i+1:], 16, 16)
		if err != nil {
			return fmt.Errorf("malformed port in %q: %w", local, err)
		}
		ports[int(port)] = true
	}
	return scanner.Err()
}

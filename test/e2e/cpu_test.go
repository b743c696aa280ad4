//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times
// (100 on every architecture Go supports on Linux).
const clockTicks = 100

// cpuMeter reads the CPU time (user + system) the local cluster's processes,
// the operator and the benchmark itself have used, so a phase's cost can be
// told per component: on a 2-core machine the components share the cores,
// and what one spends the API server cannot.
type cpuMeter struct {
	pids map[string]int
}

func newCPUMeter(c *framework.Cluster) *cpuMeter {
	m := &cpuMeter{pids: map[string]int{"benchmark client": os.Getpid()}}
	for _, comp := range c.Components {
		m.pids[comp.Name] = comp.PID
	}
	return m
}

func (m *cpuMeter) set(name string, pid int) { m.pids[name] = pid }

// unset stops reading a process (it exited; its pid may be reused).
func (m *cpuMeter) unset(name string) { delete(m.pids, name) }

// cpuSample is, per process, the CPU time it used and the time its threads
// waited, runnable, for a CPU.
type cpuSample map[string]cpuUse

type cpuUse struct {
	cpu, wait time.Duration
}

// add is s plus what each process used from before to after, as a new
// sample: the use of phases measured apart, counted as one.
func (s cpuSample) add(before, after cpuSample) cpuSample {
	sum := cpuSample{}
	for name, u := range s {
		sum[name] = u
	}
	for name, a := range after {
		u := sum[name]
		u.cpu += a.cpu - before[name].cpu
		u.wait += a.wait - before[name].wait
		sum[name] = u
	}
	return sum
}

func (m *cpuMeter) read() cpuSample {
	s := cpuSample{}
	for name, pid := range m.pids {
		if d, err := processCPU(pid); err == nil {
			s[name] = cpuUse{cpu: d, wait: runQueueWait(pid)}
		}
	}
	return s
}

// runQueueWait is the time the threads of pid spent runnable but waiting
// for a CPU (the second field of /proc/<pid>/task/<tid>/schedstat, summed
// over the threads alive now): on a shared machine it tells a process that
// was slow because others held the cores from one that had nothing to do.
// 0 where the kernel keeps no schedstats.
func runQueueWait(pid int) time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) >= 2 {
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				total += time.Duration(ns)
			}
		}
	}
	return total
}

// processCPU is utime + stime of pid.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis are fixed: utime and stime are the 12th and 13th.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, fields[11], fields[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// cpuPerApp formats the CPU each process used between two samples, per
// application, largest first; and on a second line the time the processes
// waited for a CPU while runnable (a phase whose processes waited about as
// long as they ran was bound by the cores the rest of the machine left it).
func cpuPerApp(before, after cpuSample, apps int) string {
	line := func(what string, of func(cpuUse) time.Duration) string {
		type use struct {
			name string
			d    time.Duration
		}
		var uses []use
		var total time.Duration
		for name, a := range after {
			d := of(a) - of(before[name])
			if d <= 0 {
				continue
			}
			uses = append(uses, use{name, d})
			total += d
		}
		sort.Slice(uses, func(i, j int) bool { return uses[i].d > uses[j].d })
		per := func(d time.Duration) string {
			return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000/float64(apps))
		}
		var parts []string
		for _, u := range uses {
			parts = append(parts, u.name+" "+per(u.d))
		}
		return fmt.Sprintf("%s ms per application: total %s (%s)", what, per(total), strings.Join(parts, ", "))
	}
	return line("CPU", func(u cpuUse) time.Duration { return u.cpu }) + "\n      " +
		line("waited for a CPU (runnable)", func(u cpuUse) time.Duration { return u.wait })
}

// settle waits until the measured processes together use less than a fifth
// of a core over a second (the previous phase's work is done: controllers'
// queues drained, garbage collected), at most a minute, and returns how long
// it waited. A phase that starts on a busy machine measures the last one.
func (m *cpuMeter) settle() time.Duration {
	start := time.Now()
	for time.Since(start) < time.Minute {
		before := m.read()
		time.Sleep(time.Second)
		after := m.read()
		var used time.Duration
		for name, a := range after {
			used += a.cpu - before[name].cpu
		}
		if used < 200*time.Millisecond {
			break
		}
	}
	return time.Since(start)
}

// loadAverage is the machine's 1, 5 and 15 minute load averages: the
// figures of a benchmark on a shared machine mean little without them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

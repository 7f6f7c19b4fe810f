package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 for user space on every architecture.
const clockTicks = 100

// CPU is the processor time a process used during a run. Throughput on a
// shared machine moves with its other load; the CPU a server spends per
// event does much less, so it is the figure to compare builds by.
type CPU struct {
	PID     int     `json:"pid"`
	Seconds float64 `json:"seconds"` // user + system time used during the run
	// Cores is Seconds over the run's wall time: how many cores it kept busy.
	Cores float64 `json:"cores"`
	// MicrosPerEvent is Seconds per accepted event, in microseconds.
	MicrosPerEvent float64 `json:"us_per_event"`
}

// readCPUTime returns the user + system time pid has used so far.
func readCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so fields are counted after the
// last ')'.
func parseStat(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("malformed stat: no command name")
	}
	f := bytes.Fields(b[end+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat: %d fields after the command name", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("malformed stat: CPU time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures a process's CPU time from its start.
type cpuMeter struct {
	pid   int
	start time.Duration
}

// startCPU starts measuring pid's CPU time.
func startCPU(pid int) (*cpuMeter, error) {
	t, err := readCPUTime(pid)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu of pid %d: %w", pid, err)
	}
	return &cpuMeter{pid: pid, start: t}, nil
}

// stop returns the CPU used since start over elapsed wall time, or nil
// when there is no meter or the process is gone.
func (m *cpuMeter) stop(elapsed time.Duration) *CPU {
	if m == nil {
		return nil
	}
	t, err := readCPUTime(m.pid)
	if err != nil {
		return nil
	}
	c := &CPU{PID: m.pid, Seconds: (t - m.start).Seconds()}
	if elapsed > 0 {
		c.Cores = c.Seconds / elapsed.Seconds()
	}
	return c
}

// perEvent sets MicrosPerEvent for events accepted.
func (c *CPU) perEvent(events int64) {
	if c != nil && events > 0 {
		c.MicrosPerEvent = c.Seconds / float64(events) * 1e6
	}
}

// line renders the measurement as a sentence about who ("Server").
func (c *CPU) line(who string) string {
	return fmt.Sprintf("%s CPU (pid %d): %.1f s, %.2f cores, %.0f µs per accepted event.\n",
		who, c.PID, c.Seconds, c.Cores, c.MicrosPerEvent)
}

// CPUSince measures a process's CPU time over a span RunIngest does not
// cover, such as until the graph has caught up after the last reply. Its
// zero value measures nothing.
type CPUSince struct{ m *cpuMeter }

// MeasureCPU starts measuring pid; a pid of 0 or less, or one that cannot
// be read, gives the zero CPUSince.
func MeasureCPU(pid int) CPUSince {
	if pid <= 0 {
		return CPUSince{}
	}
	m, err := startCPU(pid)
	if err != nil {
		return CPUSince{}
	}
	return CPUSince{m}
}

// MicrosPerEvent is the CPU used since MeasureCPU, in microseconds per one
// of events, or 0 when nothing was measured.
func (c CPUSince) MicrosPerEvent(events int64) float64 {
	cpu := c.m.stop(0)
	if cpu == nil {
		return 0
	}
	cpu.perEvent(events)
	return cpu.MicrosPerEvent
}

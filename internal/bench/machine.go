package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a benchmark ran. Throughput on the same build
// differs by a factor of two between machines sold as the same size (two
// cores of one CPU model against two of another), so a figure means little
// without it.
type Machine struct {
	CPU        string `json:"cpu"`                    // the first "model name" of /proc/cpuinfo; empty when unknown
	CPUs       int    `json:"cpus"`                   // logical CPUs this process may use
	MemTotalKB int64  `json:"mem_total_kb,omitempty"` // MemTotal of /proc/meminfo
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Go         string `json:"go"` // the Go release the bench client was built with
}

// ReadMachine describes the machine this process runs on. What cannot be
// read (no /proc outside Linux) is left empty rather than failing a run.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = parseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotalKB, _ = parseMemTotal(b)
	}
	return m
}

// parseCPUModel returns the value of the first "model name" line of
// /proc/cpuinfo text (x86; "Model" on some ARM kernels), or "".
func parseCPUModel(b []byte) string {
	for line := range bytes.Lines(b) {
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.TrimSpace(key)) {
		case "model name", "Model":
			return strings.Join(strings.Fields(string(value)), " ")
		}
	}
	return ""
}

// parseMemTotal extracts MemTotal (kB) from /proc/meminfo text.
func parseMemTotal(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("MemTotal:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && string(f[1]) != "kB") {
			return 0, fmt.Errorf("malformed %q", bytes.TrimSpace(line))
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("malformed %q", bytes.TrimSpace(line))
		}
		return n, nil
	}
	return 0, fmt.Errorf("no MemTotal line")
}

// String is the machine in one line, as the reports print it:
// "AMD EPYC, 2 CPUs, 23.5 GiB, linux/amd64, go1.26.8".
func (m Machine) String() string {
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	parts := []string{cpu, fmt.Sprintf("%d CPUs", m.CPUs)}
	if m.CPUs == 1 {
		parts[1] = "1 CPU"
	}
	if m.MemTotalKB > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GiB", float64(m.MemTotalKB)/(1<<20)))
	}
	return strings.Join(append(parts, m.OS+"/"+m.Arch, m.Go), ", ")
}

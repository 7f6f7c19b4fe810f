package bench

import (
	"runtime"
	"strings"
	"testing"
)

// cpuinfoZen3 is shaped like /proc/cpuinfo of a two-vCPU KVM guest: the
// model appears once per processor, and other keys contain "model" too.
const cpuinfoZen3 = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC   7B13
stepping	: 1

processor	: 1
vendor_id	: AuthenticAMD
model		: 1
model name	: AMD EPYC   7B13
`

func TestParseCPUModel(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"x86, spaces squeezed", cpuinfoZen3, "AMD EPYC 7B13"},
		{"arm Model line", "processor\t: 0\nBogoMIPS\t: 108.00\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"no model line", "processor\t: 0\ncpu family\t: 6\nmodel\t\t: 85\n", ""},
		{"empty", "", ""},
	} {
		if got := parseCPUModel([]byte(c.in)); got != c.want {
			t.Errorf("%s: parseCPUModel = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseMemTotal(t *testing.T) {
	got, err := parseMemTotal([]byte("MemTotal:       24683112 kB\nMemFree:        23645396 kB\n"))
	if err != nil || got != 24683112 {
		t.Fatalf("parseMemTotal = %d, %v; want 24683112", got, err)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: lots kB\n", "MemTotal: 12 MB\n", "MemTotal:\n", "MemTotal: -4 kB\n"} {
		if n, err := parseMemTotal([]byte(bad)); err == nil {
			t.Errorf("parseMemTotal(%q) = %d, want an error", bad, n)
		}
	}
}

func TestMachineString(t *testing.T) {
	m := Machine{CPU: "AMD EPYC", CPUs: 2, MemTotalKB: 24683112, OS: "linux", Arch: "amd64", Go: "go1.26.8"}
	if got, want := m.String(), "AMD EPYC, 2 CPUs, 23.5 GiB, linux/amd64, go1.26.8"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	bare := Machine{CPUs: 1, OS: "darwin", Arch: "arm64", Go: "go1.26.8"}
	if got, want := bare.String(), "unknown CPU, 1 CPU, darwin/arm64, go1.26.8"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestReadMachine(t *testing.T) {
	m := ReadMachine()
	if m.CPUs != runtime.NumCPU() || m.OS != runtime.GOOS || m.Arch != runtime.GOARCH || m.Go != runtime.Version() {
		t.Errorf("ReadMachine = %+v, want this process's runtime facts", m)
	}
	if runtime.GOOS == "linux" {
		if m.MemTotalKB <= 0 {
			t.Errorf("MemTotalKB = %d on Linux, want /proc/meminfo's", m.MemTotalKB)
		}
		if strings.ContainsAny(m.CPU, "\n\t") {
			t.Errorf("CPU = %q, want one line", m.CPU)
		}
	}
}

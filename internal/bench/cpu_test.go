package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// utime 1234 and stime 566 ticks; the command name holds spaces and
	// parentheses, which must not shift the fields.
	line := "4242 (red) thread (x)) S 1 4242 4242 0 -1 4194560 5190 0 0 0 1234 566 0 0 20 0 9 0 123456 812345344 12345 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 18 * time.Second; got != want {
		t.Errorf("parseStat = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "4242 red S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 6 0", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 6 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted a malformed line", bad)
		}
	}
}

// TestCPUMeterCountsThisProcess reads this test's own /proc entry: CPU
// spent between start and stop shows up, and the derived figures follow.
func TestCPUMeterCountsThisProcess(t *testing.T) {
	m, err := startCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's accounting (10 ms ticks) moves; the
	// deadline is only a liveness bound.
	deadline := time.Now().Add(30 * time.Second)
	x := 0
	for {
		for i := range 1_000_000 {
			x += i % 7
		}
		if now, err := readCPUTime(os.Getpid()); err != nil {
			t.Fatal(err)
		} else if now-m.start >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not move (x=%d)", x)
		}
	}
	c := m.stop(2 * time.Second)
	c.perEvent(1000)
	if c.Seconds < 0.05 {
		t.Fatalf("measured %.3f s of CPU, want at least the 0.05 s burnt", c.Seconds)
	}
	if c.Cores != c.Seconds/2 || c.MicrosPerEvent != c.Seconds/1000*1e6 {
		t.Errorf("derived figures %+v do not follow from %.3f s", c, c.Seconds)
	}
	if line := c.line("Graph store"); !strings.HasPrefix(line, "Graph store CPU (pid ") {
		t.Errorf("report line %q does not say whose CPU it is", line)
	}
	if (*cpuMeter)(nil).stop(time.Second) != nil {
		t.Error("a nil meter reported CPU")
	}
	if _, err := startCPU(-1); err == nil {
		t.Error("startCPU(-1) succeeded")
	}
}

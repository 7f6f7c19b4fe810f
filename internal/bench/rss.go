package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// RSS is the resident memory of a process observed during a run.
type RSS struct {
	PID     int   `json:"pid"`
	PeakKB  int64 `json:"peak_kb"`  // largest VmRSS sampled
	FinalKB int64 `json:"final_kb"` // VmRSS at the end of the run
	HWMKB   int64 `json:"hwm_kb"`   // VmHWM at the end: the kernel's peak, which sampling can miss
	Samples int   `json:"samples"`
}

// readStatus reads VmRSS and VmHWM (in kB) of pid from /proc.
func readStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(b)
}

// parseStatus extracts VmRSS and VmHWM from the text of /proc/PID/status
// ("VmRSS:\t  123456 kB").
func parseStatus(b []byte) (rss, hwm int64, err error) {
	foundRSS := false
	for line := range bytes.Lines(b) {
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst, foundRSS = &rss, true
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &hwm
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 2 {
			return 0, 0, fmt.Errorf("malformed %q", bytes.TrimSpace(line))
		}
		n, perr := strconv.ParseInt(string(f[1]), 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("malformed %q: %w", bytes.TrimSpace(line), perr)
		}
		if len(f) > 2 && string(f[2]) != "kB" {
			return 0, 0, fmt.Errorf("unexpected unit in %q", bytes.TrimSpace(line))
		}
		*dst = n
	}
	if !foundRSS {
		return 0, 0, fmt.Errorf("no VmRSS line (kernel thread?)")
	}
	return rss, hwm, nil
}

// rssSampler samples a process's VmRSS until stopped.
type rssSampler struct {
	stopCh chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	r      RSS
}

// startRSS starts sampling pid every interval. It fails when the process
// cannot be read at all.
func startRSS(pid int, interval time.Duration) (*rssSampler, error) {
	rss, _, err := readStatus(pid)
	if err != nil {
		return nil, fmt.Errorf("bench: rss of pid %d: %w", pid, err)
	}
	s := &rssSampler{stopCh: make(chan struct{}), done: make(chan struct{})}
	s.r = RSS{PID: pid, PeakKB: rss, FinalKB: rss, Samples: 1}
	go s.loop(interval)
	return s, nil
}

func (s *rssSampler) loop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopCh:
			return
		case <-t.C:
			if !s.sample() {
				return // the process is gone; keep what we saw
			}
		}
	}
}

func (s *rssSampler) sample() bool {
	rss, hwm, err := readStatus(s.r.PID)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Samples++
	s.r.PeakKB = max(s.r.PeakKB, rss)
	s.r.FinalKB, s.r.HWMKB = rss, hwm
	return true
}

// stop takes a last sample and returns the observations. It is safe on a
// nil sampler, which returns nil.
func (s *rssSampler) stop() *RSS {
	if s == nil {
		return nil
	}
	close(s.stopCh)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.r
	return &r
}

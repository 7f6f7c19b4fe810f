package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// spinUntilClosed keeps a processor busy until stop is closed. It is
// started with a go statement of its own, so that it is the goroutine's
// start function.
func spinUntilClosed(stop <-chan struct{}, sink *int, wg *sync.WaitGroup) {
	defer wg.Done()
	n := 0
	for {
		select {
		case <-stop:
			*sink = n
			return
		default:
			n++
		}
	}
}

// TestSummaryOfARealTrace traces this process while one goroutine spins
// and another sleeps, and checks the summary accounts for both and adds up.
func TestSummaryOfARealTrace(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var spun int
	wg.Add(1)
	go spinUntilClosed(stop, &spun, &wg)
	wg.Go(func() { time.Sleep(30 * time.Millisecond) })
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	trace.Stop()

	procs := runtime.GOMAXPROCS(0)
	s := newSummary(procs, "spinUntilClosed")
	if err := s.read(&buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	total := time.Duration(s.last.Sub(s.first))
	if total <= 0 {
		t.Fatalf("trace spans %v", total)
	}
	var sum time.Duration
	for _, d := range s.byRunning {
		sum += d
	}
	// Every stretch between events is counted once, under one number of
	// running goroutines; only the stretch after the last transition is
	// left out.
	if sum > total {
		t.Errorf("time by goroutines running sums to %v, more than the trace's %v", sum, total)
	}
	if unused := s.idleSyscall + s.idleRunnable + s.idle; unused > time.Duration(procs)*total {
		t.Errorf("unused processor time %v exceeds the capacity %v", unused, time.Duration(procs)*total)
	}
	var spinner *goroutine
	for _, g := range s.gs {
		if strings.Contains(g.kind, "spinUntilClosed") {
			spinner = g
		}
	}
	if spinner == nil {
		t.Fatal("no goroutine named after spinUntilClosed")
	}
	if spinner.inState[xtrace.GoRunning] == 0 {
		t.Error("the spinning goroutine never ran")
	}
	var out bytes.Buffer
	s.print(&out, 5)
	for _, want := range []string{"unused processor time", `"spinUntilClosed" ready to run`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

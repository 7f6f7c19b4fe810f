// Command schedtrace summarises a Go execution trace of a Redthread server
// (from /debug/pprof/trace on the --pprof-listen address): how much of the
// processors' time went unused and why, and, for one goroutine (by default
// the store's writer), what it waited for while it was ready to run.
//
// Goroutines are grouped by their start function, as the trace gives it
// (for one started through a wrapper, such as sync.WaitGroup.Go, that is
// the wrapper), or else by the outermost function of the first stack the
// trace shows for them.
//
// It is a measuring tool for docs/performance.md, in its own module so that
// the server does not depend on golang.org/x/exp. Usage:
//
//	curl -s 'http://127.0.0.1:6071/debug/pprof/trace?seconds=3' > run.trace
//	go run ./tools/schedtrace -procs 2 run.trace
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS of the traced process")
	focus := flag.String("focus", "applyPipelined.func1", "goroutine start function (substring) whose waits to break down")
	top := flag.Int("top", 10, "goroutine kinds to list")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: schedtrace [flags] TRACE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedtrace:", err)
		os.Exit(1)
	}
	defer f.Close()
	s := newSummary(*procs, *focus)
	if err := s.read(f); err != nil {
		fmt.Fprintln(os.Stderr, "schedtrace:", err)
		os.Exit(1)
	}
	s.print(os.Stdout, *top)
}

// goroutine is what the summary knows of one goroutine.
type goroutine struct {
	kind     string // its start function, or the root of its first stack
	state    trace.GoState
	since    trace.Time
	inState  map[trace.GoState]time.Duration
	sysStack string // where its current syscall was made
	signals  bool   // os/signal's loop: "in a syscall" without holding a processor
}

// summary accumulates the trace's goroutine states over time.
type summary struct {
	procs int
	focus string

	gs                              map[trace.GoID]*goroutine
	first, last, prev               trace.Time
	running, runnable, inSyscall    int
	byRunning                       []time.Duration // wall time with n goroutines running
	idleRunnable, idleSyscall, idle time.Duration   // unused processor time, by cause
	focusReady                      [][]time.Duration
	focusBlockedBy                  map[string]time.Duration // syscall holding a processor while focus is ready
}

func newSummary(procs int, focus string) *summary {
	s := &summary{procs: procs, focus: focus, gs: map[trace.GoID]*goroutine{}, focusBlockedBy: map[string]time.Duration{}}
	s.byRunning = make([]time.Duration, procs+1)
	s.focusReady = make([][]time.Duration, procs+1)
	for i := range s.focusReady {
		s.focusReady[i] = make([]time.Duration, procs+1)
	}
	return s
}

// read consumes the trace.
func (s *summary) read(r io.Reader) error {
	tr, err := trace.NewReader(r)
	if err != nil {
		return err
	}
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.first == 0 {
			s.first, s.prev = ev.Time(), ev.Time()
		}
		s.last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind == trace.ResourceGoroutine {
			s.transition(ev, st)
		}
	}
}

// transition accounts the time since the last event, then moves one
// goroutine to its new state.
func (s *summary) transition(ev trace.Event, st trace.StateTransition) {
	t := ev.Time()
	s.account(time.Duration(t.Sub(s.prev)))
	s.prev = t

	id := st.Resource.Goroutine()
	from, to := st.Goroutine()
	g := s.gs[id]
	if g == nil {
		g = &goroutine{state: from, since: t, inState: map[trace.GoState]time.Duration{}}
		s.gs[id] = g
	}
	if g.kind == "" {
		// The transition's own stack is the goroutine's; the event's is
		// the goroutine's only when it made the transition itself (when
		// another wakes it, the event's stack is the waker's).
		g.kind = rootFunc(st.Stack)
		if g.kind == "" && ev.Goroutine() == id {
			g.kind = rootFunc(ev.Stack())
		}
		g.signals = g.kind == "os/signal.loop"
	}
	g.inState[g.state] += time.Duration(t.Sub(g.since))
	if !g.signals {
		s.count(g.state, -1)
		s.count(to, +1)
	}
	g.state, g.since = to, t
	if to == trace.GoSyscall {
		g.sysStack = callers(ev.Stack(), 3)
	}
}

func (s *summary) count(st trace.GoState, d int) {
	switch st {
	case trace.GoRunning:
		s.running = max(s.running+d, 0)
	case trace.GoRunnable:
		s.runnable = max(s.runnable+d, 0)
	case trace.GoSyscall:
		s.inSyscall = max(s.inSyscall+d, 0)
	}
}

// account adds dt of the current state to the totals.
func (s *summary) account(dt time.Duration) {
	running := min(s.running, s.procs)
	s.byRunning[running] += dt
	if unused := time.Duration(s.procs-running) * dt; unused > 0 {
		switch {
		case s.inSyscall > 0:
			s.idleSyscall += unused
		case s.runnable > 0:
			s.idleRunnable += unused
		default:
			s.idle += unused
		}
	}
	for _, g := range s.gs {
		if g.state != trace.GoRunnable || !strings.Contains(g.kind, s.focus) {
			continue
		}
		s.focusReady[running][min(s.inSyscall, s.procs)] += dt
		if running < s.procs {
			for _, h := range s.gs {
				if h.state == trace.GoSyscall && !h.signals {
					s.focusBlockedBy[h.sysStack] += dt
				}
			}
		}
	}
}

// print writes the summary.
func (s *summary) print(w io.Writer, top int) {
	total := time.Duration(s.last.Sub(s.first))
	capacity := time.Duration(s.procs) * total
	pct := func(d, of time.Duration) string { return fmt.Sprintf("%.1f%%", 100*float64(d)/float64(of)) }
	fmt.Fprintf(w, "trace of %v on %d processors (%v of processor time)\n", total.Round(time.Millisecond), s.procs, capacity.Round(time.Millisecond))
	for n, d := range s.byRunning {
		fmt.Fprintf(w, "  %d goroutines running: %v (%s of the time)\n", n, d.Round(time.Millisecond), pct(d, total))
	}
	fmt.Fprintf(w, "unused processor time: %v (%s)\n", (s.idleSyscall + s.idleRunnable + s.idle).Round(time.Millisecond), pct(s.idleSyscall+s.idleRunnable+s.idle, capacity))
	fmt.Fprintf(w, "  while a goroutine was in a syscall: %v (%s)\n", s.idleSyscall.Round(time.Millisecond), pct(s.idleSyscall, capacity))
	fmt.Fprintf(w, "  while a goroutine was ready to run: %v (%s)\n", s.idleRunnable.Round(time.Millisecond), pct(s.idleRunnable, capacity))
	fmt.Fprintf(w, "  with nothing to run:                %v (%s)\n", s.idle.Round(time.Millisecond), pct(s.idle, capacity))

	type kind struct {
		name    string
		n       int
		inState map[trace.GoState]time.Duration
	}
	kinds := map[string]*kind{}
	for _, g := range s.gs {
		name := cmp.Or(g.kind, "(no stack seen)")
		k := kinds[name]
		if k == nil {
			k = &kind{name: name, inState: map[trace.GoState]time.Duration{}}
			kinds[name] = k
		}
		k.n++
		for st, d := range g.inState {
			k.inState[st] += d
		}
	}
	list := make([]*kind, 0, len(kinds))
	for _, k := range kinds {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b *kind) int { return cmp.Compare(b.inState[trace.GoRunning], a.inState[trace.GoRunning]) })
	fmt.Fprintln(w, "goroutines by start function: running, ready to run, in syscalls")
	for _, k := range list[:min(top, len(list))] {
		fmt.Fprintf(w, "  %-64s ×%-3d %8v %8v %8v\n", k.name, k.n, k.inState[trace.GoRunning].Round(time.Millisecond),
			k.inState[trace.GoRunnable].Round(time.Millisecond), k.inState[trace.GoSyscall].Round(time.Millisecond))
	}

	fmt.Fprintf(w, "%q ready to run, by goroutines running (rows) and in syscalls (columns):\n", s.focus)
	for n, row := range s.focusReady {
		fmt.Fprintf(w, "  %d running:", n)
		for _, d := range row {
			fmt.Fprintf(w, " %8v", d.Round(time.Millisecond))
		}
		fmt.Fprintln(w)
	}
	type held struct {
		where string
		d     time.Duration
	}
	var helds []held
	for where, d := range s.focusBlockedBy {
		helds = append(helds, held{where, d})
	}
	slices.SortFunc(helds, func(a, b held) int { return cmp.Compare(b.d, a.d) })
	fmt.Fprintf(w, "syscalls in progress while %q was ready and a processor unused:\n", s.focus)
	for _, h := range helds[:min(top, len(helds))] {
		fmt.Fprintf(w, "  %8v %s\n", h.d.Round(time.Millisecond), h.where)
	}
}

// rootFunc is the outermost function of stk that is not the runtime's.
func rootFunc(stk trace.Stack) string {
	root := ""
	for f := range stk.Frames() {
		if !strings.HasPrefix(f.Func, "runtime.") || root == "" {
			root = f.Func
		}
	}
	return root
}

// callers names the first n frames of stk outside the runtime, syscall
// and libc layers: where a syscall was made.
func callers(stk trace.Stack, n int) string {
	var out []string
	for f := range stk.Frames() {
		switch {
		case strings.HasPrefix(f.Func, "runtime."), strings.HasPrefix(f.Func, "syscall."),
			strings.HasPrefix(f.Func, "internal/"), strings.HasPrefix(f.Func, "modernc.org/libc"):
			continue
		}
		out = append(out, f.Func)
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, " < ")
}

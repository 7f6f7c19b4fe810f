package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// A ProjectionSample is one reading of a server's /readyz during a run:
// the log's head and the offset the graph has applied, At after the
// tracking began.
type ProjectionSample struct {
	At      time.Duration
	Head    int64
	Applied int64
}

// A ProjectionTracker reads a server's /readyz at a fixed interval, so
// that a run can report how far the graph trailed the log and at what
// pace it applied while replies were still going out.
type ProjectionTracker struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []ProjectionSample
}

// TrackProjection starts reading base's /readyz every interval until
// Stop. Failed readings are skipped: a server too busy to answer in time
// only leaves a gap.
func TrackProjection(ctx context.Context, client *http.Client, base string, every time.Duration) *ProjectionTracker {
	ctx, stop := context.WithCancel(ctx)
	t := &ProjectionTracker{stop: stop, done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(t.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if s, ok := readProjection(ctx, client, base); ok {
				s.At = time.Since(start)
				t.mu.Lock()
				t.samples = append(t.samples, s)
				t.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

// Stop ends the tracking and returns the samples, oldest first.
func (t *ProjectionTracker) Stop() []ProjectionSample {
	t.stop()
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.samples
}

// readProjection reads the head and applied offset from base's /readyz.
func readProjection(ctx context.Context, client *http.Client, base string) (ProjectionSample, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return ProjectionSample{}, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return ProjectionSample{}, false
	}
	defer resp.Body.Close()
	var rd struct {
		LogHead       *int64 `json:"logHead"`
		AppliedOffset *int64 `json:"appliedOffset"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil || rd.LogHead == nil || rd.AppliedOffset == nil {
		return ProjectionSample{}, false
	}
	return ProjectionSample{Head: *rd.LogHead, Applied: *rd.AppliedOffset}, true
}

// Projection summarises how the graph kept up during an ingest run.
//
// A run's acknowledged rate counts the events still queued for the graph
// at its last reply as done, and its applied-end-to-end rate counts the
// time the graph then takes to catch up alone; on a short run both are
// dominated by how much the pipeline buffers. The steady rates leave out
// the start, when the buffers fill, and the end: they are measured
// between the graph's apply commits in the last two thirds of the time
// replies went out. While the buffers stay full, acknowledgements can
// only go as fast as the graph applies, so the two rates agree there,
// and they are the pace the server can keep up indefinitely.
type Projection struct {
	// PeakLag is the most events the graph trailed the log by.
	PeakLag int64 `json:"peak_lag"`
	// SteadyFrom and SteadyTo bound the steady window, in seconds since
	// the tracking began; zero when fewer than two commits fell in it.
	SteadyFrom float64 `json:"steady_from_s,omitempty"`
	SteadyTo   float64 `json:"steady_to_s,omitempty"`
	// SteadyCommits is how many apply commits the steady rates count:
	// those after the one that opens the window.
	SteadyCommits int `json:"steady_commits,omitempty"`
	// SteadyAppliedPerSec and SteadyAckedPerSec are the events applied to
	// the graph and acknowledged (appended to the log) per second over
	// the window.
	SteadyAppliedPerSec float64 `json:"steady_applied_events_per_s,omitempty"`
	SteadyAckedPerSec   float64 `json:"steady_acked_events_per_s,omitempty"`
}

// SummarizeProjection summarises samples (oldest first) of a run whose
// last reply went out lastReply after the tracking began.
//
// An apply commit shows as a rise of the applied offset between two
// samples; it is placed midway between them, so the window's ends are
// each off by at most half a sampling interval.
func SummarizeProjection(samples []ProjectionSample, lastReply time.Duration) Projection {
	var p Projection
	if len(samples) == 0 {
		return p
	}
	for _, s := range samples {
		p.PeakLag = max(p.PeakLag, s.Head-s.Applied)
	}
	type commit struct {
		at            time.Duration
		head, applied int64
	}
	var commits []commit
	for i := 1; i < len(samples); i++ {
		prev, s := samples[i-1], samples[i]
		at := prev.At + (s.At-prev.At)/2
		if s.Applied > prev.Applied && at >= lastReply/3 && at <= lastReply {
			commits = append(commits, commit{at: at, head: s.Head, applied: s.Applied})
		}
	}
	if len(commits) < 2 {
		return p
	}
	first, last := commits[0], commits[len(commits)-1]
	span := (last.at - first.at).Seconds()
	if span <= 0 {
		return p
	}
	p.SteadyFrom, p.SteadyTo = first.at.Seconds(), last.at.Seconds()
	p.SteadyCommits = len(commits) - 1
	p.SteadyAppliedPerSec = float64(last.applied-first.applied) / span
	p.SteadyAckedPerSec = float64(last.head-first.head) / span
	return p
}

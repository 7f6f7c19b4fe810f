package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// steadyRun is a run sampled every 100 ms for 3.5 s whose log grows by 800
// events a sample (8,000/s) until its last reply at 3 s, and whose graph
// commits 4,000 events every 0.5 s from 0.5 s on (the first commit holds
// 2,000): a commit lands between the samples at 0.5 and 0.6 s, 1.0 and
// 1.1 s, and so on.
func steadyRun() ([]ProjectionSample, time.Duration) {
	var samples []ProjectionSample
	var applied int64
	for i := 0; i <= 35; i++ {
		at := time.Duration(i) * 100 * time.Millisecond
		if i > 5 && (i-1)%5 == 0 { // after 0.5 s, 1.0 s, …
			if applied == 0 {
				applied = 2000
			} else {
				applied += 4000
			}
		}
		head := int64(min(i, 30)) * 800
		samples = append(samples, ProjectionSample{At: at, Head: head, Applied: applied})
	}
	return samples, 3 * time.Second
}

func TestSummarizeProjection(t *testing.T) {
	samples, lastReply := steadyRun()
	p := SummarizeProjection(samples, lastReply)

	var wantLag int64
	for _, s := range samples {
		wantLag = max(wantLag, s.Head-s.Applied)
	}
	if p.PeakLag != wantLag || wantLag == 0 {
		t.Errorf("PeakLag %d, want %d", p.PeakLag, wantLag)
	}
	// Commits placed at 1.05, 1.55, 2.05 and 2.55 s fall in the last two
	// thirds of the 3 s of replies (from 1 s on); the one at 3.05 s comes
	// after the last reply.
	if p.SteadyCommits != 3 || !near(p.SteadyFrom, 1.05) || !near(p.SteadyTo, 2.55) {
		t.Errorf("window %d commits, %.3f–%.3f s; want 3 commits, 1.05–2.55 s", p.SteadyCommits, p.SteadyFrom, p.SteadyTo)
	}
	// 12,000 events applied over 1.5 s; the log grew 8,800 → 20,800 between
	// the samples that showed the window's first and last commits.
	if !near(p.SteadyAppliedPerSec, 8000) || !near(p.SteadyAckedPerSec, 8000) {
		t.Errorf("steady %.1f applied, %.1f acked per s; want 8000 and 8000", p.SteadyAppliedPerSec, p.SteadyAckedPerSec)
	}
}

func TestSummarizeProjectionTooFewCommits(t *testing.T) {
	samples, _ := steadyRun()
	// A last reply at 0.9 s leaves one commit (0.55 s) in its last two
	// thirds, from 0.3 s on.
	p := SummarizeProjection(samples, 900*time.Millisecond)
	if p.PeakLag == 0 {
		t.Error("PeakLag 0; the lag is known however few commits there were")
	}
	if p.SteadyCommits != 0 || p.SteadyAppliedPerSec != 0 || p.SteadyAckedPerSec != 0 || p.SteadyFrom != 0 {
		t.Errorf("steady figures %+v from one commit; want none", p)
	}
	if got := SummarizeProjection(nil, time.Second); got != (Projection{}) {
		t.Errorf("no samples: %+v, want the zero Projection", got)
	}
}

func near(got, want float64) bool { return math.Abs(got-want) < 1e-6*math.Max(1, math.Abs(want)) }

// TestTrackProjection reads a stand-in /readyz whose head moves on with
// every reading; a reading it cannot parse is skipped.
func TestTrackProjection(t *testing.T) {
	var reads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		n := reads.Add(1)
		if n == 2 {
			fmt.Fprint(w, `{"ready":true}`) // no offsets: skipped
			return
		}
		fmt.Fprintf(w, `{"ready":true,"logHead":%d,"appliedOffset":%d,"projectionLag":%d}`, n*10, n*5, n*5)
	}))
	defer srv.Close()

	tr := TrackProjection(context.Background(), srv.Client(), srv.URL, time.Millisecond)
	for reads.Load() < 6 {
		time.Sleep(time.Millisecond)
	}
	samples := tr.Stop()
	if again := tr.Stop(); len(again) != len(samples) {
		t.Errorf("a second Stop returned %d samples, the first %d", len(again), len(samples))
	}
	if len(samples) < 4 {
		t.Fatalf("%d samples after 6 readings, want at least 4: %+v", len(samples), samples)
	}
	for i, s := range samples {
		if s.Head != 2*s.Applied || s.Head%10 != 0 || s.Head == 20 {
			t.Errorf("sample %d %+v: not what /readyz answered", i, s)
		}
		if i > 0 && (s.At < samples[i-1].At || s.Head <= samples[i-1].Head) {
			t.Errorf("sample %d %+v after %+v: out of order", i, s, samples[i-1])
		}
	}
	if p := SummarizeProjection(samples, time.Hour); p.PeakLag != samples[len(samples)-1].Head/2 {
		t.Errorf("PeakLag %d, want the last sample's lag %d", p.PeakLag, samples[len(samples)-1].Head/2)
	}
}

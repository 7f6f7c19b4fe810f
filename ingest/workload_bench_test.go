package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/ingest"
	"github.com/redthread/redthread/internal/workload"
)

// benchNodes is the size of the workload the benchmarks below load: big
// enough that the graph outgrows the caches a little, small enough that
// one iteration takes seconds.
const benchNodes = 20_000

// workloadEvents returns the bodies of the synthetic workload redthread
// bench's batch scenario sends (seed 2), at benchNodes nodes.
func workloadEvents(b *testing.B) [][]byte {
	b.Helper()
	g := workload.New(workload.Config{Seed: 2, Nodes: benchNodes})
	var out [][]byte
	for {
		e, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

// BenchmarkApplyWorkload measures the SQLite store's Apply alone on the
// batches of real (synthetic-workload) OpenLineage events, decoded and
// mapped beforehand, in calls of 1,000 and 2,000 events as the pipeline's
// applier hands them over. One op is the whole workload into a fresh store.
func BenchmarkApplyWorkload(b *testing.B) {
	dec := ingest.OpenLineage(nil)
	bodies := workloadEvents(b)
	batches := make([]graph.Batch, len(bodies))
	muts := 0
	for i, body := range bodies {
		ev, err := dec(body)
		if err != nil {
			b.Fatal(err)
		}
		off := int64(i + 1)
		for j := range ev.Mutations {
			ev.Mutations[j].Node.FirstOffset, ev.Mutations[j].Node.LastOffset = off, off
			ev.Mutations[j].Edge.FirstOffset, ev.Mutations[j].Edge.LastOffset = off, off
		}
		batches[i] = graph.Batch{Offset: off, Mutations: ev.Mutations}
		muts += len(ev.Mutations)
	}
	for _, perCall := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("events=%d", perCall), func(b *testing.B) {
			var elapsed time.Duration
			events := 0
			for b.Loop() {
				b.StopTimer()
				s, err := sqlite.OpenStore(filepath.Join(b.TempDir(), "graph.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for i := 0; i < len(batches); i += perCall {
					if err := s.Apply(b.Context(), batches[i:min(i+perCall, len(batches))]...); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				events += len(batches)
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(muts)/float64(len(batches)), "mutations/event")
		})
	}
}

// BenchmarkPipelineWorkload measures the whole write path but HTTP: 16
// goroutines submit the workload in requests of 100 events to a pipeline
// over the SQLite event log (fsynced) and store, as `redthread bench
// --scenario batch` does over HTTP. It reports events acknowledged per
// second and applied per second (until the graph has caught up).
func BenchmarkPipelineWorkload(b *testing.B) {
	bodies := workloadEvents(b)
	const clients, perRequest = 16, 100
	var ackSecs, appliedSecs float64
	events := 0
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		log, err := sqlite.OpenLog(filepath.Join(dir, "events.db"))
		if err != nil {
			b.Fatal(err)
		}
		store, err := sqlite.OpenStore(filepath.Join(dir, "graph.db"))
		if err != nil {
			b.Fatal(err)
		}
		p := ingest.New(log, store, nil, ingest.Formats{"openlineage": ingest.OpenLineage(nil)}, ingest.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		for !p.Running() {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()

		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		var head atomic.Int64
		for range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(perRequest)) - perRequest
					if i >= len(bodies) {
						return
					}
					inputs := make([]ingest.Input, 0, perRequest)
					for _, body := range bodies[i:min(i+perRequest, len(bodies))] {
						inputs = append(inputs, ingest.Input{Source: "openlineage/http", Body: body})
					}
					for _, r := range p.Submit(ctx, inputs) {
						if r.Err != nil {
							b.Error(r.Err)
							return
						}
						for h := head.Load(); r.Offset > h && !head.CompareAndSwap(h, r.Offset); h = head.Load() {
						}
					}
				}
			})
		}
		wg.Wait()
		ackSecs += time.Since(start).Seconds()
		if err := p.WaitApplied(ctx, head.Load()); err != nil {
			b.Fatal(err)
		}
		appliedSecs += time.Since(start).Seconds()
		events += len(bodies)

		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		store.Close()
		log.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/ackSecs, "acked-events/s")
	b.ReportMetric(float64(events)/appliedSecs, "applied-events/s")
}

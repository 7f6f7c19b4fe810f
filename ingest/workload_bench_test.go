package ingest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/neo4j"
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

// workloadBatches decodes and maps the workload's events into the batches
// the applier would hand a store, with their log offsets stamped.
func workloadBatches(b *testing.B) (batches []graph.Batch, mutations int) {
	b.Helper()
	dec := ingest.OpenLineage(nil)
	bodies := workloadEvents(b)
	batches = make([]graph.Batch, len(bodies))
	for i, body := range bodies {
		ev, err := dec(body)
		if err != nil {
			b.Fatal(err)
		}
		off := int64(i + 1)
		for j := range ev.Mutations {
			ev.Mutations[j].Node.FirstOffset, ev.Mutations[j].Node.LastOffset = off, off
			ev.Mutations[j].Edge.FirstOffset, ev.Mutations[j].Edge.LastOffset = off, off
			if g := ev.Mutations[j].Group; g != nil {
				g.FirstOffset, g.LastOffset = off, off
			}
		}
		batches[i] = graph.Batch{Offset: off, Mutations: ev.Mutations}
		mutations += len(graph.Expand(ev.Mutations))
	}
	return batches, mutations
}

// BenchmarkApplyWorkloadNeo4j is BenchmarkApplyWorkload on the Neo4j named
// by REDTHREAD_NEO4J_URI (skipped without one), in calls of 2,000 events.
// Like graph/neo4j's tests, it EMPTIES that database first.
func BenchmarkApplyWorkloadNeo4j(b *testing.B) {
	uri := os.Getenv("REDTHREAD_NEO4J_URI")
	if uri == "" {
		b.Skip("REDTHREAD_NEO4J_URI is not set")
	}
	batches, muts := workloadBatches(b)
	benchApply(b, batches, muts, 2000, func() (ingest.Store, func(), error) {
		wipeNeo4j(b, uri)
		s, err := neo4j.Open(b.Context(), neo4j.Config{URI: uri})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	})
}

// benchApply applies the whole workload in calls of perCall batches to a
// fresh store from open (untimed) per op, and reports events/s.
func benchApply(b *testing.B, batches []graph.Batch, muts, perCall int, open func() (ingest.Store, func(), error)) {
	var elapsed time.Duration
	events := 0
	for b.Loop() {
		b.StopTimer()
		s, closeStore, err := open()
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
		closeStore()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(muts)/float64(len(batches)), "mutations/event")
}

// wipeNeo4j deletes every node and relationship of the database at uri.
func wipeNeo4j(b *testing.B, uri string) {
	ctx := b.Context()
	d, err := neo4jdriver.NewDriverWithContext(uri, neo4jdriver.NoAuth())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(ctx)
	sess := d.NewSession(ctx, neo4jdriver.SessionConfig{})
	defer sess.Close(ctx)
	res, err := sess.Run(ctx, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkApplyWorkload measures the SQLite store's Apply alone on the
// batches of real (synthetic-workload) OpenLineage events, decoded and
// mapped beforehand, in calls of 1,000 and 2,000 events as the pipeline's
// applier hands them over. One op is the whole workload into a fresh store.
func BenchmarkApplyWorkload(b *testing.B) {
	batches, muts := workloadBatches(b)
	for _, perCall := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("events=%d", perCall), func(b *testing.B) {
			benchApply(b, batches, muts, perCall, func() (ingest.Store, func(), error) {
				s, err := sqlite.OpenStore(filepath.Join(b.TempDir(), "graph.db"))
				if err != nil {
					return nil, nil, err
				}
				return s, func() { s.Close() }, nil
			})
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
		<-p.Started()
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

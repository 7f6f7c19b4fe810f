package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/storetest"
)

// BenchmarkLogAppend measures durable appends (one fsync per call) of
// batches of 1, 16 and 256 records of 4.5 KB, the median size of the
// benchmark workload's events, as JSON compresses (eventBody).
func BenchmarkLogAppend(b *testing.B) {
	tail := eventBody(4500)[1:]
	for _, size := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			l := openLog(b, filepath.Join(b.TempDir(), "log.db"))
			recs := make([]graph.Record, size)
			n := 0
			start := time.Now()
			for b.Loop() {
				for i := range recs {
					n++ // distinct bodies: no duplicates
					recs[i] = graph.Record{Source: "openlineage/http", Kind: "RunEvent", Body: fmt.Appendf(nil, `{"seq":%d,%s`, n, tail)}
				}
				if _, err := l.Append(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
			b.SetBytes(int64(size * (len(tail) + 10)))
		})
	}
}

// BenchmarkApply measures Apply of event-shaped batches (23 mutations
// each, storetest.EventBatch) one event per call, 100 per call and 1,000
// per call (the service's applier hands over groups of up to ~4,000), as
// the pipeline's group commit hands them over, onto a store that already
// holds 2,000 events.
func BenchmarkApply(b *testing.B) {
	for _, perCall := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("events=%d", perCall), func(b *testing.B) {
			s := openStore(b, filepath.Join(b.TempDir(), "graph.db"))
			const warm = 2000
			for i := 0; i < warm; i += 100 {
				batches := make([]graph.Batch, 100)
				for j := range batches {
					batches[j] = storetest.EventBatch(i + j)
				}
				if err := s.Apply(b.Context(), batches...); err != nil {
					b.Fatal(err)
				}
			}
			storetest.BenchApply(b, s, warm, perCall)
		})
	}
}

// BenchmarkTraverseDepth5 measures depth-5 traversals on a layered graph
// of 100,000 nodes (20 layers of 5,000, 3 edges out of each node, ~285,000
// edges), from 64 start nodes in turn, downstream from the first layer,
// upstream from the last and both ways from the middle.
func BenchmarkTraverseDepth5(b *testing.B) { benchTraverseLayered(b, 5) }

// BenchmarkTraverseDepth20 is BenchmarkTraverseDepth5 at depth 20: most of
// the graph, up to the default MaxNodes (50,000 nodes).
func BenchmarkTraverseDepth20(b *testing.B) { benchTraverseLayered(b, 20) }

func benchTraverseLayered(b *testing.B, depth int) {
	const layers, width, fanout = 20, 5000, 3
	s := openStore(b, filepath.Join(b.TempDir(), "graph.db"))
	start := time.Now()
	batches := storetest.LayeredGraph(layers, width, fanout, 5000, 1)
	for i := 0; i < len(batches); i += 10 {
		if err := s.Apply(b.Context(), batches[i:min(i+10, len(batches))]...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d nodes in %v", layers*width, time.Since(start).Round(time.Millisecond))
	starts := func(layer int) []string {
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = storetest.LayerKey(layer, i*width/len(keys))
		}
		return keys
	}
	for _, tc := range []struct {
		name  string
		dir   graph.Direction
		layer int
	}{
		{"downstream", graph.Downstream, 0},
		{"upstream", graph.Upstream, layers - 1},
		{"both", graph.Both, layers / 2},
	} {
		b.Run(tc.name, func(b *testing.B) {
			storetest.BenchTraverse(b, s, graph.Traversal{Direction: tc.dir, Depth: depth}, starts(tc.layer))
		})
	}
}

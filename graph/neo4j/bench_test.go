package neo4j_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/storetest"
)

// benchWidth sets the size of BenchmarkTraverse's graph: 20 layers of this
// many nodes (5,000: 100,000 nodes; 50,000: the 1M-node graph of issue 3,
// which wants a larger page cache, NEO4J_PAGECACHE_MB=1024).
var benchWidth = flag.Int("neo4j.width", 5000, "nodes per layer of BenchmarkTraverse's 20-layer graph")

// BenchmarkApply measures Apply of event-shaped batches (23 mutations
// each, storetest.EventBatch) one event per call and 100 per call, as the
// pipeline's group commit hands them over, onto a store that already
// holds 2,000 events: the same workload as the SQLite store's benchmark.
// Run it with -benchtime 20x or more: one call says little.
func BenchmarkApply(b *testing.B) {
	for _, perCall := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", perCall), func(b *testing.B) {
			s := emptyStore(b)
			// 2,000 events, then a few calls of the measured size: Neo4j
			// plans each statement again when the data it planned for has
			// changed this much (an emptied database), which would
			// otherwise land in the first timed calls.
			next := 0
			for _, size := range []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
				100, 100, 100, 100, 100, 100, 100, 100, 100, 100, perCall, perCall, perCall} {
				batches := make([]graph.Batch, size)
				for j := range batches {
					batches[j] = storetest.EventBatch(next)
					next++
				}
				if err := s.Apply(b.Context(), batches...); err != nil {
					b.Fatal(err)
				}
			}
			storetest.BenchApply(b, s, next, perCall)
		})
	}
}

// BenchmarkTraverse measures traversals of depth 5 and 20 on a layered
// graph (storetest.LayeredGraph: 20 layers of -neo4j.width nodes, 3 edges
// out of each node), from 64 start nodes in turn: downstream from the
// first layer, upstream from the last, both ways from the middle. Depth
// 20 reaches most of the graph and is cut at DefaultMaxNodes (50,000):
// seconds each, so give it few iterations (-benchtime 8x).
func BenchmarkTraverse(b *testing.B) {
	const layers, fanout = 20, 3
	width := *benchWidth
	s := emptyStore(b)
	start := time.Now()
	batches := storetest.LayeredGraph(layers, width, fanout, 5000, 1)
	for i := 0; i < len(batches); i += 4 {
		if err := s.Apply(b.Context(), batches[i:min(i+4, len(batches))]...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d nodes and ~%d edges in %v", layers*width, (layers-1)*width*fanout, time.Since(start).Round(time.Millisecond))
	starts := func(layer int) []string {
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = storetest.LayerKey(layer, i*width/len(keys))
		}
		return keys
	}
	for _, depth := range []int{5, 20} {
		for _, tc := range []struct {
			name  string
			dir   graph.Direction
			layer int
		}{
			{"downstream", graph.Downstream, 0},
			{"upstream", graph.Upstream, layers - 1},
			{"both", graph.Both, layers / 2},
		} {
			b.Run(fmt.Sprintf("depth=%d/%s", depth, tc.name), func(b *testing.B) {
				q := graph.Traversal{Direction: tc.dir, Depth: 1, Start: []string{storetest.LayerKey(tc.layer, width-1)}}
				if _, err := s.Traverse(b.Context(), q); err != nil { // plan the step query before timing
					b.Fatal(err)
				}
				storetest.BenchTraverse(b, s, graph.Traversal{Direction: tc.dir, Depth: depth}, starts(tc.layer))
			})
		}
	}
}

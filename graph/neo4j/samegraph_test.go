package neo4j_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/graph/storetest"
	"github.com/redthread/redthread/ingest/openlineage"
	"github.com/redthread/redthread/internal/workload"
)

// TestSameGraphAsSQLite gives the embedded store and Neo4j the same
// batches, in the same calls, and checks that they then hold the same
// graph, read through the Store interface (storetest.Dump): DESIGN.md's
// "the same graph on either store", beyond what the conformance suite's
// hand-written fixtures pin down. The batches are random ones that
// exercise merging (storetest.RandomBatches), and events of the benchmark
// workload as the OpenLineage mapper turns them into mutations: its keys,
// schema fields, column lineage, facets and provenance.
func TestSameGraphAsSQLite(t *testing.T) {
	cases := []struct {
		name    string
		batches []graph.Batch
	}{{"workload", workloadBatches(t, 400)}}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 23))
		cases = append(cases, struct {
			name    string
			batches []graph.Batch
		}{fmt.Sprintf("random-%d", seed), storetest.RandomBatches(rng, 20+rng.IntN(30))})
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			embedded, err := sqlite.OpenStore(filepath.Join(t.TempDir(), "graph.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { embedded.Close() })
			server := emptyStore(t)
			rng := rand.New(rand.NewPCG(uint64(i), 29))
			for rest := tc.batches; len(rest) > 0; {
				n := 1 + rng.IntN(min(len(rest), 64))
				for _, s := range []graph.Store{embedded, server} {
					if err := s.Apply(t.Context(), rest[:n]...); err != nil {
						t.Fatalf("%T: %v", s, err)
					}
				}
				rest = rest[n:]
			}
			want := storetest.Dump(t, embedded)
			if len(want.Nodes) == 0 {
				t.Fatal("the embedded store holds no nodes: nothing was compared")
			}
			t.Logf("%d nodes, %d edges compared", len(want.Nodes), len(want.Edges))
			if diff := cmp.Diff(want, storetest.Dump(t, server)); diff != "" {
				t.Fatalf("Neo4j differs from the embedded store (-sqlite +neo4j):\n%s", diff)
			}
		})
	}
}

// workloadBatches maps the first n events of the benchmark workload, one
// batch each at offsets 1 to n.
func workloadBatches(t *testing.T, n int) []graph.Batch {
	t.Helper()
	gen := workload.New(workload.Config{Nodes: 100000})
	var batches []graph.Batch
	for len(batches) < n {
		body, ok := gen.Next()
		if !ok {
			break
		}
		ev, err := openlineage.Decode(body)
		if err != nil {
			t.Fatalf("workload event %d: %v", len(batches)+1, err)
		}
		off := int64(len(batches) + 1)
		batches = append(batches, graph.Batch{Offset: off, Mutations: openlineage.Map(ev, off)})
	}
	return batches
}

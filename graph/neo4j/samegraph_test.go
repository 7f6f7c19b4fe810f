package neo4j_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	type sameCase struct {
		name    string
		batches []graph.Batch
	}
	cases := []sameCase{{"workload", workloadBatches(t, 400)}}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 23))
		cases = append(cases, sameCase{fmt.Sprintf("random-%d", seed), storetest.RandomBatches(rng, 20+rng.IntN(30))})
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
			sameTraversals(t, embedded, server, want.Keys, rng)
			sameSearches(t, embedded, server, want.Keys, rng)
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

// sameTraversals runs the same traversals on both stores from start keys
// picked from keys, in every direction, at depths 1 to 8, now and as of
// the median first-seen time of the graph and as of when an edge at the
// start was first seen, with all edge types and with
// the run-to-dataset ones only, and checks that both return the same
// nodes (with labels and provenance), edges and truncation. Whole
// subgraphs and skeletons both.
func sameTraversals(t *testing.T, a, b graph.Store, keys []string, rng *rand.Rand) {
	t.Helper()
	ctx := t.Context()
	nodes, err := a.Nodes(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	var seen []time.Time
	for _, n := range nodes {
		if !n.Provenance.FirstSeen.IsZero() {
			seen = append(seen, n.Provenance.FirstSeen)
		}
	}
	slices.SortFunc(seen, time.Time.Compare)
	asOfs := []time.Time{{}}
	if len(seen) > 0 {
		asOfs = append(asOfs, seen[len(seen)/2])
	}
	ran := 0
	for range 12 {
		start := keys[rng.IntN(len(keys))]
		// As of the moment an edge at the start appeared: the boundary
		// of the as-of filter, which keeps what was first seen at it.
		around, err := a.Traverse(ctx, graph.Traversal{Start: []string{start}, Direction: graph.Both, Depth: 1})
		if err != nil {
			t.Fatal(err)
		}
		at := asOfs
		if len(around.Edges) > 0 {
			if fs := around.Edges[rng.IntN(len(around.Edges))].Provenance.FirstSeen; !fs.IsZero() {
				at = append(slices.Clip(asOfs), fs)
			}
		}
		for _, dir := range []graph.Direction{graph.Downstream, graph.Upstream, graph.Both} {
			for _, asOf := range at {
				for _, types := range [][]graph.EdgeType{nil, {graph.EdgeReadBy, graph.EdgeWrote, graph.EdgeVersionOf}} {
					q := graph.Traversal{Start: []string{start}, Direction: dir, Depth: 1 + rng.IntN(8), AsOf: asOf,
						EdgeTypes: types, MaxNodes: 200, Skeleton: rng.IntN(2) == 0}
					got, errA := a.Traverse(ctx, q)
					other, errB := b.Traverse(ctx, q)
					if graph.ErrorCode(errA) != graph.ErrorCode(errB) {
						t.Fatalf("%+v: sqlite %v, neo4j %v", q, errA, errB)
					}
					if errA != nil {
						continue
					}
					if diff := cmp.Diff(subgraphText(got), subgraphText(other)); diff != "" {
						t.Fatalf("%+v: Neo4j's subgraph differs (-sqlite +neo4j):\n%s", q, diff)
					}
					ran++
				}
			}
		}
	}
	t.Logf("%d traversals compared", ran)
}

// subgraphText prints a subgraph in a stable order: nodes with label and
// provenance, edges with provenance, and whether it was cut.
func subgraphText(sg graph.Subgraph) []string {
	var out []string
	for _, n := range sg.Nodes {
		out = append(out, fmt.Sprintf("node %s %s %v", n.Key, n.Label, n.Provenance))
	}
	for _, e := range sg.Edges {
		out = append(out, fmt.Sprintf("edge %s %v", e.ID(), e.Provenance))
	}
	slices.Sort(out)
	return append(out, fmt.Sprintf("truncated %v", sg.Truncated))
}

// sameSearches runs the same searches on both stores: by a piece of a
// key (case changed), by key prefix, restricted to labels, paged with
// After and Limit, and checks they find the same nodes in the same order.
func sameSearches(t *testing.T, a, b graph.Store, keys []string, rng *rand.Rand) {
	t.Helper()
	var qs []graph.SearchQuery
	for range 20 {
		k := keys[rng.IntN(len(keys))]
		i := rng.IntN(len(k))
		piece := k[i:min(len(k), i+1+rng.IntN(6))]
		if rng.IntN(2) == 0 {
			piece = strings.ToUpper(piece)
		}
		qs = append(qs,
			graph.SearchQuery{Text: piece, Limit: 1 + rng.IntN(60)},
			graph.SearchQuery{KeyPrefix: k[:1+rng.IntN(len(k))], After: keys[rng.IntN(len(keys))], Limit: 1 + rng.IntN(60)},
			graph.SearchQuery{Text: piece, Labels: []graph.Label{graph.Labels[rng.IntN(len(graph.Labels))], graph.LabelDataset}})
	}
	found := 0
	for _, q := range qs {
		got, errA := a.Search(t.Context(), q)
		other, errB := b.Search(t.Context(), q)
		if errA != nil || errB != nil {
			t.Fatalf("%+v: sqlite %v, neo4j %v", q, errA, errB)
		}
		if diff := cmp.Diff(searchText(got), searchText(other)); diff != "" {
			t.Fatalf("%+v: Neo4j finds otherwise (-sqlite +neo4j):\n%s", q, diff)
		}
		found += len(got)
	}
	if found == 0 {
		t.Fatal("no search found anything: nothing was compared")
	}
	t.Logf("%d searches compared, %d nodes found", len(qs), found)
}

// searchText lists found nodes as key and label, in the order found.
func searchText(nodes []graph.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key + " " + string(n.Label)
	}
	return out
}

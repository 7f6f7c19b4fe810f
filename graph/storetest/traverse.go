package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// The lineage fixture, the red thread in miniature:
//
//	C -INGESTED_AS-> DV1 -READ_BY-> R1 -WROTE-> DV2 -READ_BY-> R2 -REGISTERED_AS-> MV -DEPLOYED_AS-> D
//	                 DV1 -VERSION_OF-> DS1
//	                                  R1 -RUN_OF-> J <-RUN_OF- R2
var (
	fxC   = graph.CorrelationKey("z1-7f3a")
	fxDV1 = graph.DatasetVersionKey("s3://raw", "events", "2024-05-01")
	fxDS1 = graph.DatasetKey("s3://raw", "events")
	fxR1  = graph.RunKey("11111111-1111-4111-8111-111111111111")
	fxJ   = graph.JobKey("airflow://prod", "features.build")
	fxDV2 = graph.DatasetVersionKey("s3://features", "risk", "v3")
	fxR2  = graph.RunKey("22222222-2222-4222-8222-222222222222")
	fxMV  = graph.ModelVersionKey("mlflow://registry", "risk", "3")
	fxD   = graph.DeploymentKey("prod", "risk-api", "d-1")

	fxEdges = []graph.Edge{
		e(fxC, graph.EdgeIngestedAs, fxDV1),
		e(fxDV1, graph.EdgeVersionOf, fxDS1),
		e(fxDV1, graph.EdgeReadBy, fxR1),
		e(fxR1, graph.EdgeRunOf, fxJ),
		e(fxR1, graph.EdgeWrote, fxDV2),
		e(fxDV2, graph.EdgeReadBy, fxR2),
		e(fxR2, graph.EdgeRunOf, fxJ),
		e(fxR2, graph.EdgeRegisteredAs, fxMV),
		e(fxMV, graph.EdgeDeployedAs, fxD),
	}
)

// lineageFixture loads the fixture into a new store, one batch per node
// and edge as a pipeline would.
func lineageFixture(t *testing.T, newStore NewStore) graph.Store {
	t.Helper()
	s := newStore(t)
	labels := []struct {
		key   string
		label graph.Label
	}{
		{fxC, graph.LabelCorrelation}, {fxDV1, graph.LabelDatasetVersion}, {fxDS1, graph.LabelDataset},
		{fxR1, graph.LabelRun}, {fxJ, graph.LabelJob}, {fxDV2, graph.LabelDatasetVersion},
		{fxR2, graph.LabelRun}, {fxMV, graph.LabelModelVersion}, {fxD, graph.LabelDeployment},
	}
	var batches []graph.Batch
	off := int64(0)
	for i, l := range labels {
		off++
		batches = append(batches, batch(off, nodeMut(l.key, l.label, at(i), graph.Props{"name": l.key, "i": i})))
	}
	for _, ed := range fxEdges {
		off++
		batches = append(batches, batch(off, edgeMut(ed.From, ed.Type, ed.To, at(0))))
	}
	apply(t, s, batches...)
	return s
}

// traversalCase is a traversal and the node keys and edge IDs it returns.
type traversalCase struct {
	name      string
	q         graph.Traversal
	wantNodes []string
	wantEdges []graph.Edge
	truncated bool
}

// runTraversals runs cases against s.
func runTraversals(t *testing.T, s graph.Store, cases []traversalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sg := traverse(t, s, tc.q)
			if d := cmp.Diff(sortedKeys(tc.wantNodes...), nodeKeys(sg.Nodes), diffOpts); d != "" {
				t.Errorf("nodes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(sortedIDs(tc.wantEdges...), edgeIDs(sg.Edges), diffOpts); d != "" {
				t.Errorf("edges (-want +got):\n%s", d)
			}
			if sg.Truncated != tc.truncated {
				t.Errorf("Truncated = %v, want %v", sg.Truncated, tc.truncated)
			}
		})
	}
}

func testDirection(t *testing.T, newStore NewStore) {
	s := lineageFixture(t, newStore)
	runTraversals(t, s, []traversalCase{{
		name:      "downstream follows outgoing edges",
		q:         graph.Traversal{Start: []string{fxR1}, Direction: graph.Downstream, Depth: 1},
		wantNodes: []string{fxR1, fxJ, fxDV2},
		wantEdges: []graph.Edge{e(fxR1, graph.EdgeRunOf, fxJ), e(fxR1, graph.EdgeWrote, fxDV2)},
	}, {
		name:      "empty direction means downstream",
		q:         graph.Traversal{Start: []string{fxR1}, Depth: 1},
		wantNodes: []string{fxR1, fxJ, fxDV2},
		wantEdges: []graph.Edge{e(fxR1, graph.EdgeRunOf, fxJ), e(fxR1, graph.EdgeWrote, fxDV2)},
	}, {
		name:      "upstream follows incoming edges",
		q:         graph.Traversal{Start: []string{fxR1}, Direction: graph.Upstream, Depth: 1},
		wantNodes: []string{fxR1, fxDV1},
		wantEdges: []graph.Edge{e(fxDV1, graph.EdgeReadBy, fxR1)},
	}, {
		name:      "both follows either way",
		q:         graph.Traversal{Start: []string{fxR1}, Direction: graph.Both, Depth: 1},
		wantNodes: []string{fxR1, fxJ, fxDV2, fxDV1},
		wantEdges: []graph.Edge{e(fxR1, graph.EdgeRunOf, fxJ), e(fxR1, graph.EdgeWrote, fxDV2), e(fxDV1, graph.EdgeReadBy, fxR1)},
	}, {
		name:      "both reaches siblings through a shared node",
		q:         graph.Traversal{Start: []string{fxR1}, Direction: graph.Both, Depth: 2},
		wantNodes: []string{fxR1, fxJ, fxDV2, fxDV1, fxR2, fxC, fxDS1},
		wantEdges: []graph.Edge{
			e(fxR1, graph.EdgeRunOf, fxJ), e(fxR1, graph.EdgeWrote, fxDV2), e(fxDV1, graph.EdgeReadBy, fxR1),
			e(fxR2, graph.EdgeRunOf, fxJ), e(fxDV2, graph.EdgeReadBy, fxR2), e(fxC, graph.EdgeIngestedAs, fxDV1), e(fxDV1, graph.EdgeVersionOf, fxDS1),
		},
	}, {
		name:      "provenance of a deployment goes back to the correlation id",
		q:         graph.Traversal{Start: []string{fxD}, Direction: graph.Upstream, Depth: 10},
		wantNodes: []string{fxD, fxMV, fxR2, fxDV2, fxR1, fxDV1, fxC},
		wantEdges: []graph.Edge{
			e(fxMV, graph.EdgeDeployedAs, fxD), e(fxR2, graph.EdgeRegisteredAs, fxMV), e(fxDV2, graph.EdgeReadBy, fxR2),
			e(fxR1, graph.EdgeWrote, fxDV2), e(fxDV1, graph.EdgeReadBy, fxR1), e(fxC, graph.EdgeIngestedAs, fxDV1),
		},
	}, {
		name:      "several start nodes",
		q:         graph.Traversal{Start: []string{fxMV, fxC}, Direction: graph.Downstream, Depth: 1},
		wantNodes: []string{fxMV, fxD, fxC, fxDV1},
		wantEdges: []graph.Edge{e(fxMV, graph.EdgeDeployedAs, fxD), e(fxC, graph.EdgeIngestedAs, fxDV1)},
	}, {
		name:      "a start node given twice counts once",
		q:         graph.Traversal{Start: []string{fxMV, fxMV}, Direction: graph.Downstream, Depth: 1},
		wantNodes: []string{fxMV, fxD},
		wantEdges: []graph.Edge{e(fxMV, graph.EdgeDeployedAs, fxD)},
	}, {
		name:      "a leaf has nothing downstream",
		q:         graph.Traversal{Start: []string{fxD}, Direction: graph.Downstream, Depth: 5},
		wantNodes: []string{fxD},
	}})

	t.Run("returned nodes and edges are whole", func(t *testing.T) {
		sg := traverse(t, s, graph.Traversal{Start: []string{fxMV}, Direction: graph.Downstream, Depth: 1})
		want, err := s.Nodes(t.Context(), fxD, fxMV)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, sg.Nodes, diffOpts); d != "" {
			t.Errorf("traversal nodes differ from Nodes (-want +got):\n%s", d)
		}
		wantEdge := graph.Edge{From: fxMV, Type: graph.EdgeDeployedAs, To: fxD,
			Provenance: graph.Provenance{FirstSeen: at(0), LastSeen: at(0), FirstOffset: 18, LastOffset: 18}}
		if d := cmp.Diff([]graph.Edge{wantEdge}, sg.Edges, diffOpts); d != "" {
			t.Errorf("edges (-want +got):\n%s", d)
		}
	})

	t.Run("unknown direction", func(t *testing.T) {
		_, err := s.Traverse(t.Context(), graph.Traversal{Start: []string{fxR1}, Direction: "SIDEWAYS", Depth: 1})
		wantCode(t, err, graph.EINVALID)
	})
}

func testDepth(t *testing.T, newStore NewStore) {
	s := lineageFixture(t, newStore)
	levels := [][]string{
		{fxC},
		{fxDV1},
		{fxDS1, fxR1},
		{fxJ, fxDV2},
		{fxR2},
		{fxMV},
		{fxD},
	}
	edgesUpTo := [][]graph.Edge{
		nil,
		{e(fxC, graph.EdgeIngestedAs, fxDV1)},
		{e(fxDV1, graph.EdgeVersionOf, fxDS1), e(fxDV1, graph.EdgeReadBy, fxR1)},
		{e(fxR1, graph.EdgeRunOf, fxJ), e(fxR1, graph.EdgeWrote, fxDV2)},
		{e(fxDV2, graph.EdgeReadBy, fxR2)},
		// R2 is at distance 4: at depth 5 its edge to J, already visited at
		// distance 3, is listed too.
		{e(fxR2, graph.EdgeRunOf, fxJ), e(fxR2, graph.EdgeRegisteredAs, fxMV)},
		{e(fxMV, graph.EdgeDeployedAs, fxD)},
	}
	var cases []traversalCase
	for _, depth := range []int{-3, 0, 1, 2, 3, 4, 5, 6, 7, graph.MaxDepth, graph.MaxDepth + 1, 1_000_000} {
		d := min(max(depth, 0), len(levels)-1)
		var nodes []string
		var edges []graph.Edge
		for i := 0; i <= d; i++ {
			nodes = append(nodes, levels[i]...)
			edges = append(edges, edgesUpTo[i]...)
		}
		cases = append(cases, traversalCase{
			name:      fmt.Sprintf("depth %d", depth),
			q:         graph.Traversal{Start: []string{fxC}, Direction: graph.Downstream, Depth: depth},
			wantNodes: nodes,
			wantEdges: edges,
		})
	}
	runTraversals(t, s, cases)
}

// testDepthClamp checks on a chain longer than MaxDepth that a larger depth
// stops at MaxDepth hops.
func testDepthClamp(t *testing.T, newStore NewStore) {
	s := newStore(t)
	keys := chain(graph.MaxDepth + 10)
	var muts []graph.Mutation
	for i, k := range keys {
		muts = append(muts, nodeMut(k, graph.LabelField, at(0), nil))
		if i > 0 {
			muts = append(muts, edgeMut(keys[i-1], graph.EdgeDerives, k, at(0)))
		}
	}
	apply(t, s, batch(1, muts...))
	for _, depth := range []int{graph.MaxDepth, graph.MaxDepth + 1, 1 << 30} {
		sg := traverse(t, s, graph.Traversal{Start: keys[:1], Direction: graph.Downstream, Depth: depth})
		if d := cmp.Diff(keys[:graph.MaxDepth+1], nodeKeys(sg.Nodes)); d != "" {
			t.Errorf("depth %d: nodes (-want +got):\n%s", depth, d)
		}
		if len(sg.Edges) != graph.MaxDepth {
			t.Errorf("depth %d: %d edges, want %d", depth, len(sg.Edges), graph.MaxDepth)
		}
	}
	sg := traverse(t, s, graph.Traversal{Start: keys[len(keys)-1:], Direction: graph.Upstream, Depth: 7})
	if d := cmp.Diff(keys[len(keys)-8:], nodeKeys(sg.Nodes)); d != "" {
		t.Errorf("upstream depth 7: nodes (-want +got):\n%s", d)
	}
}

// testDepthBoundary pins down which edges are listed: those followed from
// a node closer than Depth, including edges back to visited nodes, but not
// edges between two nodes at distance Depth.
func testDepthBoundary(t *testing.T, newStore NewStore) {
	s := newStore(t)
	x, y, z := graph.FieldKey("db://h", "t", "x"), graph.FieldKey("db://h", "t", "y"), graph.FieldKey("db://h", "t", "z")
	apply(t, s, batch(1,
		nodeMut(x, graph.LabelField, at(0), nil), nodeMut(y, graph.LabelField, at(0), nil), nodeMut(z, graph.LabelField, at(0), nil),
		edgeMut(x, graph.EdgeDerives, y, at(0)), edgeMut(x, graph.EdgeDerives, z, at(0)), edgeMut(y, graph.EdgeDerives, z, at(0)),
	))
	runTraversals(t, s, []traversalCase{{
		name:      "edge between two nodes at the last level is not listed",
		q:         graph.Traversal{Start: []string{x}, Direction: graph.Downstream, Depth: 1},
		wantNodes: []string{x, y, z},
		wantEdges: []graph.Edge{e(x, graph.EdgeDerives, y), e(x, graph.EdgeDerives, z)},
	}, {
		name:      "one level more lists it",
		q:         graph.Traversal{Start: []string{x}, Direction: graph.Downstream, Depth: 2},
		wantNodes: []string{x, y, z},
		wantEdges: []graph.Edge{e(x, graph.EdgeDerives, y), e(x, graph.EdgeDerives, z), e(y, graph.EdgeDerives, z)},
	}, {
		name:      "both ways, an edge reached from either end is listed once",
		q:         graph.Traversal{Start: []string{y}, Direction: graph.Both, Depth: 2},
		wantNodes: []string{x, y, z},
		wantEdges: []graph.Edge{e(x, graph.EdgeDerives, y), e(x, graph.EdgeDerives, z), e(y, graph.EdgeDerives, z)},
	}})
}

func testEdgeTypes(t *testing.T, newStore NewStore) {
	s := lineageFixture(t, newStore)
	runTraversals(t, s, []traversalCase{{
		name:      "lineage edges only",
		q:         graph.Traversal{Start: []string{fxC}, Depth: 20, EdgeTypes: []graph.EdgeType{graph.EdgeIngestedAs, graph.EdgeReadBy, graph.EdgeWrote}},
		wantNodes: []string{fxC, fxDV1, fxR1, fxDV2, fxR2},
		wantEdges: []graph.Edge{e(fxC, graph.EdgeIngestedAs, fxDV1), e(fxDV1, graph.EdgeReadBy, fxR1), e(fxR1, graph.EdgeWrote, fxDV2), e(fxDV2, graph.EdgeReadBy, fxR2)},
	}, {
		name:      "context edges both ways",
		q:         graph.Traversal{Start: []string{fxJ}, Direction: graph.Both, Depth: 3, EdgeTypes: []graph.EdgeType{graph.EdgeRunOf}},
		wantNodes: []string{fxJ, fxR1, fxR2},
		wantEdges: []graph.Edge{e(fxR1, graph.EdgeRunOf, fxJ), e(fxR2, graph.EdgeRunOf, fxJ)},
	}, {
		name:      "a type the start node has no edge of",
		q:         graph.Traversal{Start: []string{fxC}, Depth: 5, EdgeTypes: []graph.EdgeType{graph.EdgeSigns}},
		wantNodes: []string{fxC},
	}})
	t.Run("unknown edge type", func(t *testing.T) {
		_, err := s.Traverse(t.Context(), graph.Traversal{Start: []string{fxC}, Depth: 1, EdgeTypes: []graph.EdgeType{"FEEDS"}})
		wantCode(t, err, graph.EINVALID)
	})
}

func testCycles(t *testing.T, newStore NewStore) {
	s := newStore(t)
	a, b, c := graph.FieldKey("db://h", "t", "a"), graph.FieldKey("db://h", "t", "b"), graph.FieldKey("db://h", "t", "c")
	self := graph.FieldKey("db://h", "t", "self")
	apply(t, s, batch(1,
		nodeMut(a, graph.LabelField, at(0), nil), nodeMut(b, graph.LabelField, at(0), nil),
		nodeMut(c, graph.LabelField, at(0), nil), nodeMut(self, graph.LabelField, at(0), nil),
		edgeMut(a, graph.EdgeDerives, b, at(0)), edgeMut(b, graph.EdgeDerives, c, at(0)), edgeMut(c, graph.EdgeDerives, a, at(0)),
		edgeMut(self, graph.EdgeDerives, self, at(0)),
	))
	ring := []graph.Edge{e(a, graph.EdgeDerives, b), e(b, graph.EdgeDerives, c), e(c, graph.EdgeDerives, a)}
	runTraversals(t, s, []traversalCase{
		{name: "downstream round the ring", q: graph.Traversal{Start: []string{a}, Depth: graph.MaxDepth}, wantNodes: []string{a, b, c}, wantEdges: ring},
		{name: "upstream round the ring", q: graph.Traversal{Start: []string{b}, Direction: graph.Upstream, Depth: graph.MaxDepth}, wantNodes: []string{a, b, c}, wantEdges: ring},
		{name: "both ways round the ring", q: graph.Traversal{Start: []string{c}, Direction: graph.Both, Depth: graph.MaxDepth}, wantNodes: []string{a, b, c}, wantEdges: ring},
		{name: "closing edge shows at depth 3", q: graph.Traversal{Start: []string{a}, Depth: 3}, wantNodes: []string{a, b, c}, wantEdges: ring},
		{name: "not yet at depth 2", q: graph.Traversal{Start: []string{a}, Depth: 2}, wantNodes: []string{a, b, c}, wantEdges: ring[:2]},
		{name: "self loop", q: graph.Traversal{Start: []string{self}, Direction: graph.Both, Depth: 4}, wantNodes: []string{self}, wantEdges: []graph.Edge{e(self, graph.EdgeDerives, self)}},
	})
}

// testAsOf checks that nodes and edges first seen after AsOf are invisible,
// and that a node whose first-seen time is unknown is always visible.
func testAsOf(t *testing.T, newStore NewStore) {
	s := newStore(t)
	k := func(n string) string { return graph.FieldKey("db://h", "t", n) }
	a, b, c, d, late, unknown := k("a"), k("b"), k("c"), k("d"), k("late"), k("unknown")
	apply(t, s,
		batch(1, nodeMut(a, graph.LabelField, at(1), nil), nodeMut(b, graph.LabelField, at(1), nil), nodeMut(d, graph.LabelField, at(1), nil)),
		batch(2, edgeMut(a, graph.EdgeDerives, b, at(2))),
		batch(3, nodeMut(c, graph.LabelField, at(3), nil), edgeMut(b, graph.EdgeDerives, c, at(3))),
		batch(4, edgeMut(a, graph.EdgeDerives, d, at(4))),
		// An edge stamped before its endpoint (producers' clocks differ):
		// as of a time the node was not yet seen, the edge leads nowhere.
		batch(5, nodeMut(late, graph.LabelField, at(6), nil), edgeMut(a, graph.EdgeDerives, late, at(1))),
		batch(6, graph.NodeMutation(graph.Node{Key: unknown, Label: graph.LabelField}), graph.EdgeMutation(graph.Edge{From: a, Type: graph.EdgeDerives, To: unknown})),
		// Seen again later: first seen stays at 1.
		batch(7, nodeMut(b, graph.LabelField, at(8), nil)),
	)
	q := func(asOfHour int) graph.Traversal {
		tr := graph.Traversal{Start: []string{a}, Depth: 5}
		if asOfHour >= 0 {
			tr.AsOf = at(asOfHour)
		}
		return tr
	}
	all := []graph.Edge{e(a, graph.EdgeDerives, b), e(b, graph.EdgeDerives, c), e(a, graph.EdgeDerives, d), e(a, graph.EdgeDerives, late), e(a, graph.EdgeDerives, unknown)}
	runTraversals(t, s, []traversalCase{
		{name: "now", q: q(-1), wantNodes: []string{a, b, c, d, late, unknown}, wantEdges: all},
		{name: "as of the first hour", q: q(1), wantNodes: []string{a, unknown}, wantEdges: []graph.Edge{e(a, graph.EdgeDerives, unknown)}},
		{name: "as of hour 2", q: q(2), wantNodes: []string{a, b, unknown}, wantEdges: []graph.Edge{e(a, graph.EdgeDerives, b), e(a, graph.EdgeDerives, unknown)}},
		{name: "as of hour 3, inclusive", q: q(3), wantNodes: []string{a, b, c, unknown},
			wantEdges: []graph.Edge{e(a, graph.EdgeDerives, b), e(b, graph.EdgeDerives, c), e(a, graph.EdgeDerives, unknown)}},
		{name: "as of hour 5", q: q(5), wantNodes: []string{a, b, c, d, unknown},
			wantEdges: append(all[:3:3], e(a, graph.EdgeDerives, unknown))},
		{name: "as of hour 6", q: q(6), wantNodes: []string{a, b, c, d, late, unknown}, wantEdges: all},
	})
	t.Run("start node not yet seen", func(t *testing.T) {
		_, err := s.Traverse(t.Context(), graph.Traversal{Start: []string{c}, Depth: 1, AsOf: at(2)})
		wantCode(t, err, graph.ENOTFOUND)
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not name the start key", err)
		}
	})
	t.Run("start node seen exactly then", func(t *testing.T) {
		sg := traverse(t, s, graph.Traversal{Start: []string{c}, Direction: graph.Upstream, Depth: 1, AsOf: at(3)})
		if d := cmp.Diff([]string{b, c}, nodeKeys(sg.Nodes)); d != "" {
			t.Errorf("nodes (-want +got):\n%s", d)
		}
	})
}

func testStartErrors(t *testing.T, newStore NewStore) {
	s := lineageFixture(t, newStore)
	missing := graph.DatasetKey("s3://raw", "nope")
	for _, tc := range []struct {
		name  string
		start []string
		code  string
	}{
		{"no start", nil, graph.EINVALID},
		{"missing start", []string{missing}, graph.ENOTFOUND},
		{"one of two starts missing", []string{fxC, missing}, graph.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Traverse(t.Context(), graph.Traversal{Start: tc.start, Depth: 1})
			wantCode(t, err, tc.code)
			if tc.code == graph.ENOTFOUND && !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name the missing key", err)
			}
		})
	}
}

// fanOut loads a hub run that produced n artifacts and returns the keys.
func fanOut(t *testing.T, s graph.Store, n int) (hub string, leaves []string) {
	t.Helper()
	hub = graph.RunKey("99999999-9999-4999-8999-999999999999")
	muts := []graph.Mutation{nodeMut(hub, graph.LabelRun, at(0), nil)}
	for i := 0; i < n; i++ {
		leaf := graph.ArtifactKey(fmt.Sprintf("%064x", i))
		leaves = append(leaves, leaf)
		muts = append(muts, nodeMut(leaf, graph.LabelArtifact, at(0), nil), edgeMut(hub, graph.EdgeProduced, leaf, at(0)))
	}
	apply(t, s, batch(1, muts...))
	slices.Sort(leaves)
	return hub, leaves
}

func testFanOut(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const n = 10_000
	hub, leaves := fanOut(t, s, n)
	sg := traverse(t, s, graph.Traversal{Start: []string{hub}, Depth: 1})
	if sg.Truncated {
		t.Error("Truncated with fewer nodes than DefaultMaxNodes")
	}
	if len(sg.Nodes) != n+1 || len(sg.Edges) != n {
		t.Fatalf("got %d nodes and %d edges, want %d and %d", len(sg.Nodes), len(sg.Edges), n+1, n)
	}
	for i, ed := range sg.Edges {
		if ed.From != hub || ed.Type != graph.EdgeProduced || ed.To != leaves[i] {
			t.Fatalf("edge %d is %s, want %s", i, ed.ID(), e(hub, graph.EdgeProduced, leaves[i]).ID())
		}
	}
	up := traverse(t, s, graph.Traversal{Start: leaves[n/2 : n/2+1], Direction: graph.Upstream, Depth: 1})
	if d := cmp.Diff(sortedKeys(leaves[n/2], hub), nodeKeys(up.Nodes)); d != "" {
		t.Errorf("upstream of one leaf (-want +got):\n%s", d)
	}
	// Two hops, both ways: every leaf reaches every other through the hub.
	both := traverse(t, s, graph.Traversal{Start: leaves[:1], Direction: graph.Both, Depth: 2})
	if len(both.Nodes) != n+1 || len(both.Edges) != n {
		t.Errorf("both ways from a leaf: %d nodes and %d edges, want %d and %d", len(both.Nodes), len(both.Edges), n+1, n)
	}
}

func testMaxNodes(t *testing.T, newStore NewStore) {
	s := newStore(t)
	hub, leaves := fanOut(t, s, 100)
	for _, tc := range []struct {
		max       int
		wantNodes int
		truncated bool
	}{
		{1, 1, true},
		{10, 10, true},
		{100, 100, true},
		{101, 101, false},
		{102, 101, false},
		{0, 101, false},  // 0 means DefaultMaxNodes
		{-5, 101, false}, // so does anything below
		{graph.MaxNodesLimit * 10, 101, false},
	} {
		t.Run(fmt.Sprintf("max %d", tc.max), func(t *testing.T) {
			sg := traverse(t, s, graph.Traversal{Start: []string{hub}, Depth: 3, MaxNodes: tc.max})
			if len(sg.Nodes) != tc.wantNodes || sg.Truncated != tc.truncated {
				t.Fatalf("got %d nodes, truncated %v; want %d, %v", len(sg.Nodes), sg.Truncated, tc.wantNodes, tc.truncated)
			}
			if !slices.Contains(nodeKeys(sg.Nodes), hub) {
				t.Error("the start node was cut")
			}
			if len(sg.Edges) != tc.wantNodes-1 {
				t.Errorf("%d edges, want one to each returned leaf (%d)", len(sg.Edges), tc.wantNodes-1)
			}
			for _, ed := range sg.Edges {
				if !slices.Contains(leaves, ed.To) {
					t.Errorf("unexpected edge %s", ed.ID())
				}
			}
		})
	}
}

// hardKeys are keys built by the graph key constructors from names full of
// delimiters, quotes, SQL and LIKE metacharacters and non-Latin text.
func hardKeys() []string {
	return []string{
		graph.DatasetKey("postgres://db.example:5432", "public.orders"),
		graph.DatasetVersionKey("postgres://h:5432", "sales/2024:q1@eu#x", "v1"),
		graph.FieldKey("postgres://h:5432", "a:b@c#d/e", "col:1"),
		graph.JobKey("airflow://prod", "dag.task/x"),
		graph.DatasetKey("s3://データ", "売上/2024"),
		graph.DatasetKey("hdfs://кластер", "Таблица:Пользователи"),
		graph.DatasetKey("ns", "x' OR '1'='1"),
		graph.DatasetKey("ns", `quote"back\slash`),
		graph.DatasetKey("ns", "100%_done"),
		graph.DatasetKey("ns", `["json",{"a":1}]`),
		graph.DatasetKey("ns", "//leading/slashes"),
		graph.DatasetKey("ns", "emoji 🙂 and\ttab and\nnewline"),
		graph.IdentityKey("https://accounts.example/", "user@example.com"),
		graph.ModelVersionKey("mlflow://reg:5000", "модель/α", "v#1"),
		graph.ImageKey("ghcr.io/org/img", "sha256:ABCDEF0123456789"),
		graph.CommitKey("https://github.com/o/r.git", "deadbeef"),
		graph.RunKey("0123456789ABCDEF0123456789ABCDEF"),
		graph.FeatureGroupKey("fs_offline.risco_cliente_v1", "v1"),
		graph.CorrelationKey("Ωmega-Ζ1"),
	}
}

func testHardKeys(t *testing.T, newStore NewStore) {
	s := newStore(t)
	keys := hardKeys()
	var muts []graph.Mutation
	for i, k := range keys {
		label, err := graph.LabelOf(k)
		if err != nil {
			t.Fatalf("fixture key %q: %v", k, err)
		}
		muts = append(muts, nodeMut(k, label, at(0), graph.Props{"name": "name of " + k}))
		if i > 0 {
			muts = append(muts, edgeMut(keys[i-1], graph.EdgeSymlinkOf, k, at(0)))
		}
	}
	apply(t, s, batch(1, muts...))

	got, err := s.Nodes(t.Context(), keys...)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(keys, nodeKeys(got)); d != "" {
		t.Errorf("Nodes (-want +got):\n%s", d)
	}
	for _, n := range got {
		if n.Props["name"] != "name of "+n.Key {
			t.Errorf("node %q: name = %q", n.Key, n.Props["name"])
		}
	}
	sg := traverse(t, s, graph.Traversal{Start: keys[:1], Depth: len(keys)})
	if d := cmp.Diff(sortedKeys(keys...), nodeKeys(sg.Nodes)); d != "" {
		t.Errorf("Traverse nodes (-want +got):\n%s", d)
	}
	if len(sg.Edges) != len(keys)-1 {
		t.Errorf("Traverse: %d edges, want %d", len(sg.Edges), len(keys)-1)
	}
	for _, k := range keys {
		t.Run("prefix "+k, func(t *testing.T) {
			var want []string
			for _, other := range keys {
				if strings.HasPrefix(other, k) {
					want = append(want, other)
				}
			}
			res, err := s.Search(t.Context(), graph.SearchQuery{KeyPrefix: k})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(sortedKeys(want...), nodeKeys(res)); d != "" {
				t.Errorf("KeyPrefix (-want +got):\n%s", d)
			}
			res, err = s.Search(t.Context(), graph.SearchQuery{Text: strings.ToUpper(k)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(nodeKeys(res), k) {
				t.Errorf("Text %q did not find %q: got %q", strings.ToUpper(k), k, nodeKeys(res))
			}
		})
	}
}

// SkeletonLeavesContent checks what a store that implements the skeleton
// optimisation does with it: a skeleton traversal of a small graph whose
// nodes and edges carry props and facets returns the nodes beyond the start
// and every edge without them. It is not part of Run, since the contract
// lets a store ignore Skeleton; each of Redthread's stores calls it.
func SkeletonLeavesContent(t *testing.T, s graph.Store) {
	t.Helper()
	ds := graph.DatasetKey("s3://skeleton", "in")
	run := graph.RunKey("0195c4d4-7f3a-7c1e-9a64-00000000000a")
	out := graph.DatasetKey("s3://skeleton", "out")
	facets := graph.Facets{"schema": raw(`{"fields":[{"name":"id"}]}`)}
	node := func(key string, label graph.Label) graph.Mutation {
		m := nodeMut(key, label, at(1), graph.Props{"name": key, "owner": "team"})
		m.Node.Facets = facets
		return m
	}
	edge := func(from string, typ graph.EdgeType, to string) graph.Mutation {
		m := edgeMut(from, typ, to, at(1))
		m.Edge.Props, m.Edge.Facets = graph.Props{"rows": int64(7)}, facets
		return m
	}
	apply(t, s, batch(1, node(ds, graph.LabelDataset), node(run, graph.LabelRun), node(out, graph.LabelDataset),
		edge(ds, graph.EdgeReadBy, run), edge(run, graph.EdgeWrote, out)))
	full := traverse(t, s, graph.Traversal{Start: []string{ds}, Depth: 2})
	if len(full.Nodes) != 3 || len(full.Edges) != 2 || len(full.Edges[0].Facets) == 0 || len(full.Nodes[1].Props) == 0 {
		t.Fatalf("full traversal: %+v", full)
	}
	skel := traverse(t, s, graph.Traversal{Start: []string{ds}, Depth: 2, Skeleton: true})
	for _, n := range skel.Nodes {
		if n.Key != ds && (len(n.Props) > 0 || len(n.Facets) > 0) {
			t.Errorf("skeleton node %s carries props %v and facets %v", n.Key, n.Props, n.Facets)
		}
	}
	for _, e := range skel.Edges {
		if len(e.Props) > 0 || len(e.Facets) > 0 {
			t.Errorf("skeleton edge %s carries props %v and facets %v", e.ID(), e.Props, e.Facets)
		}
	}
}

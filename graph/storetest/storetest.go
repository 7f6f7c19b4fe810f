// Package storetest is the conformance suite every graph.Store passes: one
// set of behaviours, written once against the interface, so that the
// embedded SQLite store and Neo4j cannot drift apart (DESIGN.md principle
// 2: the same graph on either store).
//
// A store's own test calls Run with a constructor of empty stores:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) graph.Store {
//			s, err := sqlite.OpenStore(filepath.Join(t.TempDir(), "g.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The package also generates graphs and workloads for benchmarks
// (LayeredGraph, EventBatch, BenchApply, BenchTraverse), so backends are
// measured on the same shapes.
package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redthread/redthread/graph"
)

// NewStore returns an empty store for one test and arranges, with
// t.Cleanup, for it to be closed when the test ends.
type NewStore func(t *testing.T) graph.Store

// Run runs every conformance test, each as a subtest on a fresh store.
//
// Besides what graph's doc comments say, the suite pins down choices a
// backend could otherwise make differently:
//   - property values read back as graph.NormalizeProps returns them;
//     facets read back byte for byte as written;
//   - a zero FirstSeen/LastSeen or offset means "unknown": it never moves
//     the min/max, and a node or edge with no FirstSeen is visible as of
//     any time; an offset a mutation leaves at zero is its batch's;
//   - a batch older than the applied offset is still applied;
//   - an edge whose far end is invisible as of AsOf is not followed;
//   - a traversal lists an edge when it was followed from a node closer
//     than Depth, so an edge between two nodes at distance Depth is not;
//   - a traversal cut by MaxNodes keeps the start nodes and returns
//     exactly MaxNodes nodes; negative MaxNodes and Limit mean the default;
//   - search folds case with strings.ToLower, treats % and _ literally,
//     and ignores a "name" that is not a string;
//   - Counts leaves out labels and types with no nodes or edges.
//   - however batches are split into Apply calls (one mutation per call,
//     all in one, cut anywhere, planned ahead), the store ends the same:
//     within a call, mutations of one key coalesce as if applied in order.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	suites := []struct {
		name string
		run  func(*testing.T, NewStore)
	}{
		{"Upsert", testUpsert},
		{"ValueTypes", testValueTypes},
		{"Invalid", testInvalid},
		{"AppliedOffset", testAppliedOffset},
		{"RollbackForgets", testRollbackForgets},
		{"CoalescedEqualsSequential", testCoalescedEqualsSequential},
		{"Direction", testDirection},
		{"Depth", testDepth},
		{"DepthClamp", testDepthClamp},
		{"DepthBoundary", testDepthBoundary},
		{"EdgeTypes", testEdgeTypes},
		{"Cycles", testCycles},
		{"AsOf", testAsOf},
		{"StartErrors", testStartErrors},
		{"FanOut", testFanOut},
		{"MaxNodes", testMaxNodes},
		{"HardKeys", testHardKeys},
		{"Search", testSearch},
		{"SearchNames", testSearchNames},
		{"SearchLimit", testSearchLimit},
		{"Counts", testCounts},
		{"Nodes", testNodes},
		{"ConcurrentReads", testConcurrentReads},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, newStore) })
	}
}

// t0 is the event time the fixtures start at; at(h) is h hours later.
var t0 = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// seenAt is the provenance of a mutation from an event at time ts; the
// offsets are left to the store, which takes them from the batch.
func seenAt(ts time.Time) graph.Provenance { return graph.Provenance{FirstSeen: ts, LastSeen: ts} }

// nodeMut is an upsert of a node seen at ts.
func nodeMut(key string, label graph.Label, ts time.Time, props graph.Props) graph.Mutation {
	return graph.NodeMutation(graph.Node{Key: key, Label: label, Props: props, Provenance: seenAt(ts)})
}

// edgeMut is an upsert of an edge seen at ts.
func edgeMut(from string, typ graph.EdgeType, to string, ts time.Time) graph.Mutation {
	return graph.EdgeMutation(graph.Edge{From: from, Type: typ, To: to, Provenance: seenAt(ts)})
}

// batch is a batch at offset off.
func batch(off int64, muts ...graph.Mutation) graph.Batch {
	return graph.Batch{Offset: off, Mutations: muts}
}

// apply applies batches and fails the test on error.
func apply(t *testing.T, s graph.Store, batches ...graph.Batch) {
	t.Helper()
	if err := s.Apply(t.Context(), batches...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// diffOpts compare graph values: nil and empty maps and slices are the
// same (a store need not tell them apart), and times compare with Equal
// (cmp's default for types with an Equal method) whatever their location.
var diffOpts = cmp.Options{cmpopts.EquateEmpty()}

// props normalizes p as every store returns it, failing the test if p is
// not valid.
func props(t *testing.T, p graph.Props) graph.Props {
	t.Helper()
	n, err := graph.NormalizeProps(p)
	if err != nil {
		t.Fatalf("NormalizeProps(%v): %v", p, err)
	}
	for k, v := range n {
		if v == nil {
			delete(n, k)
		}
	}
	return n
}

// raw is a facet value.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// mustNode returns the node with key, failing the test if it is absent.
func mustNode(t *testing.T, s graph.Store, key string) graph.Node {
	t.Helper()
	got, err := s.Nodes(t.Context(), key)
	if err != nil {
		t.Fatalf("Nodes(%q): %v", key, err)
	}
	if len(got) != 1 {
		t.Fatalf("Nodes(%q) returned %d nodes, want 1", key, len(got))
	}
	return got[0]
}

// findEdge returns the edge (from, typ, to) as the store has it, reached by
// a one-hop traversal, and whether it exists.
func findEdge(t *testing.T, s graph.Store, from string, typ graph.EdgeType, to string) (graph.Edge, bool) {
	t.Helper()
	sg, err := s.Traverse(t.Context(), graph.Traversal{Start: []string{from}, Direction: graph.Downstream, Depth: 1, EdgeTypes: []graph.EdgeType{typ}})
	if err != nil {
		t.Fatalf("Traverse from %q: %v", from, err)
	}
	for _, e := range sg.Edges {
		if e.From == from && e.Type == typ && e.To == to {
			return e, true
		}
	}
	return graph.Edge{}, false
}

// traverse runs a traversal that must succeed and checks the shape every
// Subgraph has. It runs the traversal again as a skeleton
// (graph.Traversal.Skeleton), which must find the same nodes and edges with
// the same labels and provenance, so every traversal test covers both.
func traverse(t *testing.T, s graph.Store, q graph.Traversal) graph.Subgraph {
	t.Helper()
	sg, err := s.Traverse(t.Context(), q)
	if err != nil {
		t.Fatalf("Traverse(%+v): %v", q, err)
	}
	checkSubgraph(t, sg)
	if !q.Skeleton {
		sk := q
		sk.Skeleton = true
		skel, err := s.Traverse(t.Context(), sk)
		if err != nil {
			t.Fatalf("Traverse(%+v): %v", sk, err)
		}
		checkSubgraph(t, skel)
		checkSkeleton(t, sg, skel)
	}
	return sg
}

// checkSkeleton checks that a skeleton traversal found what the full one
// did: the same nodes (key, label, provenance), edges (ends, type,
// provenance) and Truncated. Props and facets may be left out.
func checkSkeleton(t *testing.T, full, skel graph.Subgraph) {
	t.Helper()
	sameProv := func(a, b graph.Provenance) bool {
		return a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) &&
			a.FirstOffset == b.FirstOffset && a.LastOffset == b.LastOffset
	}
	if skel.Truncated != full.Truncated || len(skel.Nodes) != len(full.Nodes) || len(skel.Edges) != len(full.Edges) {
		t.Fatalf("skeleton: %d nodes, %d edges, truncated %v; full: %d, %d, %v",
			len(skel.Nodes), len(skel.Edges), skel.Truncated, len(full.Nodes), len(full.Edges), full.Truncated)
	}
	for i, n := range full.Nodes {
		k := skel.Nodes[i]
		if k.Key != n.Key || k.Label != n.Label || !sameProv(k.Provenance, n.Provenance) {
			t.Fatalf("skeleton node %d: %s %s %+v, full: %s %s %+v", i, k.Key, k.Label, k.Provenance, n.Key, n.Label, n.Provenance)
		}
	}
	for i, e := range full.Edges {
		k := skel.Edges[i]
		if k.ID() != e.ID() || !sameProv(k.Provenance, e.Provenance) {
			t.Fatalf("skeleton edge %d: %s %+v, full: %s %+v", i, k.ID(), k.Provenance, e.ID(), e.Provenance)
		}
	}
}

// checkSubgraph checks the invariants of any Subgraph: nodes sorted by key
// without repeats, edges sorted by (From, Type, To) without repeats, and
// every edge between two returned nodes.
func checkSubgraph(t *testing.T, sg graph.Subgraph) {
	t.Helper()
	keys := make(map[string]bool, len(sg.Nodes))
	for i, n := range sg.Nodes {
		if i > 0 && sg.Nodes[i-1].Key >= n.Key {
			t.Errorf("nodes not sorted by key or repeated: %q then %q", sg.Nodes[i-1].Key, n.Key)
		}
		keys[n.Key] = true
	}
	for i, e := range sg.Edges {
		if i > 0 && compareEdges(sg.Edges[i-1], e) >= 0 {
			t.Errorf("edges not sorted by (From, Type, To) or repeated: %s then %s", sg.Edges[i-1].ID(), e.ID())
		}
		if !keys[e.From] || !keys[e.To] {
			t.Errorf("edge %s has an endpoint that is not among the returned nodes", e.ID())
		}
	}
}

func compareEdges(a, b graph.Edge) int {
	if c := strings.Compare(a.From, b.From); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
		return c
	}
	return strings.Compare(a.To, b.To)
}

// nodeKeys lists the keys of nodes, in order.
func nodeKeys(nodes []graph.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key
	}
	return out
}

// edgeIDs lists the IDs of edges, in order.
func edgeIDs(edges []graph.Edge) []string {
	out := make([]string, len(edges))
	for i, e := range edges {
		out[i] = e.ID()
	}
	return out
}

// sortedKeys returns keys sorted, as a Subgraph lists its nodes.
func sortedKeys(keys ...string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// sortedIDs returns the IDs of edges sorted as a Subgraph lists them.
func sortedIDs(edges ...graph.Edge) []string {
	es := slices.Clone(edges)
	slices.SortFunc(es, compareEdges)
	return edgeIDs(es)
}

// e is an edge identity, for expectations.
func e(from string, typ graph.EdgeType, to string) graph.Edge {
	return graph.Edge{From: from, Type: typ, To: to}
}

// wantCode fails the test unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := graph.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

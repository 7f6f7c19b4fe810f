package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// RandomBatches returns n batches of a few random mutations over a small
// set of keys (some with the characters keys escape or keep: '%', '/',
// ':', '#', spaces, unicode), so that keys repeat often: props set and removed (nil),
// typed lists as the OpenLineage mapper writes them and values that only
// the general normalization path takes, facets replaced or repeated, and
// provenance with unknown (zero) times and offsets, explicit offsets, and
// times that move both ways, and group upserts (graph.Group) repeated
// among the single ones. Every edge's endpoints are upserted earlier in
// the sequence. Batch offsets run from 1 to n.
func RandomBatches(rng *rand.Rand, n int) []graph.Batch {
	keys := []string{"job:ns:a", "job:ns:b", "run:1", "run:2", "dataset:ns:x", "dataset:ns:y",
		"model:http://mlflow.example%3A5000/Risk Model/3", "field:s3://b:d/ç#ü %41/x"}
	labels := []graph.Label{graph.LabelJob, graph.LabelRun, graph.LabelDataset, graph.LabelModelVersion, graph.LabelField}
	types := []graph.EdgeType{graph.EdgeRunOf, graph.EdgeReadBy, graph.EdgeWrote, graph.EdgeRegisteredAs, graph.EdgeHasField, graph.EdgeDerives}
	values := []any{nil, "v", "Ünïcödé", int64(7), int(8), 2.5, 3.0, true, []string{"p", "q"}, []bool{true},
		[]int64{1, 2}, []any{"r"}, []float64{1.5, 2}, "bad\xffutf8"}
	facetTexts := []string{`{"a":1}`, `{"a":2,"n":null}`, `[1, 2]`, `"s"`}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var seen []string
	props := func() graph.Props {
		if rng.IntN(4) == 0 {
			return nil
		}
		p := graph.Props{}
		for _, k := range []string{"a", "b", "name", "c\xff"} {
			if rng.IntN(2) == 0 {
				p[k] = values[rng.IntN(len(values))]
			}
		}
		return p
	}
	facets := func() graph.Facets {
		if rng.IntN(2) == 0 {
			return nil
		}
		f := graph.Facets{}
		for _, name := range []string{"f1", "f2"} {
			if rng.IntN(2) == 0 {
				f[name] = []byte(facetTexts[rng.IntN(len(facetTexts))])
			}
		}
		return f
	}
	prov := func() graph.Provenance {
		var p graph.Provenance
		if rng.IntN(4) > 0 {
			p.FirstSeen = start.Add(time.Duration(rng.IntN(100)) * time.Second)
		}
		if rng.IntN(4) > 0 {
			p.LastSeen = start.Add(time.Duration(rng.IntN(100)) * time.Second)
		}
		if rng.IntN(3) == 0 {
			p.FirstOffset = int64(1 + rng.IntN(3*n))
			p.LastOffset = int64(1 + rng.IntN(3*n))
		}
		return p
	}
	// Groups, shared by the upserts that repeat them, as the OpenLineage
	// mapper shares a dataset's schema fields: nodes over the same keys as
	// the single upserts, and edges between the group's own nodes.
	groups := make([]*graph.Group, 3)
	for i := range groups {
		g := &graph.Group{}
		for range 1 + rng.IntN(3) {
			g.Nodes = append(g.Nodes, graph.Node{Key: keys[rng.IntN(len(keys))], Label: labels[rng.IntN(len(labels))], Props: props(), Facets: facets()})
		}
		for range rng.IntN(3) {
			g.Edges = append(g.Edges, graph.Edge{
				From: g.Nodes[rng.IntN(len(g.Nodes))].Key, Type: types[rng.IntN(len(types))], To: g.Nodes[rng.IntN(len(g.Nodes))].Key,
				Props: props(), Facets: facets(),
			})
		}
		groups[i] = g
	}
	batches := make([]graph.Batch, n)
	for i := range batches {
		b := graph.Batch{Offset: int64(i + 1)}
		for range 1 + rng.IntN(4) {
			if rng.IntN(5) == 0 {
				g := groups[rng.IntN(len(groups))]
				b.Mutations = append(b.Mutations, graph.GroupMutation(g, prov()))
				for _, n := range g.Nodes {
					seen = append(seen, n.Key)
				}
				continue
			}
			if len(seen) > 1 && rng.IntN(3) == 0 {
				b.Mutations = append(b.Mutations, graph.EdgeMutation(graph.Edge{
					From: seen[rng.IntN(len(seen))], Type: types[rng.IntN(len(types))], To: seen[rng.IntN(len(seen))],
					Props: props(), Facets: facets(), Provenance: prov(),
				}))
				continue
			}
			k := keys[rng.IntN(len(keys))]
			b.Mutations = append(b.Mutations, graph.NodeMutation(graph.Node{
				Key: k, Label: labels[rng.IntN(len(labels))], Props: props(), Facets: facets(), Provenance: prov(),
			}))
			seen = append(seen, k)
		}
		batches[i] = b
	}
	return batches
}

// A preparer plans an Apply before running it (both stores do; the
// pipeline plans the next call while the previous one is written).
type preparer interface {
	PrepareApply(batches ...graph.Batch) (func(context.Context) error, error)
}

// testCoalescedEqualsSequential checks, on random batches (RandomBatches),
// that however they are split into Apply calls the store ends the same as
// seen through its interface (ApplyEveryWay with Dump): every node's
// label, props, facets and provenance, every edge's, the counts, what
// searches on the folded name find, and the applied offset.
func testCoalescedEqualsSequential(t *testing.T, newStore NewStore) {
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 11))
		ApplyEveryWay(t, fmt.Sprintf("seed %d", seed), rng, newStore, RandomBatches(rng, 5+rng.IntN(30)), Dump)
	}
}

// ApplyEveryWay applies batches to fresh stores from newStore in every
// way the pipeline may split them into calls (one mutation per call, all
// in one call, calls cut at random points, and, for a store that plans
// ahead, calls all planned before any is written) and fails t, naming
// the case, where dump reads a store differently from the one mutation
// per call (a group upsert counting as its nodes and edges, each a
// mutation: graph.Expand). Within one call a store coalesces the mutations of each key;
// this holds it to applying them one by one in order: props overwritten
// key by key with nil removing, facets replaced by name, first seen and
// first offset the minimum, last seen and last offset the maximum, a
// node's label never changed.
//
// Each store is dumped before the next is made: a backend may have only
// one database to give a test (Neo4j Community).
func ApplyEveryWay[D any](t *testing.T, name string, rng *rand.Rand, newStore NewStore, batches []graph.Batch, dump func(*testing.T, graph.Store) D) {
	t.Helper()
	s := newStore(t)
	for _, b := range batches {
		for _, m := range graph.Expand(b.Mutations) {
			if err := s.Apply(t.Context(), graph.Batch{Offset: b.Offset, Mutations: []graph.Mutation{m}}); err != nil {
				t.Fatalf("%s: one mutation per call: %v", name, err)
			}
		}
	}
	want := dump(t, s)
	check := func(how string) {
		t.Helper()
		if diff := cmp.Diff(want, dump(t, s)); diff != "" {
			t.Fatalf("%s: %s differs from one mutation per call (-sequential +%s):\n%s", name, how, how, diff)
		}
	}

	s = newStore(t)
	if err := s.Apply(t.Context(), batches...); err != nil {
		t.Fatalf("%s: one call: %v", name, err)
	}
	check("one call")

	s = newStore(t)
	for _, part := range randomSplit(rng, batches) {
		if err := s.Apply(t.Context(), part...); err != nil {
			t.Fatalf("%s: split calls: %v", name, err)
		}
	}
	check("split calls")

	s = newStore(t)
	p, ok := s.(preparer)
	if !ok {
		return
	}
	var writes []func(context.Context) error
	for _, part := range randomSplit(rng, batches) {
		w, err := p.PrepareApply(part...)
		if err != nil {
			t.Fatalf("%s: prepare: %v", name, err)
		}
		writes = append(writes, w)
	}
	for _, w := range writes {
		if err := w(t.Context()); err != nil {
			t.Fatalf("%s: planned write: %v", name, err)
		}
	}
	check("calls planned ahead")
}

// randomSplit cuts batches into consecutive calls of random sizes.
func randomSplit(rng *rand.Rand, batches []graph.Batch) [][]graph.Batch {
	var parts [][]graph.Batch
	for rest := batches; len(rest) > 0; {
		n := 1 + rng.IntN(len(rest))
		parts = append(parts, rest[:n])
		rest = rest[n:]
	}
	return parts
}

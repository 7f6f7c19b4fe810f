package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

var (
	keyDS  = graph.DatasetKey("s3://lake", "orders")
	keyDV  = graph.DatasetVersionKey("s3://lake", "orders", "v7")
	keyJob = graph.JobKey("airflow", "etl.orders")
	keyRun = graph.RunKey("0d9c8a4e-5f1b-4c1e-9a53-2b7e5c1d0a11")
)

// testUpsert checks the merge rules of graph.Mutation, each case a
// sequence of Apply calls and the nodes and edges they must leave.
func testUpsert(t *testing.T, newStore NewStore) {
	dsAt := func(h int, p graph.Props) graph.Mutation { return nodeMut(keyDS, graph.LabelDataset, at(h), p) }
	withFacets := func(m graph.Mutation, f graph.Facets) graph.Mutation {
		if m.Kind == graph.UpsertNode {
			m.Node.Facets = f
		} else {
			m.Edge.Facets = f
		}
		return m
	}
	runEdge := func(h int, p graph.Props) graph.Mutation {
		m := edgeMut(keyRun, graph.EdgeRunOf, keyJob, at(h))
		m.Edge.Props = p
		return m
	}
	endpoints := []graph.Mutation{
		nodeMut(keyRun, graph.LabelRun, at(0), nil),
		nodeMut(keyJob, graph.LabelJob, at(0), nil),
	}
	prov := func(first, last int, firstOff, lastOff int64) graph.Provenance {
		return graph.Provenance{FirstSeen: at(first), LastSeen: at(last), FirstOffset: firstOff, LastOffset: lastOff}
	}

	cases := []struct {
		name     string
		calls    [][]graph.Batch // each is one Apply call
		wantNode *graph.Node     // the node keyDS must be, if set
		wantEdge *graph.Edge     // the edge keyRun -RUN_OF-> keyJob must be, if set
	}{{
		name:  "new node keeps what it was given",
		calls: [][]graph.Batch{{batch(1, withFacets(dsAt(0, graph.Props{"name": "orders", "rows": 10}), graph.Facets{"schema": raw(`{"fields":[]}`)}))}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"name": "orders", "rows": int64(10)},
			Facets: graph.Facets{"schema": raw(`{"fields":[]}`)}, Provenance: prov(0, 0, 1, 1)},
	}, {
		name: "same batch twice is the same as once",
		calls: [][]graph.Batch{
			{batch(1, dsAt(0, graph.Props{"a": 1}), dsAt(0, graph.Props{"a": nil, "b": 2}))},
			{batch(1, dsAt(0, graph.Props{"a": 1}), dsAt(0, graph.Props{"a": nil, "b": 2}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"b": int64(2)}, Provenance: prov(0, 0, 1, 1)},
	}, {
		name: "props merge key by key across batches",
		calls: [][]graph.Batch{
			{batch(1, dsAt(0, graph.Props{"a": 1, "b": "x"}))},
			{batch(2, dsAt(1, graph.Props{"b": "y", "c": true}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"a": int64(1), "b": "y", "c": true}, Provenance: prov(0, 1, 1, 2)},
	}, {
		name: "props merge in order within one call and one batch",
		calls: [][]graph.Batch{{
			batch(1, dsAt(0, graph.Props{"a": 1, "b": 1}), dsAt(0, graph.Props{"b": 2})),
			batch(2, dsAt(1, graph.Props{"b": 3, "c": 3})),
		}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"a": int64(1), "b": int64(3), "c": int64(3)}, Provenance: prov(0, 1, 1, 2)},
	}, {
		name: "nil removes a property",
		calls: [][]graph.Batch{
			{batch(1, dsAt(0, graph.Props{"a": 1, "b": "x"}))},
			{batch(2, dsAt(0, graph.Props{"a": nil}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"b": "x"}, Provenance: prov(0, 0, 1, 2)},
	}, {
		name:     "nil on a new node stores nothing",
		calls:    [][]graph.Batch{{batch(1, dsAt(0, graph.Props{"gone": nil, "kept": "k"}))}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"kept": "k"}, Provenance: prov(0, 0, 1, 1)},
	}, {
		name: "a list is replaced whole",
		calls: [][]graph.Batch{
			{batch(1, dsAt(0, graph.Props{"tags": []string{"a", "b", "c"}}))},
			{batch(2, dsAt(0, graph.Props{"tags": []string{"d"}}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"tags": []any{"d"}}, Provenance: prov(0, 0, 1, 2)},
	}, {
		name: "facets are replaced whole, not deep-merged, and kept verbatim",
		calls: [][]graph.Batch{
			{batch(1, withFacets(dsAt(0, nil), graph.Facets{
				"schema":        raw(`{"fields":[{"name":"id"}],"_producer":"p1"}`),
				"documentation": raw(`{"description":"d"}`),
			}))},
			{batch(2, withFacets(dsAt(0, nil), graph.Facets{
				"schema": raw(`{ "fields" : null,  "extra": [1, 2.50, "x"] }`),
			}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Facets: graph.Facets{
			"schema":        raw(`{ "fields" : null,  "extra": [1, 2.50, "x"] }`),
			"documentation": raw(`{"description":"d"}`),
		}, Provenance: prov(0, 0, 1, 2)},
	}, {
		name: "facets of any JSON kind",
		calls: [][]graph.Batch{{batch(1, withFacets(dsAt(0, nil), graph.Facets{
			"s": raw(`"text"`), "n": raw(`12.5`), "null": raw(`null`), "list": raw(`[{"a":null}]`), "uni": raw(`{"ключ":"値 🙂"}`),
		}))}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Facets: graph.Facets{
			"s": raw(`"text"`), "n": raw(`12.5`), "null": raw(`null`), "list": raw(`[{"a":null}]`), "uni": raw(`{"ключ":"値 🙂"}`),
		}, Provenance: prov(0, 0, 1, 1)},
	}, {
		name: "the label of an existing node never changes",
		calls: [][]graph.Batch{
			{batch(1, dsAt(0, graph.Props{"a": 1}))},
			{batch(2, nodeMut(keyDS, graph.LabelJob, at(0), graph.Props{"b": 2}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Props: graph.Props{"a": int64(1), "b": int64(2)}, Provenance: prov(0, 0, 1, 2)},
	}, {
		name: "first seen keeps the minimum and last seen the maximum",
		calls: [][]graph.Batch{
			{batch(1, dsAt(5, nil))},
			{batch(2, dsAt(2, nil))},
			{batch(3, dsAt(9, nil))},
			{batch(4, dsAt(4, nil))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Provenance: prov(2, 9, 1, 4)},
	}, {
		name: "offsets keep min and max whatever order batches come in",
		calls: [][]graph.Batch{
			{batch(7, dsAt(0, nil))},
			{batch(3, dsAt(0, nil)), batch(9, dsAt(0, nil))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Provenance: prov(0, 0, 3, 9)},
	}, {
		name: "offsets a mutation sets itself win over its batch's",
		calls: [][]graph.Batch{{batch(10, graph.NodeMutation(graph.Node{Key: keyDS, Label: graph.LabelDataset,
			Provenance: graph.Provenance{FirstSeen: at(1), LastSeen: at(2), FirstOffset: 4, LastOffset: 6}}))}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Provenance: prov(1, 2, 4, 6)},
	}, {
		name: "an unknown (zero) time does not move first or last seen",
		calls: [][]graph.Batch{
			{batch(1, dsAt(3, nil))},
			{batch(2, graph.NodeMutation(graph.Node{Key: keyDS, Label: graph.LabelDataset}))},
		},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Provenance: prov(3, 3, 1, 2)},
	}, {
		name: "nanoseconds survive",
		calls: [][]graph.Batch{{batch(1, graph.NodeMutation(graph.Node{Key: keyDS, Label: graph.LabelDataset,
			Provenance: graph.Provenance{FirstSeen: at(0).Add(123456789), LastSeen: at(1).Add(1)}}))}},
		wantNode: &graph.Node{Key: keyDS, Label: graph.LabelDataset, Provenance: graph.Provenance{
			FirstSeen: at(0).Add(123456789), LastSeen: at(1).Add(1), FirstOffset: 1, LastOffset: 1}},
	}, {
		name: "edge props and facets merge like a node's",
		calls: [][]graph.Batch{
			{batch(1, append(endpoints, withFacets(runEdge(3, graph.Props{"a": 1, "b": 1}), graph.Facets{"f": raw(`{"x":1}`), "g": raw(`{}`)}))...)},
			{batch(2, withFacets(runEdge(1, graph.Props{"b": nil, "c": "z"}), graph.Facets{"f": raw(`{"y":2}`)}))},
			{batch(2, withFacets(runEdge(1, graph.Props{"b": nil, "c": "z"}), graph.Facets{"f": raw(`{"y":2}`)}))},
		},
		wantEdge: &graph.Edge{From: keyRun, Type: graph.EdgeRunOf, To: keyJob, Props: graph.Props{"a": int64(1), "c": "z"},
			Facets: graph.Facets{"f": raw(`{"y":2}`), "g": raw(`{}`)}, Provenance: prov(1, 3, 1, 2)},
	}, {
		name: "an edge upserted twice in one batch is one edge",
		calls: [][]graph.Batch{
			{batch(5, append(endpoints, runEdge(2, graph.Props{"n": 1}), runEdge(4, graph.Props{"n": 2}))...)},
		},
		wantEdge: &graph.Edge{From: keyRun, Type: graph.EdgeRunOf, To: keyJob, Props: graph.Props{"n": int64(2)}, Provenance: prov(2, 4, 5, 5)},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			for _, call := range tc.calls {
				apply(t, s, call...)
			}
			if tc.wantNode != nil {
				got := mustNode(t, s, tc.wantNode.Key)
				if d := cmp.Diff(*tc.wantNode, got, diffOpts); d != "" {
					t.Errorf("node (-want +got):\n%s", d)
				}
			}
			if tc.wantEdge != nil {
				got, ok := findEdge(t, s, keyRun, graph.EdgeRunOf, keyJob)
				if !ok {
					t.Fatalf("edge %s missing", tc.wantEdge.ID())
				}
				if d := cmp.Diff(*tc.wantEdge, got, diffOpts); d != "" {
					t.Errorf("edge (-want +got):\n%s", d)
				}
			}
			c, err := s.Counts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var nodes, edges int64
			for _, n := range c.Nodes {
				nodes += n
			}
			for _, n := range c.Edges {
				edges += n
			}
			wantNodes, wantEdges := int64(1), int64(0)
			if tc.wantEdge != nil {
				wantNodes, wantEdges = 2, 1
			}
			if nodes != wantNodes || edges != wantEdges {
				t.Errorf("counts = %d nodes, %d edges; want %d, %d (an upsert must never duplicate)", nodes, edges, wantNodes, wantEdges)
			}
		})
	}
}

// testValueTypes checks that property values of every allowed Go type read
// back in their normalized form (graph.NormalizeProps).
func testValueTypes(t *testing.T, newStore NewStore) {
	in := graph.Props{
		"int":        7,
		"int8":       int8(-8),
		"uint32":     uint32(32),
		"int64max":   int64(math.MaxInt64),
		"int64min":   int64(math.MinInt64),
		"float":      2.5,
		"floatInt":   3.0,
		"float32":    float32(0.5),
		"negZero":    math.Copysign(0, -1),
		"tiny":       1e-300,
		"huge":       1e300,
		"bigUint":    uint64(math.MaxUint64),
		"true":       true,
		"false":      false,
		"empty":      "",
		"text":       `quote " backslash \ newline` + "\n tab\t <html>&",
		"unicode":    "Пользователи 数据 🙂 ñ",
		"strings":    []string{"a", "b"},
		"ints":       []int{1, 2, 3},
		"mixedNums":  []any{1, 2.5},
		"floatList":  []float64{1, 2},
		"bools":      []bool{true, false},
		"emptyList":  []string{},
		"anyStrings": []any{"x", "y"},
	}
	want := graph.Props{
		"int": int64(7), "int8": int64(-8), "uint32": int64(32),
		"int64max": int64(math.MaxInt64), "int64min": int64(math.MinInt64),
		"float": 2.5, "floatInt": int64(3), "float32": 0.5, "negZero": int64(0),
		"tiny": 1e-300, "huge": 1e300, "bigUint": float64(math.MaxUint64),
		"true": true, "false": false, "empty": "",
		"text":    `quote " backslash \ newline` + "\n tab\t <html>&",
		"unicode": "Пользователи 数据 🙂 ñ",
		"strings": []any{"a", "b"}, "ints": []any{int64(1), int64(2), int64(3)},
		"mixedNums": []any{1.0, 2.5}, "floatList": []any{int64(1), int64(2)},
		"bools": []any{true, false}, "emptyList": []any{}, "anyStrings": []any{"x", "y"},
	}
	if d := cmp.Diff(want, props(t, in)); d != "" {
		t.Fatalf("NormalizeProps (-want +got):\n%s", d)
	}
	s := newStore(t)
	apply(t, s, batch(1, nodeMut(keyDS, graph.LabelDataset, at(0), in)))
	got := mustNode(t, s, keyDS)
	if d := cmp.Diff(want, got.Props); d != "" {
		t.Errorf("props read back (-want +got):\n%s", d)
	}
	// Reading back the normalized form and writing it again is a no-op:
	// what a store returns is always valid input.
	apply(t, s, batch(2, nodeMut(keyDS, graph.LabelDataset, at(0), got.Props)))
	if d := cmp.Diff(want, mustNode(t, s, keyDS).Props); d != "" {
		t.Errorf("props after writing them back (-want +got):\n%s", d)
	}
}

// testInvalid checks that a bad mutation is an EINVALID error and that the
// Apply call it is in changes nothing at all, not even the applied offset.
func testInvalid(t *testing.T, newStore NewStore) {
	ok := []graph.Mutation{
		nodeMut(keyRun, graph.LabelRun, at(1), graph.Props{"state": "new"}),
		nodeMut(keyJob, graph.LabelJob, at(1), nil),
		edgeMut(keyRun, graph.EdgeRunOf, keyJob, at(1)),
	}
	missing := graph.DatasetKey("s3://lake", "never-upserted")
	cases := []struct {
		name    string
		batches []graph.Batch
		mention string // the error must name this (a key, a type, a field)
	}{
		{"empty node key", []graph.Batch{batch(5, nodeMut("", graph.LabelDataset, at(0), nil))}, "key"},
		{"unknown label", []graph.Batch{batch(5, nodeMut(keyDS, "Table", at(0), nil))}, "Table"},
		{"empty label", []graph.Batch{batch(5, nodeMut(keyDS, "", at(0), nil))}, "label"},
		{"unknown edge type", []graph.Batch{batch(5, edgeMut(keyDV, "FEEDS", keyRun, at(0)))}, "FEEDS"},
		{"empty edge endpoint", []graph.Batch{batch(5, edgeMut("", graph.EdgeReadBy, keyRun, at(0)))}, "key"},
		{"unknown mutation kind", []graph.Batch{batch(5, graph.Mutation{Kind: 99})}, "kind"},
		{"map property", []graph.Batch{batch(5, nodeMut(keyDS, graph.LabelDataset, at(0), graph.Props{"nested": map[string]any{"a": 1}}))}, "nested"},
		{"list of lists", []graph.Batch{batch(5, nodeMut(keyDS, graph.LabelDataset, at(0), graph.Props{"ll": [][]int{{1}}}))}, "ll"},
		{"list of mixed types", []graph.Batch{batch(5, nodeMut(keyDS, graph.LabelDataset, at(0), graph.Props{"mix": []any{"a", 1}}))}, "mix"},
		{"NaN", []graph.Batch{batch(5, nodeMut(keyDS, graph.LabelDataset, at(0), graph.Props{"nan": math.NaN()}))}, "nan"},
		{"facet that is not JSON", []graph.Batch{batch(5, graph.NodeMutation(graph.Node{Key: keyDS, Label: graph.LabelDataset, Facets: graph.Facets{"bad": raw(`{"a":`)}}))}, "bad"},
		{"edge to a node that does not exist", []graph.Batch{batch(5, edgeMut(keyRun, graph.EdgeWrote, missing, at(0)))}, missing},
		{"edge from a node that does not exist", []graph.Batch{batch(5, edgeMut(missing, graph.EdgeReadBy, keyRun, at(0)))}, missing},
		{"edge before its node in the batch", []graph.Batch{batch(5,
			edgeMut(keyRun, graph.EdgeWrote, keyDV, at(0)),
			nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil),
		)}, keyDV},
		{"edge in an earlier batch than its node", []graph.Batch{
			batch(5, edgeMut(keyRun, graph.EdgeWrote, keyDV, at(0))),
			batch(6, nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil)),
		}, keyDV},
		{"good mutations before a bad edge", []graph.Batch{
			batch(5, nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil), nodeMut(keyRun, graph.LabelRun, at(0), graph.Props{"state": "changed"})),
			batch(6, edgeMut(keyRun, graph.EdgeWrote, keyDV, at(0)), edgeMut(keyDV, graph.EdgeVersionOf, missing, at(0))),
		}, missing},
		{"group upsert without a group", []graph.Batch{batch(5, graph.Mutation{Kind: graph.UpsertGroup})}, "group"},
		{"group node with an unknown label", []graph.Batch{batch(5, graph.GroupMutation(&graph.Group{
			Nodes: []graph.Node{{Key: keyDS, Label: graph.LabelDataset}, {Key: keyDV, Label: "Snapshot"}},
		}, seenAt(at(0))))}, "mutations[0].group.nodes[1].label"},
		{"group edge to a node that does not exist", []graph.Batch{batch(5, graph.GroupMutation(&graph.Group{
			Nodes: []graph.Node{{Key: keyDV, Label: graph.LabelDatasetVersion}},
			Edges: []graph.Edge{{From: keyDV, Type: graph.EdgeVersionOf, To: missing}},
		}, seenAt(at(0))))}, missing},
		{"good mutations before a bad label", []graph.Batch{
			batch(5, nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil)),
			batch(6, nodeMut(keyDS, "Nope", at(0), nil)),
		}, "Nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			apply(t, s, batch(1, ok...))
			before := snapshot(t, s, keyRun, keyJob, keyDV, keyDS, missing)

			err := s.Apply(t.Context(), tc.batches...)
			wantCode(t, err, graph.EINVALID)
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			if d := cmp.Diff(before, snapshot(t, s, keyRun, keyJob, keyDV, keyDS, missing), diffOpts); d != "" {
				t.Errorf("a failed Apply changed the store (-before +after):\n%s", d)
			}
		})
	}

	t.Run("edge whose endpoints come earlier in the batch", func(t *testing.T) {
		s := newStore(t)
		apply(t, s, batch(1,
			nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil),
			nodeMut(keyRun, graph.LabelRun, at(0), nil),
			edgeMut(keyDV, graph.EdgeReadBy, keyRun, at(0)),
		))
		if _, ok := findEdge(t, s, keyDV, graph.EdgeReadBy, keyRun); !ok {
			t.Error("edge missing")
		}
	})
	t.Run("edge whose endpoint comes in an earlier batch of the call", func(t *testing.T) {
		s := newStore(t)
		apply(t, s,
			batch(1, nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil), nodeMut(keyRun, graph.LabelRun, at(0), nil)),
			batch(2, edgeMut(keyDV, graph.EdgeReadBy, keyRun, at(0))),
		)
		if _, ok := findEdge(t, s, keyDV, graph.EdgeReadBy, keyRun); !ok {
			t.Error("edge missing")
		}
	})
}

// storeSnapshot is what a failed Apply must leave untouched.
type storeSnapshot struct {
	Nodes   []graph.Node
	Edges   []graph.Edge
	Counts  graph.Counts
	Applied int64
}

// snapshot reads the nodes with keys (those that exist), every edge around
// them, the counts and the applied offset.
func snapshot(t *testing.T, s graph.Store, keys ...string) storeSnapshot {
	t.Helper()
	var snap storeSnapshot
	var err error
	if snap.Nodes, err = s.Nodes(t.Context(), keys...); err != nil {
		t.Fatal(err)
	}
	if len(snap.Nodes) > 0 {
		sg := traverse(t, s, graph.Traversal{Start: nodeKeys(snap.Nodes), Direction: graph.Both, Depth: 1})
		snap.Edges = sg.Edges
	}
	if snap.Counts, err = s.Counts(t.Context()); err != nil {
		t.Fatal(err)
	}
	if snap.Applied, err = s.AppliedOffset(t.Context()); err != nil {
		t.Fatal(err)
	}
	return snap
}

// testAppliedOffset checks that the applied offset is the highest batch
// offset ever applied, never goes back, and moves with its mutations only.
func testAppliedOffset(t *testing.T, newStore NewStore) {
	s := newStore(t)
	steps := []struct {
		batches []graph.Batch
		fails   bool
		want    int64
	}{
		{nil, false, 0},
		{[]graph.Batch{batch(3, nodeMut(keyDS, graph.LabelDataset, at(0), nil))}, false, 3},
		{[]graph.Batch{batch(5, nodeMut(keyJob, graph.LabelJob, at(0), nil)), batch(4)}, false, 5},
		{[]graph.Batch{batch(2, nodeMut(keyRun, graph.LabelRun, at(0), nil))}, false, 5},
		{[]graph.Batch{batch(8)}, false, 8}, // a record that projects to nothing still counts as applied
		{[]graph.Batch{batch(9, edgeMut(keyRun, graph.EdgeRunOf, graph.JobKey("x", "missing"), at(0)))}, true, 8},
		{[]graph.Batch{batch(12, nodeMut(keyDV, graph.LabelDatasetVersion, at(0), nil)), batch(10)}, false, 12},
	}
	for i, st := range steps {
		err := s.Apply(t.Context(), st.batches...)
		if (err != nil) != st.fails {
			t.Fatalf("step %d: Apply error = %v, want failure %v", i, err, st.fails)
		}
		got, err := s.AppliedOffset(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != st.want {
			t.Errorf("step %d: AppliedOffset = %d, want %d", i, got, st.want)
		}
	}
	if got := mustNode(t, s, keyRun); got.FirstOffset != 2 || got.LastOffset != 2 {
		t.Errorf("a batch older than the applied offset must still apply: %s has offsets %d..%d, want 2..2", keyRun, got.FirstOffset, got.LastOffset)
	}
}

// chain returns the keys of n Field nodes f0 … f(n-1) of one dataset.
func chain(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = graph.FieldKey("warehouse://dw", "facts", fmt.Sprintf("f%03d", i))
	}
	return keys
}

// testRollbackForgets checks that a node upserted by an Apply call that
// failed is not there for a later call: an edge to it must still be
// refused, and upserting it again must count it once. (A store that caches
// what it wrote must drop what a rollback undid.)
func testRollbackForgets(t *testing.T, newStore NewStore) {
	s := newStore(t)
	apply(t, s, batch(1, nodeMut(keyRun, graph.LabelRun, at(0), nil)))
	missing := graph.JobKey("airflow", "never")
	err := s.Apply(t.Context(), batch(2,
		nodeMut(keyDV, graph.LabelDatasetVersion, at(0), graph.Props{"rows": 1}),
		edgeMut(keyRun, graph.EdgeWrote, keyDV, at(0)),
		edgeMut(keyRun, graph.EdgeRunOf, missing, at(0)),
	))
	wantCode(t, err, graph.EINVALID)

	err = s.Apply(t.Context(), batch(3, edgeMut(keyRun, graph.EdgeWrote, keyDV, at(0))))
	wantCode(t, err, graph.EINVALID)
	if !strings.Contains(err.Error(), keyDV) {
		t.Errorf("error %q does not name the node the failed call had upserted, %q", err, keyDV)
	}
	if got, err := s.Nodes(t.Context(), keyDV); err != nil || len(got) != 0 {
		t.Fatalf("Nodes(%q) = %v, %v; want none", keyDV, got, err)
	}

	apply(t, s, batch(4, nodeMut(keyDV, graph.LabelDatasetVersion, at(1), nil), edgeMut(keyRun, graph.EdgeWrote, keyDV, at(1))))
	apply(t, s, batch(5, edgeMut(keyRun, graph.EdgeWrote, keyDV, at(2))))
	c, err := s.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := graph.Counts{
		Nodes: map[graph.Label]int64{graph.LabelRun: 1, graph.LabelDatasetVersion: 1},
		Edges: map[graph.EdgeType]int64{graph.EdgeWrote: 1},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if got := mustNode(t, s, keyDV); got.FirstOffset != 4 || len(got.Props) != 0 {
		t.Errorf("node %q = %+v; want it as the successful call made it (offset 4, no props)", keyDV, got)
	}
	if e, ok := findEdge(t, s, keyRun, graph.EdgeWrote, keyDV); !ok || e.FirstOffset != 4 || e.LastOffset != 5 {
		t.Errorf("edge = %+v, %v; want offsets 4..5", e, ok)
	}
}

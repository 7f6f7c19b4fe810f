package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// TestContentSumsSkipOnlyRepeats follows the content sums through what
// could make a skipped merge wrong: content repeated, changed, changed
// back, removed by a null, and a changed content that rolled back. After
// every call the store must hold exactly what a store that never knows a
// sum (and so merges every time) holds.
func TestContentSumsSkipOnlyRepeats(t *testing.T) {
	facets := func(v string) graph.Facets {
		if v == "" {
			return nil
		}
		return graph.Facets{"quality": json.RawMessage(`{"grade":"` + v + `"}`)}
	}
	upsert := func(props graph.Props, facet string) []graph.Mutation {
		return []graph.Mutation{
			graph.NodeMutation(graph.Node{Key: "field:a", Label: graph.LabelField, Props: props, Facets: facets(facet)}),
			graph.NodeMutation(graph.Node{Key: "field:b", Label: graph.LabelField}),
			graph.EdgeMutation(graph.Edge{From: "field:a", Type: graph.EdgeDerives, To: "field:b", Props: props, Facets: facets(facet)}),
		}
	}
	a := upsert(graph.Props{"type": "int", "note": "x"}, "A")
	b := upsert(graph.Props{"type": "long"}, "A")
	c := upsert(graph.Props{"type": "long"}, "C")
	removal := upsert(graph.Props{"note": nil}, "")
	broken := append(upsert(graph.Props{"type": "text"}, "B"),
		graph.EdgeMutation(graph.Edge{From: "field:b", Type: graph.EdgeDerives, To: "field:missing"}))

	s, plain := openTestStore(t), openTestStore(t)
	sumOf := func() (node, edge contentSum) {
		t.Helper()
		n, ok := s.ids.get("field:a")
		if !ok {
			t.Fatal("field:a is not cached")
		}
		b, _ := s.ids.get("field:b")
		e, ok := s.edges.get(edgeRow{from: n.id, to: b.id, typ: string(graph.EdgeDerives)})
		if !ok {
			t.Fatal("the DERIVES edge is not cached")
		}
		return n.sum, e
	}

	var offset int64
	for i, call := range []struct {
		name      string
		mutations []graph.Mutation
		fails     bool
	}{
		{"first", a, false},
		{"repeated", a, false},
		{"changed", b, false},
		{"changed back", a, false},
		{"repeated again", a, false},
		{"a change that rolls back", broken, true},
		{"the rolled-back content, for real", upsert(graph.Props{"type": "text"}, "B"), false},
		{"a facet changed alone", c, false},
		{"a null removing a prop", removal, false},
		{"the null again", removal, false},
		{"changed back once more", a, false},
	} {
		offset++
		cached, _ := s.ids.get("field:a")
		before := cached.sum
		// The plain store forgets every sum before each call, so it
		// merges everything it is given.
		plain.ids, plain.edges = newNodeIDCache(nodeIDCacheSize), newEdgeCache(edgeCacheSize)
		for _, st := range []*Store{s, plain} {
			err := st.Apply(t.Context(), graph.Batch{Offset: offset, Mutations: call.mutations})
			if call.fails != (err != nil) {
				t.Fatalf("call %d (%s): error %v, want failure %v", i, call.name, err, call.fails)
			}
		}
		if diff := cmp.Diff(readRows(t, plain), readRows(t, s)); diff != "" {
			t.Fatalf("call %d (%s): (-merging every time +with sums)\n%s", i, call.name, diff)
		}
		node, edge := sumOf()
		if node == (contentSum{}) || edge == (contentSum{}) {
			t.Fatalf("call %d (%s): sums not recorded: node %v, edge %v", i, call.name, node, edge)
		}
		if call.fails && node != before {
			t.Fatalf("call %d (%s): a rolled-back Apply changed the cached sum", i, call.name)
		}
	}
}

// TestSumContent checks that the sum tells apart what the statements
// would write differently, including where props end and facets begin.
func TestSumContent(t *testing.T) {
	base := sumContent(`{"a":1}`, `{"f":{}}`)
	if base == (contentSum{}) {
		t.Fatal("a sum is zero, which stands for unknown")
	}
	if again := sumContent(`{"a":1}`, `{"f":{}}`); again != base {
		t.Fatalf("equal content, different sums: %v, %v", base, again)
	}
	for _, other := range [][2]string{
		{`{"a":2}`, `{"f":{}}`},
		{`{"a":1}`, `{"g":{}}`},
		{`{"a":1}{"f":{}}`, ``},
		{``, `{"a":1}{"f":{}}`},
		{`{}`, `{}`},
	} {
		if got := sumContent(other[0], other[1]); got == base {
			t.Errorf("sumContent(%q, %q) equals the sum of other content", other[0], other[1])
		}
	}
}

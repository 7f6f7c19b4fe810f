package sqlite

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// TestEdgeCache follows the edge cache through what could make it wrong:
// an edge upserted again skips its insert and still merges; an Apply that
// rolls back leaves no entry behind; and an entry for an edge that is not
// there (which nothing makes today) still ends with the edge inserted and
// counted once. The store ends as one fed the same calls without the
// planted entry.
func TestEdgeCache(t *testing.T) {
	node := func(key string, l graph.Label) graph.Mutation {
		return graph.NodeMutation(graph.Node{Key: key, Label: l})
	}
	edge := func(from string, typ graph.EdgeType, to string, props graph.Props) graph.Mutation {
		return graph.EdgeMutation(graph.Edge{From: from, Type: typ, To: to, Props: props})
	}
	calls := [][]graph.Mutation{
		{node("job:ns:a", graph.LabelJob), node("run:1", graph.LabelRun), node("run:2", graph.LabelRun),
			edge("run:1", graph.EdgeRunOf, "job:ns:a", graph.Props{"p": "1"})},
		{edge("run:1", graph.EdgeRunOf, "job:ns:a", graph.Props{"q": "2"})},
		{edge("job:ns:a", graph.EdgeRunOf, "run:2", nil)},
	}
	s, plain := openTestStore(t), openTestStore(t)
	row := func(from string, typ graph.EdgeType, to string) edgeRow {
		t.Helper()
		a, okA := s.ids.get(from)
		b, okB := s.ids.get(to)
		if !okA || !okB {
			t.Fatalf("ids of %s and %s not cached", from, to)
		}
		return edgeRow{from: a.id, to: b.id, typ: string(typ)}
	}
	apply := func(i int) {
		t.Helper()
		for _, st := range []*Store{s, plain} {
			if err := st.Apply(t.Context(), graph.Batch{Offset: int64(i + 1), Mutations: calls[i]}); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
	}

	apply(0)
	if _, ok := s.edges.get(row("run:1", graph.EdgeRunOf, "job:ns:a")); !ok {
		t.Fatal("a committed edge is not cached")
	}
	apply(1)

	err := s.Apply(t.Context(), graph.Batch{Offset: 9, Mutations: []graph.Mutation{
		edge("run:2", graph.EdgeRunOf, "job:ns:a", nil),
		edge("run:2", graph.EdgeReadBy, "dataset:ns:missing", nil),
	}})
	if graph.ErrorCode(err) != graph.EINVALID {
		t.Fatalf("an edge to a missing node: got %v, want EINVALID", err)
	}
	if _, ok := s.edges.get(row("run:2", graph.EdgeRunOf, "job:ns:a")); ok {
		t.Fatal("an edge of a rolled-back Apply is cached")
	}

	s.edges.put(row("job:ns:a", graph.EdgeRunOf, "run:2"), contentSum{})
	apply(2)

	got, want := readRows(t, s), readRows(t, plain)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-without the planted entry +with it)\n%s", diff)
	}
	if len(got.Edges) != 2 || !strings.Contains(got.Edges[1], "map[p:1 q:2]") ||
		!cmp.Equal(got.Counts, []string{"[edge RUN_OF 2]", "[node Job 1]", "[node Run 2]"}) {
		t.Fatalf("edges %q, counts %q", got.Edges, got.Counts)
	}
}

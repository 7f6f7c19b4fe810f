package sqlite

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/storetest"
)

// storeRows is everything a store holds, read straight from its tables.
type storeRows struct {
	Nodes, Edges, Counts []string
	Applied              int64
}

func readRows(t *testing.T, s *Store) storeRows {
	t.Helper()
	var out storeRows
	for _, q := range []struct {
		dst *[]string
		sql string
	}{
		{&out.Nodes, `SELECT key, label, props, facets, key_fold, name_fold, first_seen, last_seen, first_offset, last_offset
			FROM nodes ORDER BY key`},
		{&out.Edges, `SELECT a.key, e.type, b.key, e.props, e.facets, e.first_seen, e.last_seen, e.first_offset, e.last_offset
			FROM edges e JOIN nodes a ON a.id = e.from_id JOIN nodes b ON b.id = e.to_id ORDER BY 1, 2, 3`},
		{&out.Counts, `SELECT 'node', label, n FROM node_counts UNION ALL SELECT 'edge', type, n FROM edge_counts ORDER BY 1, 2`},
	} {
		rows, err := s.db.r.QueryContext(t.Context(), q.sql)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			// Props and facets compare decoded: json_patch appends new
			// members where a fresh encoding sorts them.
			for i, c := range cols {
				var err error
				switch c {
				case "props":
					vals[i], err = decodeProps(fmt.Sprint(vals[i]))
				case "facets":
					vals[i], err = decodeFacets(fmt.Sprint(vals[i]))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			*q.dst = append(*q.dst, fmt.Sprintf("%v", vals))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	off, err := s.AppliedOffset(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out.Applied = off
	return out
}

// TestCoalescedApplyEqualsSequential holds the store's coalescing to the
// rules of applying every mutation on its own (storetest.ApplyEveryWay),
// reading its tables rather than its interface: the folded key and name
// and the count tables too.
func TestCoalescedApplyEqualsSequential(t *testing.T) {
	newStore := func(t *testing.T) graph.Store { return openTestStore(t) }
	rows := func(t *testing.T, s graph.Store) storeRows { return readRows(t, s.(*Store)) }
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		storetest.ApplyEveryWay(t, fmt.Sprintf("seed %d", seed), rng, newStore, storetest.RandomBatches(rng, 5+rng.IntN(40)), rows)
	}
}

// TestCanonicalPropsEncodeAsNormalized checks the shortcut of
// graph.NormalizePropsShared: props it keeps as they are encode exactly as their
// graph.NormalizeProps form does, and props it does not keep are those
// the general path changes.
func TestCanonicalPropsEncodeAsNormalized(t *testing.T) {
	for _, p := range []graph.Props{
		{},
		{"s": "x", "n": int64(3), "b": false, "gone": nil},
		{"f": 2.5, "big": 1e300, "neg": -0.125},
		{"list": []string{"a", "é"}, "bools": []bool{true, false}, "ints": []int64{-1, 2}, "empty": []string{}},
		{"any": []any{"a", "b"}},
		{"name": "Name With Caps"},
		// Values the general path rewrites.
		{"i": 3},
		{"f": 3.0},
		{"u": uint8(1)},
		{"l": []any{int64(1), 2.5}},
		{"l": []float64{1, 2}},
		{"bad": "x\xff"},
		{"k\xff": "v"},
		{"l": []string{"ok", "\xfe"}},
	} {
		norm, err := graph.NormalizeProps(p)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		got, owned, err := graph.NormalizePropsShared(p)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		wantPatch, wantInsert, err := encodeProps(norm)
		if err != nil {
			t.Fatal(err)
		}
		gotPatch, gotInsert, err := encodeProps(got)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if gotPatch != wantPatch || gotInsert != wantInsert {
			t.Errorf("%#v (owned %v): encodes as %s / %s, want %s / %s", p, owned, gotPatch, gotInsert, wantPatch, wantInsert)
		}
	}
	for _, p := range []graph.Props{{"nan": []any{1.5, "x"}}, {"m": map[string]any{}}} {
		if _, _, err := graph.NormalizePropsShared(p); err == nil {
			t.Errorf("%v: want an error", p)
		}
	}
}

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "graph.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPrepareApplyRefusesBeforeWriting checks that PrepareApply reports
// invalid mutations itself, naming the field, and that an edge whose
// endpoint is missing is found by the write, which then changes nothing.
func TestPrepareApplyRefusesBeforeWriting(t *testing.T) {
	s := openTestStore(t)
	bad := graph.Batch{Offset: 1, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: "job:ns:a", Label: graph.LabelJob}),
		graph.NodeMutation(graph.Node{Key: "job:ns:b", Label: "Nope"}),
	}}
	if w, err := s.PrepareApply(bad); err == nil || w != nil || graph.ErrorCode(err) != graph.EINVALID ||
		graph.ErrorField(err) != "batches[0].mutations[1].node.label" {
		t.Fatalf("PrepareApply(unknown label) = %v, %v; want EINVALID at batches[0].mutations[1].node.label", w != nil, err)
	}
	dangling := graph.Batch{Offset: 2, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: "job:ns:a", Label: graph.LabelJob}),
		graph.EdgeMutation(graph.Edge{From: "run:1", Type: graph.EdgeRunOf, To: "job:ns:a"}),
	}}
	w, err := s.PrepareApply(dangling)
	if err != nil {
		t.Fatalf("PrepareApply(dangling edge) = %v; the plan cannot know the store", err)
	}
	if err := w(t.Context()); graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != "batches[0].mutations[1].edge.from" {
		t.Fatalf("write(dangling edge) = %v; want EINVALID at batches[0].mutations[1].edge.from", err)
	}
	if rows := readRows(t, s); rows.Applied != 0 || len(rows.Nodes) != 0 {
		t.Errorf("a refused write left %d nodes and applied offset %d", len(rows.Nodes), rows.Applied)
	}
}

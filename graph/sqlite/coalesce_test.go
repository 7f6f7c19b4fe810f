package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// randomBatches returns n batches of a few random mutations over a small
// set of keys, so that keys repeat often: props set and removed (nil),
// typed lists as the OpenLineage mapper writes them and values that only
// the general normalization path takes, facets replaced or repeated, and
// provenance with unknown (zero) times and offsets, explicit offsets, and
// times that move both ways. Every edge's endpoints are upserted earlier
// in the sequence.
func randomBatches(rng *rand.Rand, n int) []graph.Batch {
	keys := []string{"job:ns:a", "job:ns:b", "run:1", "run:2", "dataset:ns:x", "dataset:ns:y"}
	labels := []graph.Label{graph.LabelJob, graph.LabelRun, graph.LabelDataset}
	types := []graph.EdgeType{graph.EdgeRunOf, graph.EdgeReadBy, graph.EdgeWrote}
	values := []any{nil, "v", "Ünïcödé", int64(7), int(8), 2.5, 3.0, true, []string{"p", "q"}, []bool{true},
		[]int64{1, 2}, []any{"r"}, []float64{1.5, 2}, "bad\xffutf8"}
	facetTexts := []string{`{"a":1}`, `{"a":2,"n":null}`, `[1, 2]`, `"s"`}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
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
			p.FirstSeen = t0.Add(time.Duration(rng.IntN(100)) * time.Second)
		}
		if rng.IntN(4) > 0 {
			p.LastSeen = t0.Add(time.Duration(rng.IntN(100)) * time.Second)
		}
		if rng.IntN(3) == 0 {
			p.FirstOffset = int64(1 + rng.IntN(3*n))
			p.LastOffset = int64(1 + rng.IntN(3*n))
		}
		return p
	}
	batches := make([]graph.Batch, n)
	for i := range batches {
		b := graph.Batch{Offset: int64(i + 1)}
		for range 1 + rng.IntN(4) {
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

// TestCoalescedApplyEqualsSequential checks that Apply, which coalesces
// the mutations of one key across a call, leaves exactly the rows that
// applying every mutation on its own, in log order, leaves: props
// overwritten key by key with nil removing, facets replaced by name,
// first seen and first offset the minimum, last seen and last offset the
// maximum, labels never changed, counts and the applied offset.
func TestCoalescedApplyEqualsSequential(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		batches := randomBatches(rng, 5+rng.IntN(40))

		whole := openTestStore(t)
		if err := whole.Apply(t.Context(), batches...); err != nil {
			t.Fatalf("seed %d: one call: %v", seed, err)
		}
		oneByOne := openTestStore(t)
		for _, b := range batches {
			for _, m := range b.Mutations {
				if err := oneByOne.Apply(t.Context(), graph.Batch{Offset: b.Offset, Mutations: []graph.Mutation{m}}); err != nil {
					t.Fatalf("seed %d: one mutation per call: %v", seed, err)
				}
			}
		}
		// Calls split at random points coalesce across part of the
		// sequence only, and resolve ids from the cache across calls.
		split := openTestStore(t)
		for rest := batches; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			if err := split.Apply(t.Context(), rest[:n]...); err != nil {
				t.Fatalf("seed %d: split calls: %v", seed, err)
			}
			rest = rest[n:]
		}
		// The pipeline plans a call before the previous one is written:
		// plans read nothing from the database, so planning every call
		// first and writing them in order must end the same.
		planned := openTestStore(t)
		var writes []func(context.Context) error
		for rest := batches; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			w, err := planned.PrepareApply(rest[:n]...)
			if err != nil {
				t.Fatalf("seed %d: prepare: %v", seed, err)
			}
			writes = append(writes, w)
			rest = rest[n:]
		}
		for _, w := range writes {
			if err := w(t.Context()); err != nil {
				t.Fatalf("seed %d: planned write: %v", seed, err)
			}
		}
		want := readRows(t, oneByOne)
		if diff := cmp.Diff(want, readRows(t, planned)); diff != "" {
			t.Fatalf("seed %d: calls planned ahead differ from one mutation per call (-sequential +planned):\n%s", seed, diff)
		}
		if diff := cmp.Diff(want, readRows(t, whole)); diff != "" {
			t.Fatalf("seed %d: one call differs from one mutation per call (-sequential +coalesced):\n%s", seed, diff)
		}
		if diff := cmp.Diff(want, readRows(t, split)); diff != "" {
			t.Fatalf("seed %d: split calls differ from one mutation per call (-sequential +coalesced):\n%s", seed, diff)
		}
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

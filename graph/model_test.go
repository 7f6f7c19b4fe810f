package graph

import (
	"math"
	"testing"
	"time"
)

func TestProvenanceMerge(t *testing.T) {
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	p := Provenance{}
	p.Merge(Provenance{FirstSeen: t2, LastSeen: t2, FirstOffset: 5, LastOffset: 5})
	p.Merge(Provenance{FirstSeen: t1, LastSeen: t1, FirstOffset: 3, LastOffset: 3})
	p.Merge(Provenance{}) // unknowns never win
	if p.FirstSeen != t1 || p.LastSeen != t2 || p.FirstOffset != 3 || p.LastOffset != 5 {
		t.Fatalf("merged %+v", p)
	}
	q := Provenance{LastOffset: 9}.WithBatchOffset(7)
	if q.FirstOffset != 7 || q.LastOffset != 9 {
		t.Fatalf("WithBatchOffset %+v", q)
	}
}

func TestUnixNanos(t *testing.T) {
	if _, ok := UnixNanos(time.Time{}); ok {
		t.Fatal("the zero time must be unknown")
	}
	if n, ok := UnixNanos(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || n != math.MaxInt64 {
		t.Fatalf("year 3000 = %d, want clamped to MaxInt64", n)
	}
	if n, ok := UnixNanos(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || n != math.MinInt64 {
		t.Fatalf("year 1500 = %d, want clamped to MinInt64", n)
	}
	at := time.Date(2025, 11, 12, 10, 30, 0, 123456789, time.UTC)
	if n, _ := UnixNanos(at); n != at.UnixNano() {
		t.Fatalf("in range: %d", n)
	}
}

// TestExpand checks that a group upsert spells out in place, its nodes
// then its edges, each with the upsert's provenance, leaving the list
// and the group as they were; a list without groups comes back as is.
func TestExpand(t *testing.T) {
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	prov := Provenance{FirstSeen: t1, LastSeen: t1, FirstOffset: 4, LastOffset: 4}
	ds, f1, f2 := DatasetKey("s3://b", "d"), FieldKey("s3://b", "d", "a"), FieldKey("s3://b", "d", "b")
	g := &Group{
		Nodes: []Node{{Key: f1, Label: LabelField, Props: Props{"name": "a"}}, {Key: f2, Label: LabelField}},
		Edges: []Edge{{From: ds, Type: EdgeHasField, To: f1}},
	}
	muts := []Mutation{
		NodeMutation(Node{Key: ds, Label: LabelDataset, Provenance: prov}),
		GroupMutation(g, prov),
		EdgeMutation(Edge{From: f1, Type: EdgeDerives, To: f2, Provenance: prov}),
	}
	got := Expand(muts)
	var ids []string
	for _, m := range got {
		switch m.Kind {
		case UpsertNode:
			ids = append(ids, m.Node.Key)
			if m.Node.Provenance != prov {
				t.Errorf("node %s: provenance %+v", m.Node.Key, m.Node.Provenance)
			}
		case UpsertEdge:
			ids = append(ids, m.Edge.ID())
			if m.Edge.Provenance != prov {
				t.Errorf("edge %s: provenance %+v", m.Edge.ID(), m.Edge.Provenance)
			}
		default:
			t.Errorf("kind %d in the expansion", m.Kind)
		}
	}
	want := []string{ds, f1, f2, Edge{From: ds, Type: EdgeHasField, To: f1}.ID(), Edge{From: f1, Type: EdgeDerives, To: f2}.ID()}
	if len(ids) != len(want) {
		t.Fatalf("expanded to %q, want %q", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("expanded to %q, want %q", ids, want)
		}
	}
	if got[1].Node.Props["name"] != "a" || muts[1].Kind != UpsertGroup || g.Nodes[0].Provenance != (Provenance{}) {
		t.Fatal("Expand lost props, or changed the list or the group")
	}
	plain := muts[:1]
	if out := Expand(plain); &out[0] != &plain[0] {
		t.Fatal("a list without groups was copied")
	}
}

package graph

import (
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

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

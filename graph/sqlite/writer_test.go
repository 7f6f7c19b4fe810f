package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
)

// endsAfter is a context that reports itself cancelled from its n-th call
// of Err on, so a test can end an Apply between two given statements.
type endsAfter struct {
	context.Context
	left atomic.Int64
}

func newEndsAfter(n int64) *endsAfter {
	c := &endsAfter{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *endsAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// chain is one batch of n dataset nodes, each but the first linked to the
// one before it.
func chain(offset int64, n int) graph.Batch {
	b := graph.Batch{Offset: offset}
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	for i := range n {
		key := graph.DatasetKey("s3://tx", string(rune('a'+i)))
		prov := graph.Provenance{FirstSeen: at, LastSeen: at, FirstOffset: offset, LastOffset: offset}
		b.Mutations = append(b.Mutations, graph.NodeMutation(graph.Node{Key: key, Label: graph.LabelDataset, Provenance: prov}))
		if prev != "" {
			b.Mutations = append(b.Mutations, graph.EdgeMutation(graph.Edge{From: prev, Type: graph.EdgeDerives, To: key, Provenance: prov}))
		}
		prev = key
	}
	return b
}

// TestApplyEndedMidwayRollsBack ends an Apply's context after some of its
// statements ran: the transaction on the writer connection is rolled back,
// nothing of it is visible, and the connection serves the next Apply.
func TestApplyEndedMidwayRollsBack(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "graph.db"))
	for _, calls := range []int64{0, 1, 4} {
		err := s.Apply(newEndsAfter(calls), chain(1, 5))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply with a context ending after %d checks: %v, want context.Canceled", calls, err)
		}
		wantApplied(t, s, 0, 0, 0)
	}
	if err := s.Apply(t.Context(), chain(2, 5)); err != nil {
		t.Fatalf("Apply after the rolled-back ones: %v", err)
	}
	wantApplied(t, s, 5, 4, 2)
}

// wantApplied checks the store's dataset and DERIVES counts and its
// applied offset.
func wantApplied(t *testing.T, s *sqlite.Store, datasets, edges, offset int64) {
	t.Helper()
	c, err := s.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.Nodes[graph.LabelDataset] != datasets || c.Edges[graph.EdgeDerives] != edges {
		t.Errorf("counts = %+v; want %d datasets and %d edges", c, datasets, edges)
	}
	if off, err := s.AppliedOffset(t.Context()); err != nil || off != offset {
		t.Errorf("AppliedOffset = %d, %v; want %d", off, err, offset)
	}
}

// TestLogAppendWithEndedContext: an Append whose context already ended
// appends nothing and leaves the writer connection free for the next one.
func TestLogAppendWithEndedContext(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "events.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(ctx, []graph.Record{rec(`{"n":1}`)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with an ended context: %v, want context.Canceled", err)
	}
	res, err := l.Append(t.Context(), []graph.Record{rec(`{"n":1}`), rec(`{"n":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Offset != 1 || res[1].Offset != 2 || res[0].Duplicate || res[1].Duplicate {
		t.Errorf("results = %+v; want fresh offsets 1 and 2", res)
	}
	st, err := l.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || st.Head != 2 {
		t.Errorf("stats = %+v; want 2 records, head 2", st)
	}
}

// TestWritesStartNoGoroutines checks what the held writer connection is
// for: database/sql's Tx starts a goroutine per transaction and one per
// query inside it, which on two cores queued ahead of the log's group
// commit. Appends and Applies of many statements now start none that
// outlive them, and none per statement: the goroutine count seen by a
// concurrent sampler stays within a few of where it began.
func TestWritesStartNoGoroutines(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, filepath.Join(dir, "events.db"))
	s := openStore(t, filepath.Join(dir, "graph.db"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a context that can end
	defer cancel()

	runtime.GC() // the collector's workers start with the first cycle: not during the writes
	before := runtime.NumGoroutine()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int64(runtime.NumGoroutine()); n > peak.Load() {
				peak.Store(n)
			}
			runtime.Gosched()
		}
	}()
	for i := range 20 {
		var recs []graph.Record
		for j := range 50 {
			recs = append(recs, rec(string(rune('A'+i))+string(rune('a'+j%26))+string(rune('0'+j/26))))
		}
		if _, err := l.Append(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, chain(int64(i+1), 20)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-sampled
	// The sampler itself is one; allow a couple for the runtime.
	if extra := peak.Load() - int64(before); extra > 3 {
		t.Errorf("goroutines peaked at %d, %d above the %d before the writes; want the writes to start none", peak.Load(), extra, before)
	}
}

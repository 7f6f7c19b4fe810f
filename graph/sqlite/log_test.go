package sqlite_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
)

// openLog opens the log at path, closed when t ends.
func openLog(t testing.TB, path string) *sqlite.Log {
	t.Helper()
	l, err := sqlite.OpenLog(path)
	if err != nil {
		t.Fatalf("OpenLog: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

var received = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// rec is a record whose body is s.
func rec(s string) graph.Record {
	return graph.Record{Received: received, Source: "openlineage/http", Kind: "RunEvent", Producer: "https://example/p", Body: []byte(s)}
}

// stored is how rec(s) reads back at offset off.
func stored(off int64, s string) graph.Record {
	r := rec(s)
	r.Offset, r.SHA256 = off, graph.BodySHA256(r.Body)
	return r
}

func TestLogAppend(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	steps := []struct {
		name string
		recs []graph.Record
		want []graph.AppendResult
	}{
		{"empty append", nil, []graph.AppendResult{}},
		{"first records get 1, 2, 3", []graph.Record{rec("a"), rec("b"), rec("c")},
			[]graph.AppendResult{{Offset: 1}, {Offset: 2}, {Offset: 3}}},
		{"duplicate of an earlier append", []graph.Record{rec("d"), rec("b"), rec("e")},
			[]graph.AppendResult{{Offset: 4}, {Offset: 2, Duplicate: true}, {Offset: 5}}},
		{"duplicate within one append", []graph.Record{rec("f"), rec("f"), rec("g"), rec("f")},
			[]graph.AppendResult{{Offset: 6}, {Offset: 6, Duplicate: true}, {Offset: 7}, {Offset: 6, Duplicate: true}}},
		{"all duplicates", []graph.Record{rec("a"), rec("g")},
			[]graph.AppendResult{{Offset: 1, Duplicate: true}, {Offset: 7, Duplicate: true}}},
		{"an empty body is an input too", []graph.Record{rec("")}, []graph.AppendResult{{Offset: 8}}},
	}
	for _, st := range steps {
		got, err := l.Append(t.Context(), st.recs)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, d)
		}
	}
	all, err := l.Read(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []graph.Record{stored(1, "a"), stored(2, "b"), stored(3, "c"), stored(4, "d"), stored(5, "e"), stored(6, "f"), stored(7, "g"), stored(8, "")}
	if d := cmp.Diff(want, all, cmp.Comparer(bytes.Equal)); d != "" {
		t.Errorf("Read (-want +got):\n%s", d)
	}
	stats, err := l.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(graph.LogStats{Records: 8, Bytes: 7, Head: 8}, stats); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
}

func TestLogAppendChecksHashes(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	good := rec("x")
	good.SHA256 = graph.BodySHA256(good.Body) // given and right: kept
	bad := rec("y")
	bad.SHA256 = graph.BodySHA256([]byte("not y"))

	_, err := l.Append(t.Context(), []graph.Record{good, bad})
	if graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != "records[1].sha256" {
		t.Fatalf("Append with a wrong hash: %v (field %q), want EINVALID on records[1].sha256", err, graph.ErrorField(err))
	}
	if stats, err := l.Stats(t.Context()); err != nil || stats != (graph.LogStats{}) {
		t.Errorf("after a rejected append: stats %+v, %v; want an empty log", stats, err)
	}
	res, err := l.Append(t.Context(), []graph.Record{good})
	if err != nil || len(res) != 1 || res[0].Offset != 1 {
		t.Fatalf("Append with the right hash: %+v, %v", res, err)
	}
}

func TestLogReceivedDefaultsToNow(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	before := time.Now()
	r := rec("x")
	r.Received = time.Time{}
	if _, err := l.Append(t.Context(), []graph.Record{r}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Read(t.Context(), 0, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Read: %v, %v", got, err)
	}
	if got[0].Received.Before(before.Truncate(time.Second)) || got[0].Received.Location() != time.UTC {
		t.Errorf("Received = %v, want a UTC time no earlier than %v", got[0].Received, before)
	}
}

func TestLogRead(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	const n = 25
	var recs []graph.Record
	for i := 1; i <= n; i++ {
		recs = append(recs, rec(fmt.Sprintf("event %d", i)))
	}
	if _, err := l.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after      int64
		limit      int
		wantFirst  int64
		wantLength int
	}{
		{0, 10, 1, 10},
		{10, 10, 11, 10},
		{20, 10, 21, 5},
		{25, 10, 0, 0},
		{1000, 10, 0, 0},
		{-5, 3, 1, 3},
		{0, 0, 1, n},  // 0: the default page
		{0, -1, 1, n}, // so is anything below
	} {
		got, err := l.Read(t.Context(), tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.wantLength {
			t.Fatalf("Read(%d, %d): %d records, want %d", tc.after, tc.limit, len(got), tc.wantLength)
		}
		for i, r := range got {
			if want := tc.wantFirst + int64(i); r.Offset != want || string(r.Body) != fmt.Sprintf("event %d", want) {
				t.Errorf("Read(%d, %d)[%d] = offset %d %q, want offset %d", tc.after, tc.limit, i, r.Offset, r.Body, want)
			}
		}
	}
	// Paging by the last offset seen visits every record once.
	var seen []int64
	for after := int64(0); ; {
		page, err := l.Read(t.Context(), after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seen = append(seen, r.Offset)
		}
		after = page[len(page)-1].Offset
	}
	if len(seen) != n || seen[0] != 1 || seen[n-1] != n {
		t.Errorf("paging saw offsets %v, want 1..%d", seen, n)
	}
}

// TestLogReopen checks that what was appended survives Close and is
// appended after, not over, on reopening; and that the log and the store
// share one file, as the server opens them.
func TestLogReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redthread.db")
	l, err := sqlite.OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	if _, err := l.Append(t.Context(), []graph.Record{rec("a"), rec("b")}); err != nil {
		t.Fatal(err)
	}
	key := graph.JobKey("ns", "job")
	if err := s.Apply(t.Context(), graph.Batch{Offset: 2, Mutations: []graph.Mutation{graph.NodeMutation(graph.Node{Key: key, Label: graph.LabelJob})}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := openLog(t, path)
	res, err := l2.Append(t.Context(), []graph.Record{rec("b"), rec("c")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]graph.AppendResult{{Offset: 2, Duplicate: true}, {Offset: 3}}, res); d != "" {
		t.Errorf("Append after reopen (-want +got):\n%s", d)
	}
	all, err := l2.Read(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []graph.Record{stored(1, "a"), stored(2, "b"), stored(3, "c")}
	if d := cmp.Diff(want, all); d != "" {
		t.Errorf("Read after reopen (-want +got):\n%s", d)
	}
	if stats, err := l2.Stats(t.Context()); err != nil || stats != (graph.LogStats{Records: 3, Bytes: 3, Head: 3}) {
		t.Errorf("Stats after reopen = %+v, %v", stats, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, path)
	if off, err := s2.AppliedOffset(t.Context()); err != nil || off != 2 {
		t.Errorf("AppliedOffset of the store reopened on the file = %d, %v; want 2", off, err)
	}
	if n, err := s2.Nodes(t.Context(), key); err != nil || len(n) != 1 {
		t.Errorf("Nodes on the store reopened on the file = %v, %v", n, err)
	}
}

// TestLogConcurrentAppends checks that appends from several goroutines
// (the pipeline has one, but nothing forbids more) and readers on the same
// file get distinct, gap-free offsets.
func TestLogConcurrentAppends(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	const writers, each = 4, 20
	var wg sync.WaitGroup
	offsets := make(chan int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				res, err := l.Append(t.Context(), []graph.Record{rec(fmt.Sprintf("w%d-%d", w, i))})
				if err != nil {
					t.Error(err)
					return
				}
				offsets <- res[0].Offset
			}
		})
		wg.Go(func() {
			for i := 0; i < each; i++ {
				if _, err := l.Stats(t.Context()); err != nil {
					t.Error(err)
					return
				}
				if _, err := l.Read(t.Context(), 0, 5); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(offsets)
	seen := map[int64]bool{}
	for off := range offsets {
		if seen[off] || off < 1 || off > writers*each {
			t.Errorf("offset %d repeated or out of 1..%d", off, writers*each)
		}
		seen[off] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct offsets, want %d", len(seen), writers*each)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if _, err := sqlite.OpenLog(path); graph.ErrorCode(err) != graph.EINVALID {
			t.Errorf("OpenLog(%q) = %v, want EINVALID", path, err)
		}
		if _, err := sqlite.OpenStore(path); graph.ErrorCode(err) != graph.EINVALID {
			t.Errorf("OpenStore(%q) = %v, want EINVALID", path, err)
		}
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, filepath.Join(dir, "log.db"))
	if _, err := l.Append(t.Context(), []graph.Record{rec("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "log.db")); err != nil {
		t.Errorf("the log is not in the directory asked for: %v", err)
	}
}

func TestLogLookups(t *testing.T) {
	ctx := t.Context()
	l := openLog(t, filepath.Join(t.TempDir(), "log.db"))
	cursor := func(s string) graph.Record {
		r := rec(s)
		r.Source, r.Kind = "mlflow/cursor", "MLflowCursor"
		return r
	}
	if _, err := l.Append(ctx, []graph.Record{rec("a"), cursor("c1"), rec("b"), cursor("c2"), rec("d")}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := l.BySHA256(ctx, graph.BodySHA256([]byte("b")))
	if err != nil || !ok {
		t.Fatalf("BySHA256: %v %v", ok, err)
	}
	if diff := cmp.Diff(stored(3, "b"), got); diff != "" {
		t.Errorf("BySHA256 (-want +got):\n%s", diff)
	}
	if _, ok, err := l.BySHA256(ctx, graph.BodySHA256([]byte("zz"))); ok || err != nil {
		t.Errorf("BySHA256 of an unknown hash: %v %v", ok, err)
	}
	latest, ok, err := l.LatestFrom(ctx, "mlflow/cursor")
	if err != nil || !ok || latest.Offset != 4 || string(latest.Body) != "c2" {
		t.Errorf("LatestFrom = %d %q %v %v, want offset 4 c2", latest.Offset, latest.Body, ok, err)
	}
	if _, ok, err := l.LatestFrom(ctx, "mlflow/none"); ok || err != nil {
		t.Errorf("LatestFrom of an unused source: %v %v", ok, err)
	}
}

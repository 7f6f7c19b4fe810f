package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/pubsub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memLog is an in-memory graph.EventLog for unit tests.
type memLog struct {
	mu      sync.Mutex
	recs    []graph.Record
	bySHA   map[string]int64
	appends int
	reads   int
	fail    error
}

func newMemLog() *memLog { return &memLog{bySHA: map[string]int64{}} }

func (l *memLog) Append(_ context.Context, recs []graph.Record) ([]graph.AppendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, l.fail
	}
	l.appends++
	out := make([]graph.AppendResult, len(recs))
	for i, r := range recs {
		if r.SHA256 == "" { // as graph.EventLog says
			r.SHA256 = graph.BodySHA256(r.Body)
		}
		if off, ok := l.bySHA[r.SHA256]; ok {
			out[i] = graph.AppendResult{Offset: off, Duplicate: true}
			continue
		}
		r.Offset = int64(len(l.recs) + 1)
		l.recs = append(l.recs, r)
		l.bySHA[r.SHA256] = r.Offset
		out[i] = graph.AppendResult{Offset: r.Offset}
	}
	return out, nil
}

func (l *memLog) Read(_ context.Context, after int64, limit int) ([]graph.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	var out []graph.Record
	for _, r := range l.recs {
		if r.Offset > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *memLog) Stats(context.Context) (graph.LogStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := graph.LogStats{Records: int64(len(l.recs)), Head: int64(len(l.recs))}
	for _, r := range l.recs {
		s.Bytes += int64(len(r.Body))
	}
	return s, nil
}

// memStore records applied batches; it can be told to fail.
type memStore struct {
	mu      sync.Mutex
	applied int64
	offsets []int64
	nodes   map[string]int
	down    bool
}

func (s *memStore) Apply(_ context.Context, batches ...graph.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("store down")
	}
	for _, b := range batches {
		for _, m := range b.Mutations {
			if m.Node.Key == graph.RunKey("poison") {
				return graph.Errorf(graph.EINVALID, "refused")
			}
		}
	}
	for _, b := range batches {
		if b.Offset != s.applied+1 {
			return errors.New("out of order batch")
		}
		for _, m := range b.Mutations {
			switch m.Kind {
			case graph.UpsertNode:
				if m.Node.FirstOffset != b.Offset {
					return errors.New("offset not stamped")
				}
				s.nodes[m.Node.Key]++
			case graph.UpsertGroup:
				if m.Group.FirstOffset != b.Offset || m.Group.LastOffset != b.Offset {
					return errors.New("group offset not stamped")
				}
			}
		}
		s.applied = b.Offset
		s.offsets = append(s.offsets, b.Offset)
	}
	return nil
}

func (s *memStore) AppliedOffset(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return 0, errors.New("store down")
	}
	return s.applied, nil
}

func (s *memStore) setDown(v bool) { s.mu.Lock(); s.down = v; s.mu.Unlock() }

// testFormat decodes {"id": "..."} into one Run node; {"bad":true} is rejected.
func testFormat(body []byte) (Event, error) {
	var v struct {
		ID  string `json:"id"`
		Bad bool   `json:"bad"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return Event{}, graph.FieldErrorf(graph.EINVALID, "", "malformed JSON: %v", err)
	}
	if v.Bad || v.ID == "" {
		return Event{}, graph.FieldErrorf(graph.EINVALID, "id", "required")
	}
	key := graph.RunKey(v.ID)
	return Event{
		Kind:      "RunEvent",
		Mutations: []graph.Mutation{graph.NodeMutation(graph.Node{Key: key, Label: graph.LabelRun})},
		Notice:    pubsub.Message{Kind: "RunEvent", RunKey: key},
	}, nil
}

func startPipeline(t *testing.T, log *memLog, store Store, opts Options) (*Pipeline, *pubsub.Hub) {
	t.Helper()
	hub := pubsub.New()
	p := New(log, store, hub, Formats{"test": testFormat}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, func() bool { return p.running.Load() })
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		hub.Close()
	})
	return p, hub
}

// waitFor polls cond until it holds; it fails the test after a generous
// deadline (this is a liveness check, not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func in(body string) Input { return Input{Source: "test/unit", Body: []byte(body)} }

func TestSubmitAppendsAppliesAndPublishes(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	p, hub := startPipeline(t, log, store, Options{AwaitProjection: true})
	ch, cancel := hub.Subscribe(8)
	defer cancel()

	res := p.Submit(t.Context(), []Input{in(`{"id":"a"}`), in(`{"bad":true}`), in(`not json`), in(`{"id":"b"}`)})
	if res[0].Err != nil || res[0].Offset != 1 || res[3].Err != nil || res[3].Offset != 2 {
		t.Fatalf("accepted results wrong: %+v", res)
	}
	if graph.ErrorCode(res[1].Err) != graph.EINVALID || graph.ErrorField(res[1].Err) != "id" {
		t.Fatalf("rejected result wrong: %+v", res[1])
	}
	if graph.ErrorCode(res[2].Err) != graph.EINVALID {
		t.Fatalf("malformed result wrong: %+v", res[2])
	}
	if got := store.applied; got != 2 {
		t.Fatalf("store applied %d, want 2 (applied before Submit returns)", got)
	}
	for want := int64(1); want <= 2; want++ {
		m := <-ch
		if m.Offset != want || m.Source != "test/unit" || m.Received.IsZero() {
			t.Fatalf("notice %+v, want offset %d", m, want)
		}
	}
	st := p.Status()
	if st.Head != 2 || st.Applied != 2 || st.LogRecords != 2 || st.Lag() != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestDuplicateChangesNothing(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	p, _ := startPipeline(t, log, store, Options{AwaitProjection: true})
	first := p.Submit(t.Context(), []Input{in(`{"id":"a"}`)})
	again := p.Submit(t.Context(), []Input{in(`{"id":"a"}`), in(`{"id":"a"}`)})
	if first[0].Duplicate || !again[0].Duplicate || !again[1].Duplicate || again[0].Offset != first[0].Offset {
		t.Fatalf("first %+v again %+v", first, again)
	}
	if len(log.recs) != 1 || len(store.offsets) != 1 {
		t.Fatalf("log has %d records, store applied %v; want 1 and [1]", len(log.recs), store.offsets)
	}
}

func TestGroupCommitUnderConcurrency(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	p, _ := startPipeline(t, log, store, Options{})
	const clients, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := `{"id":"` + string(rune('a'+c)) + "-" + time.Now().Format("150405.000000000") + `-` + string(rune('A'+i%26)) + `"}`
				r := p.Submit(context.Background(), []Input{in(body)})
				if r[0].Err != nil {
					errs <- r[0].Err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := p.WaitApplied(t.Context(), p.Head()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	log.mu.Lock()
	defer log.mu.Unlock()
	if int(store.applied) != len(log.recs) {
		t.Fatalf("applied %d of %d records", store.applied, len(log.recs))
	}
	if log.appends >= len(log.recs) && len(log.recs) > clients {
		t.Logf("no grouping happened: %d appends for %d records (allowed, but unusual)", log.appends, len(log.recs))
	}
}

func TestStoreOutageIsReplayedFromLog(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	reg := prometheus.NewRegistry()
	p, _ := startPipeline(t, log, store, Options{RetryInterval: 5 * time.Millisecond, Registerer: reg, AwaitProjection: true})
	p.Submit(t.Context(), []Input{in(`{"id":"a"}`)})
	store.setDown(true)
	res := p.Submit(t.Context(), []Input{in(`{"id":"b"}`), in(`{"id":"c"}`)})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("event must be acknowledged while the store is down: %v", r.Err)
		}
	}
	if p.Status().Lag() != 2 || p.Status().StoreHealth == nil {
		t.Fatalf("status while down: %+v", p.Status())
	}
	if lag := testutil.ToFloat64(p.m.lag); lag != 2 {
		t.Fatalf("lag metric %v, want 2", lag)
	}
	store.setDown(false)
	waitFor(t, func() bool { return p.Status().Lag() == 0 })
	p.Submit(t.Context(), []Input{in(`{"id":"d"}`)})
	if got := store.offsets; len(got) != 4 || got[3] != 4 {
		t.Fatalf("store offsets %v, want 1..4 in order", got)
	}
	if p.Status().StoreHealth != nil {
		t.Fatalf("store health should clear: %v", p.Status().StoreHealth)
	}
}

func TestRunReplaysUnappliedRecordsAtStart(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	// Records logged by an earlier process that died before applying them.
	for _, id := range []string{"a", "b", "c"} {
		if _, err := log.Append(t.Context(), []graph.Record{{Source: "test/unit", SHA256: id, Body: []byte(`{"id":"` + id + `"}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := startPipeline(t, log, store, Options{})
	waitFor(t, func() bool { return p.Status().Applied == 3 })
	if store.nodes[graph.RunKey("b")] != 1 {
		t.Fatalf("replayed nodes %v", store.nodes)
	}
}

func TestLogFailureIsReported(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	p, _ := startPipeline(t, log, store, Options{})
	log.mu.Lock()
	log.fail = errors.New("disk full")
	log.mu.Unlock()
	res := p.Submit(t.Context(), []Input{in(`{"id":"a"}`)})
	if graph.ErrorCode(res[0].Err) != graph.EUNAVAILABLE {
		t.Fatalf("want UNAVAILABLE, got %v", res[0].Err)
	}
}

func TestSubmitAfterStop(t *testing.T) {
	p := New(newMemLog(), &memStore{nodes: map[string]int{}}, nil, Formats{"test": testFormat}, Options{})
	res := p.Submit(t.Context(), []Input{in(`{"id":"a"}`)})
	if !errors.Is(res[0].Err, ErrStopped) {
		t.Fatalf("want ErrStopped, got %v", res[0].Err)
	}
}

func TestDecoderPanicIsInternalError(t *testing.T) {
	p := New(newMemLog(), &memStore{nodes: map[string]int{}}, nil, Formats{"boom": func([]byte) (Event, error) { panic("bug") }}, Options{})
	res := p.Submit(t.Context(), []Input{{Source: "boom/x", Body: []byte("{}")}})
	if graph.ErrorCode(res[0].Err) != graph.EINTERNAL {
		t.Fatalf("want INTERNAL, got %v", res[0].Err)
	}
}

func TestRefusedRecordDoesNotStallProjection(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	p, _ := startPipeline(t, log, store, Options{AwaitProjection: true})
	res := p.Submit(t.Context(), []Input{in(`{"id":"a"}`), in(`{"id":"poison"}`), in(`{"id":"b"}`)})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("all three are valid inputs and must be logged: %v", r.Err)
		}
	}
	if st := p.Status(); st.Applied != 3 || st.StoreHealth != nil {
		t.Fatalf("status %+v: the refused record must be skipped, not stall the projection", st)
	}
	if store.nodes[graph.RunKey("b")] != 1 || store.nodes[graph.RunKey("poison")] != 0 {
		t.Fatalf("nodes %v", store.nodes)
	}
	if got := testutil.ToFloat64(p.m.skipped); got != 1 {
		t.Fatalf("skipped metric %v, want 1", got)
	}
}

// gatedStore blocks every Apply until the gate is opened.
type gatedStore struct {
	*memStore
	gate chan struct{}
}

func (g gatedStore) Apply(ctx context.Context, batches ...graph.Batch) error {
	<-g.gate
	return g.memStore.Apply(ctx, batches...)
}

func TestRepliesWhenDurableAndReadersWaitForTheProjection(t *testing.T) {
	log := newMemLog()
	store := gatedStore{memStore: &memStore{nodes: map[string]int{}}, gate: make(chan struct{})}
	hub := pubsub.New()
	defer hub.Close()
	p := New(log, store, hub, Formats{"test": testFormat}, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return p.running.Load() })

	// The store is blocked, yet Submit returns: the events are durable.
	res := p.Submit(t.Context(), []Input{in(`{"id":"a"}`), in(`{"id":"b"}`)})
	if res[0].Err != nil || res[1].Offset != 2 || p.Head() != 2 {
		t.Fatalf("results %+v, head %d", res, p.Head())
	}
	short, stop := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer stop()
	if err := p.WaitApplied(short, p.Head()); err == nil {
		t.Fatal("WaitApplied returned before the store applied anything")
	}
	close(store.gate)
	if err := p.WaitApplied(t.Context(), p.Head()); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Applied != 2 {
		t.Fatalf("status %+v", st)
	}
}

// While the applier is busy, the groups queued behind it are applied from
// the events in hand: the retry ticker must not replay them from the log
// (decoding every record again on the applier's goroutine).
func TestQueuedGroupsAreNotReplayedFromTheLog(t *testing.T) {
	log := newMemLog()
	store := gatedStore{memStore: &memStore{nodes: map[string]int{}}, gate: make(chan struct{})}
	p := New(log, store, nil, Formats{"test": testFormat}, Options{RetryInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return p.running.Load() })

	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if res := p.Submit(t.Context(), []Input{in(`{"id":"` + id + `"}`)}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	time.Sleep(10 * time.Millisecond) // retry ticks pass while the store is busy
	close(store.gate)
	if err := p.WaitApplied(t.Context(), p.Head()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	offsets := slices.Clone(store.offsets)
	store.mu.Unlock()
	if !slices.Equal(offsets, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("store offsets %v, want 1..5 in order", offsets)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.reads != 0 {
		t.Fatalf("the log was read %d times; queued groups must be applied from the events in hand", log.reads)
	}
}

func TestContiguous(t *testing.T) {
	items := func(offsets ...int64) []*pending {
		out := make([]*pending, len(offsets))
		for i, o := range offsets {
			out[i] = &pending{rec: graph.Record{Offset: o}}
		}
		return out
	}
	for _, tc := range []struct {
		applied int64
		items   []*pending
		want    bool
	}{
		{0, items(1, 2, 3), true},
		{4, items(5), true},
		{4, items(6, 7), false}, // a gap before
		{4, items(5, 7), false}, // a gap inside
		{-1, items(1), false},   // store state unknown
		{3, items(), true},      // nothing to apply
	} {
		if got := contiguous(tc.applied, tc.items); got != tc.want {
			t.Errorf("contiguous(%d, %d items) = %v, want %v", tc.applied, len(tc.items), got, tc.want)
		}
	}
}

func TestBacklogBoundsRecordsNotGroups(t *testing.T) {
	b := newBacklog(10)
	for range 10 {
		b.add(1) // ten groups of one record fit
	}
	admitted := make(chan struct{})
	go func() {
		b.add(3)
		close(admitted)
	}()
	b.take(4)
	<-admitted // room for 3 once 4 were taken
	b.take(9)
	b.add(25) // a group larger than the bound is admitted alone
	if b.n != 25 {
		t.Fatalf("queued %d, want 25", b.n)
	}
}

// TestCollectWaitsForMoreRequestsOnlyUnderLoad checks the committer's
// group: an idle pipeline commits what is queued at once, a loaded one
// waits for CommitRecords records (CommitWait is an hour here, so a wait
// that should not happen would hang the test), and never exceeds
// MaxGroupRecords.
func TestCollectWaitsForMoreRequestsOnlyUnderLoad(t *testing.T) {
	reqOf := func(n int) *request { return &request{items: make([]pending, n)} }
	sizes := func(reqs []*request) []int {
		var out []int
		for _, r := range reqs {
			out = append(out, len(r.items))
		}
		return out
	}
	newP := func(o Options) *Pipeline {
		return New(newMemLog(), &memStore{nodes: map[string]int{}}, nil, Formats{"test": testFormat}, o)
	}

	t.Run("idle commits what is queued", func(t *testing.T) {
		p := newP(Options{CommitWait: time.Hour, CommitRecords: 8})
		p.reqs <- reqOf(1)
		if got := sizes(p.collect(reqOf(1), false)); !slices.Equal(got, []int{1, 1}) {
			t.Fatalf("group %v, want [1 1]", got)
		}
	})
	t.Run("loaded waits for CommitRecords", func(t *testing.T) {
		p := newP(Options{CommitWait: time.Hour, CommitRecords: 4})
		p.reqs <- reqOf(1)
		go func() {
			p.reqs <- reqOf(1)
			p.reqs <- reqOf(1)
		}()
		if got := sizes(p.collect(reqOf(1), true)); !slices.Equal(got, []int{1, 1, 1, 1}) {
			t.Fatalf("group %v, want [1 1 1 1]", got)
		}
	})
	t.Run("loaded stops waiting after CommitWait", func(t *testing.T) {
		p := newP(Options{CommitWait: time.Millisecond, CommitRecords: 100})
		if got := sizes(p.collect(reqOf(2), true)); !slices.Equal(got, []int{2}) {
			t.Fatalf("group %v, want [2]", got)
		}
	})
	t.Run("negative CommitWait never waits", func(t *testing.T) {
		p := newP(Options{CommitWait: -1, CommitRecords: 100})
		if got := sizes(p.collect(reqOf(2), true)); !slices.Equal(got, []int{2}) {
			t.Fatalf("group %v, want [2]", got)
		}
	})
	t.Run("capped at MaxGroupRecords", func(t *testing.T) {
		p := newP(Options{MaxGroupRecords: 3, CommitWait: time.Hour, CommitRecords: 100})
		p.reqs <- reqOf(2)
		p.reqs <- reqOf(2)
		if got := sizes(p.collect(reqOf(1), true)); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("group %v, want [1 2]", got)
		}
	})
}

// prepStore is a memStore that plans apart from writing (a Preparer), as
// the Neo4j store does: PrepareApply refuses what Apply would, and the
// write waits for gate (when set) and for the writes before it.
type prepStore struct {
	*memStore
	gate     chan struct{}
	prepared chan []int64 // the offsets of each plan, as it is made
}

func (s prepStore) PrepareApply(batches ...graph.Batch) (func(context.Context) error, error) {
	var offsets []int64
	for _, b := range batches {
		offsets = append(offsets, b.Offset)
		for _, m := range b.Mutations {
			if m.Node.Key == graph.RunKey("poison") {
				return nil, graph.Errorf(graph.EINVALID, "refused")
			}
		}
	}
	s.prepared <- offsets
	return func(ctx context.Context) error {
		if s.gate != nil {
			<-s.gate
		}
		return s.memStore.Apply(ctx, batches...)
	}, nil
}

func (s prepStore) Apply(ctx context.Context, batches ...graph.Batch) error {
	write, err := s.PrepareApply(batches...)
	if err != nil {
		return err
	}
	return write(ctx)
}

// startGatedWrite starts a pipeline on a Preparer store whose writes wait
// at its gate, submits one event and checks that it was planned: offset
// 1's write is then held until the caller closes store.gate.
func startGatedWrite(t *testing.T) (*Pipeline, prepStore, *memStore) {
	t.Helper()
	return startGatedWriteWith(t, Options{})
}

// startGatedWriteWith is startGatedWrite with the given options.
func startGatedWriteWith(t *testing.T, opts Options) (*Pipeline, prepStore, *memStore) {
	t.Helper()
	log, mem := newMemLog(), &memStore{nodes: map[string]int{}}
	store := prepStore{memStore: mem, gate: make(chan struct{}), prepared: make(chan []int64, 16)}
	p, _ := startPipeline(t, log, store, opts)

	p.Submit(t.Context(), []Input{in(`{"id":"a"}`)})
	if got := <-store.prepared; !slices.Equal(got, []int64{1}) {
		t.Fatalf("first plan %v", got)
	}
	return p, store, mem
}

func TestPreparerPlansTheNextGroupWhileTheStoreWrites(t *testing.T) {
	p, store, mem := startGatedWrite(t)
	// The write of offset 1 is held at the gate: the next group, large
	// enough to be worth it, is planned all the same.
	var second []Input
	var wantPlan []int64
	for i := range smallApply {
		second = append(second, in(fmt.Sprintf(`{"id":"b%d"}`, i)))
		wantPlan = append(wantPlan, int64(i+2))
	}
	p.Submit(t.Context(), second)
	if got := <-store.prepared; !slices.Equal(got, wantPlan) {
		t.Fatalf("second plan %v, want offsets 2..%d", got, smallApply+1)
	}
	if p.Status().Applied != 0 {
		t.Fatalf("applied %d before any write returned", p.Status().Applied)
	}
	close(store.gate)
	last := int64(smallApply + 1)
	if err := p.WaitApplied(t.Context(), last); err != nil {
		t.Fatal(err)
	}
	mem.mu.Lock()
	if len(mem.offsets) != int(last) || mem.offsets[0] != 1 || mem.offsets[last-1] != last {
		t.Errorf("store offsets %v, want 1..%d in order", mem.offsets, last)
	}
	mem.mu.Unlock()
}

// TestSmallGroupsGatherWhileTheStoreWrites: groups of a few records that
// arrive while a write is under way are not planned one by one beside it,
// but wait for it to land and are then planned and written as one.
func TestSmallGroupsGatherWhileTheStoreWrites(t *testing.T) {
	p, store, mem := startGatedWrite(t)
	// Offset 1's write is held at the gate; three one-event requests
	// follow, and the applier takes their groups.
	for _, id := range []string{"b", "c", "d"} {
		p.Submit(t.Context(), []Input{in(`{"id":"` + id + `"}`)})
	}
	waitFor(t, func() bool {
		p.backlog.mu.Lock()
		defer p.backlog.mu.Unlock()
		return p.backlog.n == 3 && len(p.toApply) == 0
	})
	if len(store.prepared) != 0 {
		t.Fatalf("planned %v while the write was held", <-store.prepared)
	}
	close(store.gate)
	if got := <-store.prepared; !slices.Equal(got, []int64{2, 3, 4}) {
		t.Fatalf("plan after the write landed %v, want the three groups as one: [2 3 4]", got)
	}
	if err := p.WaitApplied(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	mem.mu.Lock()
	if !slices.Equal(mem.offsets, []int64{1, 2, 3, 4}) {
		t.Errorf("store offsets %v, want 1..4 in order", mem.offsets)
	}
	mem.mu.Unlock()
}

// TestApplyTakesQueuedGroupsUpToMaxApplyRecords: the applier merges the
// groups queued behind a write into one Apply until it holds
// MaxApplyRecords records, and leaves the rest for the next.
func TestApplyTakesQueuedGroupsUpToMaxApplyRecords(t *testing.T) {
	p, store, mem := startGatedWriteWith(t, Options{MaxApplyRecords: 5})
	// Offset 1's write is held; four requests of three events follow.
	for r := range 4 {
		var ins []Input
		for i := range 3 {
			ins = append(ins, in(fmt.Sprintf(`{"id":"r%d-%d"}`, r, i)))
		}
		p.Submit(t.Context(), ins)
	}
	if got := <-store.prepared; !slices.Equal(got, []int64{2, 3, 4, 5, 6, 7}) {
		t.Fatalf("second plan %v, want two groups (6 records, the first count at or over 5): [2 .. 7]", got)
	}
	// The committer answers a request before it queues the group for the
	// applier: wait until the last two groups are both queued.
	waitFor(t, func() bool { return len(p.toApply) == 2 })
	close(store.gate)
	if got := <-store.prepared; !slices.Equal(got, []int64{8, 9, 10, 11, 12, 13}) {
		t.Fatalf("third plan %v, want the other two groups: [8 .. 13]", got)
	}
	if err := p.WaitApplied(t.Context(), 13); err != nil {
		t.Fatal(err)
	}
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if len(mem.offsets) != 13 || !slices.IsSorted(mem.offsets) {
		t.Errorf("store offsets %v, want 1..13 in order", mem.offsets)
	}
}

func TestApplyAndBacklogBounds(t *testing.T) {
	for _, tc := range []struct {
		opts                   Options
		wantApply, wantBacklog int
	}{
		{Options{}, 8000, 8000},
		{Options{MaxApplyRecords: 20_000}, 20_000, 20_000}, // the backlog holds at least one Apply
		{Options{MaxApplyRecords: 20, MaxBacklogRecords: 50}, 20, 50},
	} {
		p := New(newMemLog(), &memStore{nodes: map[string]int{}}, nil, Formats{"test/unit": testFormat}, tc.opts)
		if p.opts.MaxApplyRecords != tc.wantApply || p.backlog.limit != tc.wantBacklog || cap(p.toApply) < tc.wantBacklog {
			t.Errorf("%+v: apply %d, backlog %d (channel %d); want %d, %d", tc.opts,
				p.opts.MaxApplyRecords, p.backlog.limit, cap(p.toApply), tc.wantApply, tc.wantBacklog)
		}
	}
}

func TestPreparerFallsBackOnRefusalAndOutage(t *testing.T) {
	log, mem := newMemLog(), &memStore{nodes: map[string]int{}}
	store := prepStore{memStore: mem, prepared: make(chan []int64, 1024)}
	p, _ := startPipeline(t, log, store, Options{RetryInterval: 5 * time.Millisecond, AwaitProjection: true})

	p.Submit(t.Context(), []Input{in(`{"id":"a"}`), in(`{"id":"poison"}`), in(`{"id":"b"}`)})
	if st := p.Status(); st.Applied != 3 || st.StoreHealth != nil {
		t.Fatalf("status %+v: the refused record must be skipped, not stall the projection", st)
	}
	mem.setDown(true)
	p.Submit(t.Context(), []Input{in(`{"id":"c"}`)})
	if p.Status().StoreHealth == nil {
		t.Fatalf("status while down: %+v", p.Status())
	}
	mem.setDown(false)
	waitFor(t, func() bool { return p.Status().Lag() == 0 })
	p.Submit(t.Context(), []Input{in(`{"id":"d"}`)})
	mem.mu.Lock()
	if !slices.Equal(mem.offsets, []int64{1, 2, 3, 4, 5}) || mem.nodes[graph.RunKey("poison")] != 0 || mem.nodes[graph.RunKey("d")] != 1 {
		t.Errorf("store offsets %v nodes %v", mem.offsets, mem.nodes)
	}
	mem.mu.Unlock()
}

// TestStartedKnowsTheHead: once Started is closed, Head is the log's head
// from before the start, so a reader that waits for it sees every event
// acknowledged before a restart, even while they are being replayed.
func TestStartedKnowsTheHead(t *testing.T) {
	log, store := newMemLog(), &memStore{nodes: map[string]int{}}
	if _, err := log.Append(t.Context(), []graph.Record{
		{Source: "test/unit", Kind: "Test", SHA256: graph.BodySHA256([]byte(`{"id":"a"}`)), Body: []byte(`{"id":"a"}`)},
		{Source: "test/unit", Kind: "Test", SHA256: graph.BodySHA256([]byte(`{"id":"b"}`)), Body: []byte(`{"id":"b"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	p := New(log, store, nil, Formats{"test": testFormat}, Options{})
	select {
	case <-p.Started():
		t.Fatal("Started closed before Run")
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-p.Started()
	if p.Head() != 2 {
		t.Fatalf("Head after Started = %d, want 2", p.Head())
	}
	if err := p.WaitApplied(t.Context(), p.Head()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.nodes["run:a"] == 0 || store.nodes["run:b"] == 0 {
		t.Errorf("the replayed records are not in the store: %v", store.nodes)
	}
}

// TestStampOffset checks that every kind of mutation gets the record's
// offset, a group upsert for all its nodes and edges.
func TestStampOffset(t *testing.T) {
	g := &graph.Group{
		Nodes: []graph.Node{{Key: graph.FieldKey("s3://b", "d", "x"), Label: graph.LabelField}},
		Edges: []graph.Edge{{From: graph.DatasetKey("s3://b", "d"), Type: graph.EdgeHasField, To: graph.FieldKey("s3://b", "d", "x")}},
	}
	muts := []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: graph.DatasetKey("s3://b", "d"), Label: graph.LabelDataset}),
		graph.GroupMutation(g, graph.Provenance{}),
		graph.EdgeMutation(graph.Edge{From: graph.DatasetKey("s3://b", "d"), Type: graph.EdgeHasField, To: graph.FieldKey("s3://b", "d", "x")}),
	}
	stampOffset(muts, 9)
	for i, m := range graph.Expand(muts) {
		p := m.Node.Provenance
		if m.Kind == graph.UpsertEdge {
			p = m.Edge.Provenance
		}
		if p.FirstOffset != 9 || p.LastOffset != 9 {
			t.Errorf("mutation %d: offsets %d, %d, want 9", i, p.FirstOffset, p.LastOffset)
		}
	}
	if g.Nodes[0].FirstOffset != 0 || g.Edges[0].FirstOffset != 0 {
		t.Error("stampOffset changed the shared group")
	}
}

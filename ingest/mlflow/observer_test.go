package mlflow

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/ingest"
)

// testbed is a real pipeline over SQLite with the mlflow format, and an
// observer over it.
type testbed struct {
	log   *sqlite.Log
	store *sqlite.Store
	pipe  *ingest.Pipeline
	obs   *Observer
}

func newTestbed(t *testing.T, dir string) *testbed {
	t.Helper()
	log, err := sqlite.OpenLog(filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.OpenStore(filepath.Join(dir, "graph.db"))
	if err != nil {
		t.Fatal(err)
	}
	pipe := ingest.New(log, store, nil, ingest.Formats{FormatName: Decoder()}, ingest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = pipe.Run(ctx) }()
	<-pipe.Started()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
		log.Close()
	})
	tb := &testbed{log: log, store: store, pipe: pipe}
	tb.obs = NewObserver(pipe, tb.history())
	return tb
}

func (tb *testbed) history() GraphHistory {
	return GraphHistory{Nodes: tb.store.Nodes, BySHA256: tb.log.BySHA256,
		Wait: func(ctx context.Context) error { return tb.pipe.WaitApplied(ctx, tb.pipe.Head()) }}
}

func (tb *testbed) node(t *testing.T, key string) graph.Node {
	t.Helper()
	if err := tb.pipe.WaitApplied(t.Context(), tb.pipe.Head()); err != nil {
		t.Fatal(err)
	}
	nodes, err := tb.store.Nodes(t.Context(), key)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("node %s: %v (%d found)", key, err, len(nodes))
	}
	return nodes[0]
}

func observe(t *testing.T, tb *testbed, o *Observation) ObserveResult {
	t.Helper()
	res := tb.obs.Observe(t.Context(), "mlflow/sync", []*Observation{o})
	if res[0].Err != nil {
		t.Fatalf("observe: %v", res[0].Err)
	}
	return res[0]
}

func TestObserverLifecycle(t *testing.T) {
	dir := t.TempDir()
	tb := newTestbed(t, dir)
	key := "run:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"

	running := sampleRun()
	running.Run.Info.Status, running.Run.Info.EndTime = "RUNNING", 0
	if r := observe(t, tb, running); r.Status != StatusNew || r.Key != key || r.Offset != 1 {
		t.Fatalf("first observation: %+v", r)
	}
	if r := observe(t, tb, sampleRunRunning()); r.Status != StatusUnchanged {
		t.Fatalf("same state again: %+v", r)
	}
	finished := sampleRun()
	r := observe(t, tb, finished)
	if r.Status != StatusChanged || r.Changes != 2 { // info.status, info.end_time
		t.Fatalf("run finished: %+v", r)
	}
	if n := tb.node(t, key); n.Props["status"] != "FINISHED" || n.Props["changed_after_finish"] != nil {
		t.Fatalf("after finish: %v", n.Props)
	}

	// Edited after it finished: kept as a new observation, flagged, and
	// the first values stay.
	edited := sampleRun()
	edited.Run.Data.Tags[0].Value = "ffffffffffffffffffffffffffffffffffffffff"
	r = observe(t, tb, edited)
	if r.Status != StatusChangedAfterFinish || r.Changes != 1 {
		t.Fatalf("edit after finish: %+v", r)
	}
	n := tb.node(t, key)
	if n.Props["git_sha"] != "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" || n.Props["changed_after_finish"] != true {
		t.Fatalf("edit after finish overwrote or was not flagged: %v", n.Props)
	}
	facet := n.Facets["mlflow_change_after_offset_2"]
	if !strings.Contains(string(facet), `"tags.prov.git_sha"`) || !strings.Contains(string(facet), "ffffffff") {
		t.Fatalf("change facet = %s", facet)
	}
	if r := observe(t, tb, edited); r.Status != StatusUnchanged {
		t.Fatalf("the edited state seen again: %+v", r)
	}

	// A new observer (a restart) learns the last state from the graph and
	// the log.
	fresh := NewObserver(tb.pipe, tb.history())
	if r := fresh.Observe(t.Context(), "mlflow/poll", []*Observation{edited})[0]; r.Status != StatusUnchanged {
		t.Fatalf("after restart, the same state: %+v", r)
	}
	again := sampleRun()
	again.Run.Data.Params[0].Value = "0.5"
	if r := fresh.Observe(t.Context(), "mlflow/poll", []*Observation{again})[0]; r.Status != StatusChangedAfterFinish {
		t.Fatalf("after restart, another edit: %+v", r)
	}
	if n := tb.node(t, key); n.Props["param.learning_rate"] != "0.05" {
		t.Fatalf("param overwritten after finish: %v", n.Props["param.learning_rate"])
	}
	st, _ := tb.log.Stats(t.Context())
	if st.Records != 4 {
		t.Errorf("log holds %d records, want 4 (running, finished, two edits)", st.Records)
	}
}

func sampleRunRunning() *Observation {
	o := sampleRun()
	o.Run.Info.Status, o.Run.Info.EndTime = "RUNNING", 0
	return o
}

func TestObserverBatch(t *testing.T) {
	tb := newTestbed(t, t.TempDir())
	a := sampleRun()
	b := sampleRun()
	b.Run.Info.RunID = "ffffffffffffffffffffffffffffffff"
	bad := &Observation{Kind: KindRun, TrackingURI: testURI}
	client := sampleRun()
	client.Supersedes = &Supersedes{SHA256: "x"}
	dup := sampleRun()
	dup.Run.Data.Params[0].Value = "0.07"
	res := tb.obs.Observe(t.Context(), "mlflow/sync", []*Observation{a, b, bad, client, dup})
	want := []string{StatusUnchanged, StatusNew, StatusRejected, StatusRejected, StatusNew}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("result %d: %+v, want %s", i, r, want[i])
		}
	}
	var ge *graph.Error
	if !asGraphError(res[2].Err, &ge) || ge.Field != "run" {
		t.Errorf("invalid observation: %v", res[2].Err)
	}
	if n := tb.node(t, RunKeyOf(dup.Run)); n.Props["param.learning_rate"] != "0.07" {
		t.Errorf("the later observation of a key did not win: %v", n.Props["param.learning_rate"])
	}
}

func TestDiff(t *testing.T) {
	a, b := sampleRun(), sampleRun()
	b.Run.Data.Tags = b.Run.Data.Tags[1:] // prov.git_sha removed
	b.Run.Data.Metrics[0].Value = 0.9
	b.Artifacts = append(b.Artifacts, FileInfo{Path: "late.txt", FileSize: 3})
	got, _ := json.Marshal(Diff(a, b))
	want := `[{"field":"artifacts.late.txt","before":null,"after":"3"},` +
		`{"field":"metrics.auc","before":"0.871","after":"0.9"},` +
		`{"field":"tags.prov.git_sha","before":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678","after":null}]`
	if string(got) != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
}

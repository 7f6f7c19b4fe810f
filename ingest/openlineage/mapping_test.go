package openlineage

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// merged applies mutations to an in-memory graph the way a Store merges
// upserts (properties and facets key by key, later wins), enough to check
// what a sequence of events leaves behind.
type merged struct {
	nodes map[string]graph.Node
	edges map[string]graph.Edge
}

func newMerged() *merged {
	return &merged{nodes: map[string]graph.Node{}, edges: map[string]graph.Edge{}}
}

func (g *merged) apply(muts []graph.Mutation) {
	for _, m := range muts {
		switch m.Kind {
		case graph.UpsertNode:
			n, ok := g.nodes[m.Node.Key]
			if !ok {
				n = graph.Node{Key: m.Node.Key, Label: m.Node.Label, Props: graph.Props{}, Facets: graph.Facets{}}
			}
			maps.Copy(n.Props, m.Node.Props)
			maps.Copy(n.Facets, m.Node.Facets)
			g.nodes[n.Key] = n
		case graph.UpsertEdge:
			e, ok := g.edges[m.Edge.ID()]
			if !ok {
				e = graph.Edge{Type: m.Edge.Type, From: m.Edge.From, To: m.Edge.To, Props: graph.Props{}}
			}
			maps.Copy(e.Props, m.Edge.Props)
			g.edges[e.ID()] = e
		}
	}
}

func mustDecode(t testing.TB, body []byte) *Event {
	t.Helper()
	ev, err := Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return ev
}

// TestRunStateCycle follows one run through START, RUNNING, COMPLETE and a
// late RUNNING, applying each mapping in log order: the late event moves
// last_event_type but never un-finishes the run.
func TestRunStateCycle(t *testing.T) {
	g := newMerged()
	steps := []struct{ eventType, time string }{
		{"START", "2025-06-14T03:00:00Z"},
		{"RUNNING", "2025-06-14T03:01:00Z"},
		{"COMPLETE", "2025-06-14T03:02:00Z"},
		{"RUNNING", "2025-06-14T03:01:30Z"}, // delivered late
	}
	for i, s := range steps {
		body := edit(t, minimal, func(m map[string]any) {
			m["eventType"], m["eventTime"] = s.eventType, s.time
			obj(m, "run")["facets"] = map[string]any{
				"step": map[string]any{"n": i},
			}
			if s.eventType == "START" {
				obj(m, "run", "facets")["nominalTime"] = map[string]any{"nominalStartTime": "2025-06-14T00:00:00-03:00"}
			}
		})
		ev := mustDecode(t, body)
		muts := flatMap(ev, int64(i+1))
		checkMapping(t, ev, muts, int64(i+1))
		g.apply(muts)
	}
	run := g.nodes[graph.RunKey("01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55")]
	want := graph.Props{
		"last_event_type":    "RUNNING",
		"terminal_state":     "COMPLETE",
		"started_at":         "2025-06-14T03:00:00Z",
		"ended_at":           "2025-06-14T03:02:00Z",
		"nominal_start_time": "2025-06-14T03:00:00Z",
	}
	if d := cmp.Diff(want, run.Props); d != "" {
		t.Fatalf("run props after the cycle (-want +got):\n%s", d)
	}
	if got := string(run.Facets["step"]); got != `{"n":3}` {
		t.Fatalf("run facet step = %s, want the last event's", got)
	}
}

func TestRunFailAndAbort(t *testing.T) {
	ev := mustDecode(t, readFixture(t, "run_fail.json"))
	n := findNode(t, flatMap(ev, 1), ev.RunKey())
	if n.Props["terminal_state"] != "FAIL" || n.Props["error_language"] != "JAVA" ||
		n.Props["error_message"] != "[TABLE_OR_VIEW_NOT_FOUND] The table or view `features`.`risco_cliente_v3` cannot be found." {
		t.Fatalf("failed run props %v", n.Props)
	}
	ev = mustDecode(t, edit(t, minimal, func(m map[string]any) { m["eventType"] = "ABORT" }))
	n = findNode(t, flatMap(ev, 1), ev.RunKey())
	if n.Props["terminal_state"] != "ABORT" || n.Props["ended_at"] == nil || n.Props["started_at"] != nil {
		t.Fatalf("aborted run props %v", n.Props)
	}
	ev = mustDecode(t, edit(t, minimal, func(m map[string]any) { delete(m, "eventType") }))
	n = findNode(t, flatMap(ev, 1), ev.RunKey())
	if len(n.Props) != 0 {
		t.Fatalf("a run event without eventType set run props %v", n.Props)
	}
}

func findNode(t testing.TB, muts []graph.Mutation, key string) graph.Node {
	t.Helper()
	for _, m := range muts {
		if m.Kind == graph.UpsertNode && m.Node.Key == key {
			return m.Node
		}
	}
	t.Fatalf("no node %q", key)
	return graph.Node{}
}

func edgeIDs(muts []graph.Mutation) map[string]graph.Edge {
	out := map[string]graph.Edge{}
	for _, m := range muts {
		if m.Kind == graph.UpsertEdge {
			out[m.Edge.ID()] = m.Edge
		}
	}
	return out
}

// TestDatasetVersionRules checks which node an input or output links to.
func TestDatasetVersionRules(t *testing.T) {
	version := func(v string) map[string]any {
		return map[string]any{"version": map[string]any{"datasetVersion": v}}
	}
	ev := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		obj(m, "inputs", 1)["facets"] = version("v7")
		obj(m, "outputs", 0)["facets"] = version("2025-06-13")
		m["outputs"] = append(m["outputs"].([]any), map[string]any{"namespace": "s3://b", "name": "out1"})
	}))
	muts := flatMap(ev, 1)
	checkMapping(t, ev, muts, 1)
	run := ev.RunKey()
	edges := edgeIDs(muts)
	for _, id := range []string{
		graph.DatasetKey("s3://b", "in0") + " -READ_BY-> " + run,                                               // no version: the dataset
		graph.DatasetVersionKey("s3://b", "in1", "v7") + " -READ_BY-> " + run,                                  // version facet
		graph.DatasetVersionKey("s3://b", "in1", "v7") + " -VERSION_OF-> " + graph.DatasetKey("s3://b", "in1"), //
		run + " -WROTE-> " + graph.DatasetVersionKey("s3://b", "out0", "2025-06-13"),                           // version facet
		run + " -WROTE-> " + graph.DatasetVersionKey("s3://b", "out1", "run-01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55"),
	} {
		if _, ok := edges[id]; !ok {
			t.Errorf("missing edge %s", id)
		}
	}
	if got := ev.OutputKeys(); len(got) != 2 || got[1] != graph.DatasetVersionKey("s3://b", "out1", "run-01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55") {
		t.Errorf("OutputKeys %v", got)
	}
	if got := ev.InputKeys(); len(got) != 3 || got[1] != graph.DatasetVersionKey("s3://b", "in1", "v7") {
		t.Errorf("InputKeys %v", got)
	}
	v := findNode(t, muts, graph.DatasetVersionKey("s3://b", "out1", "run-01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55"))
	if v.Props["version_source"] != VersionFromRun {
		t.Errorf("version_source %v", v.Props["version_source"])
	}
}

// TestDatasetBothInputAndOutput: one dataset read and rewritten by the same
// run is one Dataset node, read as the dataset and written as a version.
func TestDatasetBothInputAndOutput(t *testing.T) {
	ev := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		m["inputs"] = []any{map[string]any{"namespace": "s3://b", "name": "t", "facets": map[string]any{
			"dataSource": map[string]any{"name": "lake"}}}}
		m["outputs"] = []any{map[string]any{"namespace": "s3://b", "name": "t", "facets": map[string]any{
			"dataSource": map[string]any{"name": "lake-2"}}}}
	}))
	muts := flatMap(ev, 1)
	checkMapping(t, ev, muts, 1)
	if got := findNode(t, muts, graph.DatasetKey("s3://b", "t")).Props["datasource_name"]; got != "lake-2" {
		t.Fatalf("datasource_name %v, want the output's (later) value", got)
	}
}

func TestParentEdges(t *testing.T) {
	self := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		obj(m, "run")["facets"] = map[string]any{"parent": map[string]any{
			"run": map[string]any{"runId": "01976C2E5B1A7D3E8F402A9C1D7E6B55"}, // itself, written otherwise
			"job": map[string]any{"namespace": "ns", "name": "job"},
		}}
	}))
	muts := flatMap(self, 1)
	checkMapping(t, self, muts, 1)
	for id, e := range edgeIDs(muts) {
		if e.Type == graph.EdgeChildOf {
			t.Fatalf("self-parent produced %s", id)
		}
	}

	ev := mustDecode(t, readFixture(t, "spark_start.json"))
	muts = flatMap(ev, 1)
	edges := edgeIDs(muts)
	parent := graph.RunKey("01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55")
	root := graph.RunKey("01976c2d-0c00-7a11-b3c4-5e6f70819a2b")
	for _, id := range []string{
		ev.RunKey() + " -CHILD_OF-> " + parent,
		parent + " -RUN_OF-> " + graph.JobKey("airflow-prod", "credit_risk_daily.build_features"),
		root + " -RUN_OF-> " + graph.JobKey("airflow-prod", "credit_risk_daily"),
	} {
		if _, ok := edges[id]; !ok {
			t.Errorf("missing edge %s", id)
		}
	}
	if p := findNode(t, muts, parent); p.Props != nil || p.Facets != nil || p.Label != graph.LabelRun {
		t.Errorf("parent stub %+v, want key and label only", p)
	}
	if got := findNode(t, muts, ev.RunKey()).Props["root_run"]; got != root {
		t.Errorf("root_run %v", got)
	}
}

func TestCorrelationEdges(t *testing.T) {
	ev := mustDecode(t, readFixture(t, "z1_ingestion.json"))
	muts := flatMap(ev, 1)
	edges := edgeIDs(muts)
	ck := graph.CorrelationKey("z1-2025-06-13-0042")
	n := 0
	for _, e := range edges {
		if e.Type == graph.EdgeIngestedAs {
			n++
			if e.From != ck {
				t.Errorf("INGESTED_AS from %s", e.From)
			}
		}
	}
	if n != len(ev.OutputKeys()) || n != 2 {
		t.Fatalf("%d INGESTED_AS edges for %d outputs", n, len(ev.OutputKeys()))
	}
	for _, out := range ev.OutputKeys() {
		if _, ok := edges[ck+" -INGESTED_AS-> "+out]; !ok {
			t.Errorf("no INGESTED_AS to %s", out)
		}
	}
	if findNode(t, muts, ev.RunKey()).Props["z1_correlation_id"] != "z1-2025-06-13-0042" {
		t.Error("run lacks z1_correlation_id")
	}
}

func TestLifecycle(t *testing.T) {
	ev := mustDecode(t, readFixture(t, "lifecycle_rename.json"))
	muts := flatMap(ev, 1)
	oldKey := graph.DatasetKey("hive://metastore.risk.internal:9083", "features.risco_cliente_v1")
	newKey := graph.DatasetKey("hive://metastore.risk.internal:9083", "features.risco_cliente_v2")
	if _, ok := edgeIDs(muts)[oldKey+" -RENAMED_TO-> "+newKey]; !ok {
		t.Fatal("no RENAMED_TO edge")
	}
	if findNode(t, muts, newKey).Props["lifecycle_state"] != "RENAME" {
		t.Fatal("renamed dataset lacks lifecycle_state")
	}
	ev = mustDecode(t, readFixture(t, "lifecycle_drop.json"))
	if findNode(t, flatMap(ev, 1), graph.DatasetKey("hive://metastore.risk.internal:9083", "tmp.risco_cliente_scratch")).Props["lifecycle_state"] != "DROP" {
		t.Fatal("dropped dataset lacks lifecycle_state DROP")
	}
}

func TestJobEventDeclaresDatasets(t *testing.T) {
	ev := mustDecode(t, readFixture(t, "job_event.json"))
	muts := flatMap(ev, 1)
	for _, e := range edgeIDs(muts) {
		if e.Type == graph.EdgeReadBy || e.Type == graph.EdgeWrote {
			t.Fatalf("JobEvent produced run lineage edge %s", e.ID())
		}
	}
	job := findNode(t, muts, ev.JobKey())
	if d := cmp.Diff(ev.InputKeys(), job.Props["declared_inputs"]); d != "" {
		t.Errorf("declared_inputs (-InputKeys +prop):\n%s", d)
	}
	if d := cmp.Diff(ev.OutputKeys(), job.Props["declared_outputs"]); d != "" {
		t.Errorf("declared_outputs (-OutputKeys +prop):\n%s", d)
	}
}

func TestRepoFromURL(t *testing.T) {
	const sha = "9d8c7b6"
	cases := map[string]string{
		"https://github.com/o/r/blob/9d8c7b6/dags/x.py":    "https://github.com/o/r",
		"https://github.com/o/r/tree/9d8c7b6":              "https://github.com/o/r",
		"https://gitlab.example/g/r/-/blob/9d8c7b6/a/b.py": "https://gitlab.example/g/r",
		"https://bitbucket.org/o/r/src/9d8c7b6/x.py":       "https://bitbucket.org/o/r",
		"https://github.com/o/r/blob/main/x.py":            "https://github.com/o/r/blob/main/x.py",
		"git@github.com:o/r.git":                           "git@github.com:o/r.git",
	}
	for in, want := range cases {
		if got := repoFromURL(in, sha); got != want {
			t.Errorf("repoFromURL(%q) = %q, want %q", in, got, want)
		}
	}
	b := &builder{nodes: map[string]*graph.Node{}, edges: map[edgeID]*graph.Edge{}}
	if k := b.commit(&SourceCodeLocationJobFacet{URL: "https://github.com/o/r"}); k != "" {
		t.Errorf("commit without version: %q", k)
	}
	if k := b.commit(&SourceCodeLocationJobFacet{RepoURL: "git@github.com:o/r.git", Version: sha}); k != graph.CommitKey("git@github.com:o/r.git", sha) {
		t.Errorf("commit key %q", k)
	}
}

func TestMapNil(t *testing.T) {
	if muts := flatMap(nil, 1); muts != nil {
		t.Fatalf("flatMap(nil) = %v", muts)
	}
}

func TestMappingLimits(t *testing.T) {
	// Schema fields nested deeper than MaxFieldDepth.
	field := map[string]any{"name": "leaf"}
	for range MaxFieldDepth + 5 {
		field = map[string]any{"name": "n", "fields": []any{field}}
	}
	ev := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		obj(m, "outputs", 0)["facets"] = map[string]any{"schema": map[string]any{"fields": []any{field}}}
	}))
	if len(ev.Warnings) != 1 || !strings.HasPrefix(ev.Warnings[0], "outputs[0].facets.schema.fields: nested deeper") {
		t.Fatalf("warnings %q", ev.Warnings)
	}
	muts := flatMap(ev, 1)
	checkMapping(t, ev, muts, 1)
	fields := 0
	for _, m := range muts {
		if m.Kind == graph.UpsertNode && m.Node.Label == graph.LabelField {
			fields++
		}
	}
	if fields != MaxFieldDepth {
		t.Fatalf("%d fields mapped, want %d", fields, MaxFieldDepth)
	}

	// Dataset-level lineage over MaxDatasetLineageEdges.
	outs := map[string]any{}
	for i := range 101 {
		outs[fmt.Sprintf("o%d", i)] = map[string]any{"inputFields": []any{}}
	}
	var ds []any
	for i := range MaxDatasetLineageEdges/100 + 1 {
		ds = append(ds, map[string]any{"namespace": "n", "name": "t", "field": fmt.Sprintf("f%d", i)})
	}
	ev = mustDecode(t, edit(t, minimal, func(m map[string]any) {
		obj(m, "outputs", 0)["facets"] = map[string]any{"columnLineage": map[string]any{"fields": outs, "dataset": ds}}
	}))
	if len(ev.Warnings) != 1 || !strings.HasPrefix(ev.Warnings[0], "outputs[0].facets.columnLineage.dataset: dataset-level lineage would make") {
		t.Fatalf("warnings %q", ev.Warnings)
	}
	for _, m := range flatMap(ev, 1) {
		if m.Kind == graph.UpsertEdge && m.Edge.Type == graph.EdgeDerives {
			t.Fatalf("dataset-level lineage over the limit mapped %s", m.Edge.ID())
		}
	}

	// Transformations per edge.
	var ins []any
	for i := range MaxTransformationsPerEdge + 10 {
		ins = append(ins, map[string]any{"namespace": "n", "name": "t", "field": "f",
			"transformations": []any{map[string]any{"type": "DIRECT", "description": fmt.Sprint(i)}}})
	}
	ev = mustDecode(t, edit(t, minimal, func(m map[string]any) {
		obj(m, "outputs", 0)["facets"] = map[string]any{"columnLineage": map[string]any{"fields": map[string]any{"o": map[string]any{"inputFields": ins}}}}
	}))
	for _, m := range flatMap(ev, 1) {
		if m.Kind == graph.UpsertEdge && m.Edge.Type == graph.EdgeDerives {
			if n := len(m.Edge.Props["transformation_types"].([]string)); n != MaxTransformationsPerEdge {
				t.Fatalf("%d transformations on %s", n, m.Edge.ID())
			}
		}
	}
}

// TestMapReusesNothingItReturns maps fixtures over and over, from several
// goroutines at once, and checks each result against the same fixture
// mapped alone first: the builders Map keeps between calls must not leak
// one event's nodes, edges or props into another's, nor change a result
// once returned. The goroutines also decode, so that the shared facet and
// group caches are used concurrently (make test runs it under -race).
func TestMapReusesNothingItReturns(t *testing.T) {
	names := []string{"spark_column_lineage_big.json", "airflow_task_complete.json", "dbt_run_complete.json", "unicode_names.json", "dataset_event.json"}
	events := make([]*Event, len(names))
	bodies := make([][]byte, len(names))
	want := make([][]graph.Mutation, len(names))
	for i, name := range names {
		bodies[i] = readFixture(t, name)
		events[i] = mustDecode(t, bodies[i])
		want[i] = flatMap(events[i], int64(i+1))
		if len(want[i]) == 0 {
			t.Fatalf("%s maps to nothing", name)
		}
	}
	kept := flatMap(events[0], 1)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for round := range 10 {
				i := (g + round) % len(events)
				ev := events[i]
				if round%2 == 1 { // decoded here too: the facet caches are shared
					var err error
					if ev, err = Decode(bodies[i]); err != nil {
						errs <- err.Error()
						return
					}
				}
				if got := flatMap(ev, int64(i+1)); !reflect.DeepEqual(want[i], got) {
					errs <- fmt.Sprintf("%s, round %d: (-alone +pooled)\n%s", names[i], round, cmp.Diff(want[i], got))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if !reflect.DeepEqual(want[0], kept) {
		t.Errorf("a result changed after later calls: (-want +got)\n%s", cmp.Diff(want[0], kept))
	}
}

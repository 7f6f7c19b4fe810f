package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/redthread/redthread/graph"
)

type gqlNode struct {
	Key        string         `json:"key"`
	Label      string         `json:"label"`
	Name       *string        `json:"name"`
	Properties map[string]any `json:"properties"`
}

type gqlEdge struct {
	Type string `json:"type"`
	From string `json:"from"`
	To   string `json:"to"`
}

type gqlLineage struct {
	Lineage struct {
		Nodes     []gqlNode `json:"nodes"`
		Edges     []gqlEdge `json:"edges"`
		Truncated bool      `json:"truncated"`
	} `json:"lineage"`
}

const e2eLineageQuery = `query($key: ID!, $direction: Direction!, $depth: Int!) {
  lineage(key: $key, direction: $direction, depth: $depth) { nodes { key label name properties } edges { type from to } truncated }
}`

func (l gqlLineage) hasEdge(typ, from, to string) bool {
	for _, e := range l.Lineage.Edges {
		if e.Type == typ && e.From == from && e.To == to {
			return true
		}
	}
	return false
}

func (l gqlLineage) keys() map[string]bool {
	m := map[string]bool{}
	for _, n := range l.Lineage.Nodes {
		m[n.Key] = true
	}
	return m
}

// wsSubscribe opens a graphql-transport-ws subscription and returns a
// function that reads the next payload, waiting at most wait (nil and
// false when none came).
func wsSubscribe(t *testing.T, baseURL, query string) func(wait time.Duration) (map[string]any, bool) {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(baseURL, "http") + "/graphql"
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(wsURL, http.Header{"Origin": {baseURL}})
	if err != nil {
		t.Fatalf("websocket dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	must := func(v any) {
		if err := conn.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	// One reader goroutine owns the connection's reads, so a wait that
	// times out leaves the connection usable.
	msgs := make(chan map[string]any, 64)
	go func() {
		defer close(msgs)
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			msgs <- m
		}
	}()
	read := func(wait time.Duration) (map[string]any, bool) {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("websocket closed")
			}
			return m, true
		case <-time.After(wait):
			return nil, false
		}
	}
	must(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	if m, _ := read(30 * time.Second); m["type"] != "connection_ack" {
		t.Fatalf("expected connection_ack, got %v", m)
	}
	must(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}})
	return func(wait time.Duration) (map[string]any, bool) {
		for {
			m, ok := read(wait)
			if !ok {
				return nil, false
			}
			switch m["type"] {
			case "next":
				return m["payload"].(map[string]any), true
			case "ping":
				must(map[string]any{"type": "pong"})
			case "error", "complete":
				t.Fatalf("subscription ended: %v", m)
			}
		}
	}
}

// TestEndToEnd starts the real binary, subscribes over a websocket, posts
// events over HTTP and reads the lineage back through GraphQL.
func TestEndToEnd(t *testing.T) {
	srv := startServer(t, t.TempDir())
	next := wsSubscribe(t, srv.URL, `subscription { lineageEvents { offset kind eventType runKey jobKey } }`)

	// The server registers a subscription after it reads the subscribe
	// message, which the client cannot observe: post warm-up events until
	// one comes through, so the events below are published to a live
	// subscriber. (A liveness wait, not a timing assertion.)
	post := func(runID, et string) {
		t.Helper()
		status, body, err := postJSON(t.Context(), srv.URL+"/api/v1/lineage",
			runEvent(runID, et, "etl.orders", "postgres://db:5432", "shop.orders", "s3://lake", "curated/orders"))
		if err != nil || status != http.StatusCreated || len(body) != 0 {
			t.Fatalf("post %s: %d %q %v", et, status, body, err)
		}
	}
	for i := 0; ; i++ {
		post(fmt.Sprintf("0195c4d4-0000-7000-8000-%012d", i), "START")
		if _, ok := next(2 * time.Second); ok {
			break
		}
		if i == 15 {
			t.Fatal("the subscription received none of 16 warm-up events")
		}
	}

	runID := "0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c"
	for _, et := range []string{"START", "COMPLETE"} {
		post(runID, et)
	}
	// Skip any warm-up notices still queued; the first notice of runID must
	// be its START.
	var ev map[string]any
	for ev == nil || strings.HasPrefix(fmt.Sprint(ev["runKey"]), "run:0195c4d4-0000-") {
		msg, ok := next(30 * time.Second)
		if !ok {
			t.Fatal("no subscription notice for the run")
		}
		ev, _ = msg["data"].(map[string]any)["lineageEvents"].(map[string]any)
		if ev == nil {
			t.Fatalf("subscription payload %v", msg)
		}
	}
	if ev["runKey"] != graph.RunKey(runID) || ev["kind"] != "RunEvent" || ev["eventType"] != "START" {
		t.Fatalf("subscription notice %v, want the START of %s", ev, runID)
	}

	var l gqlLineage
	src := graph.DatasetKey("postgres://db:5432", "shop.orders")
	srv.gql(t, e2eLineageQuery, map[string]any{"key": src, "direction": "DOWNSTREAM", "depth": 3}, &l)
	run := graph.RunKey(runID)
	out := graph.DatasetVersionKey("s3://lake", "curated/orders", "run-"+runID)
	if !l.hasEdge("READ_BY", src, run) || !l.hasEdge("WROTE", run, out) {
		t.Fatalf("lineage from %s lacks READ_BY/WROTE: %+v", src, l)
	}

	// Bad input: a GraphQL error with extensions.code, and HTTP JSON errors.
	errs := srv.gqlErrors(t, e2eLineageQuery, map[string]any{"key": "dataset:nope:missing", "direction": "DOWNSTREAM", "depth": 2}, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "NOT_FOUND" {
		t.Fatalf("unknown key: errors %+v, want NOT_FOUND", errs)
	}
	status, body, _ := postJSON(t.Context(), srv.URL+"/api/v1/lineage", []byte(`{"eventType":"START","eventTime":"2025-11-12T10:30:00Z","run":{},"job":{"namespace":"n","name":"j"}}`))
	if status != 422 || !strings.Contains(string(body), `"field":"run.runId"`) {
		t.Fatalf("invalid event: %d %s", status, body)
	}
}

// TestOpenLineagePythonClient sends events with the real openlineage-python
// client (HTTP transport, gzip, API key) and checks the graph.
func TestOpenLineagePythonClient(t *testing.T) {
	python := os.Getenv("REDTHREAD_OL_PYTHON")
	if python == "" {
		python = filepath.Join(os.Getenv("HOME"), ".cache/redthread/venv-openlineage/bin/python")
	}
	if _, err := os.Stat(python); err != nil {
		msg := fmt.Sprintf("openlineage-python venv not found at %s: run `make deps-python`", python)
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	srv := startServer(t, t.TempDir(), "--api-key", "e2e-secret")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/ol_emit.py", srv.URL, "e2e-secret")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ol_emit.py: %v\n%s\nserver logs:\n%s", err, stderr, srv.logs)
	}
	var sent struct {
		TaskRun      string    `json:"task_run"`
		DagRun       string    `json:"dag_run"`
		JobNamespace string    `json:"job_namespace"`
		JobName      string    `json:"job_name"`
		Input        [3]string `json:"input"`
		Output       [2]string `json:"output"`
		DatasetEvent [2]string `json:"dataset_event"`
		JobEvent     [2]string `json:"job_event"`
	}
	if err := json.Unmarshal(out, &sent); err != nil {
		t.Fatalf("ol_emit.py output %q: %v", out, err)
	}
	run := graph.RunKey(sent.TaskRun)
	var l gqlLineage
	srv.gql(t, e2eLineageQuery, map[string]any{"key": run, "direction": "BOTH", "depth": 1}, &l)
	in := graph.DatasetVersionKey(sent.Input[0], sent.Input[1], sent.Input[2])
	outKey := graph.DatasetVersionKey(sent.Output[0], sent.Output[1], "run-"+sent.TaskRun)
	for _, e := range []gqlEdge{
		{"READ_BY", in, run}, {"WROTE", run, outKey},
		{"RUN_OF", run, graph.JobKey(sent.JobNamespace, sent.JobName)},
		{"CHILD_OF", run, graph.RunKey(sent.DagRun)},
	} {
		if !l.hasEdge(e.Type, e.From, e.To) {
			t.Errorf("missing edge %s -%s-> %s in %+v", e.From, e.Type, e.To, l.Lineage.Edges)
		}
	}
	for _, n := range l.Lineage.Nodes {
		if n.Key == run && n.Properties["terminal_state"] != "COMPLETE" {
			t.Errorf("run state: %v", n.Properties)
		}
	}
	var nodes struct {
		Nodes []gqlNode `json:"nodes"`
	}
	srv.gql(t, `query($keys: [ID!]!) { nodes(keys: $keys) { key label } }`, map[string]any{"keys": []string{
		graph.DatasetKey(sent.DatasetEvent[0], sent.DatasetEvent[1]),
		graph.JobKey(sent.JobEvent[0], sent.JobEvent[1]),
		graph.FieldKey(sent.Output[0], sent.Output[1], "total_gasto"),
	}}, &nodes)
	if len(nodes.Nodes) != 3 {
		t.Fatalf("dataset event, job event and column-lineage field should all be in the graph: %+v", nodes.Nodes)
	}
}

// TestStrictMode validates events against the official OpenLineage JSON
// Schemas: what the lenient decoder accepts with a warning is refused.
func TestStrictMode(t *testing.T) {
	specDir, err := filepath.Abs("../../../shared/openlineage-spec")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(specDir, "OpenLineage.json")); err != nil {
		if inCI() {
			t.Fatalf("OpenLineage spec not found at %s", specDir)
		}
		t.Skipf("OpenLineage spec not found at %s", specDir)
	}
	lenient := startServer(t, t.TempDir())
	strict := startServer(t, t.TempDir(), "--strict", "--spec-dir", specDir)
	good := runEvent("0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6d", "START", "strict.job", "s3://a", "in", "s3://a", "out")
	noSchema := []byte(strings.Replace(string(good), `"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",`, "", 1))
	if string(noSchema) == string(good) {
		t.Fatal("test event has no schemaURL to remove")
	}
	for _, c := range []struct {
		srv    *serverProc
		body   []byte
		status int
	}{{strict, good, 201}, {strict, noSchema, 422}, {lenient, noSchema, 201}} {
		status, body, err := postJSON(t.Context(), c.srv.URL+"/api/v1/lineage", c.body)
		if err != nil || status != c.status {
			t.Fatalf("status %d, want %d: %s %v", status, c.status, body, err)
		}
		if status == 422 && !strings.Contains(string(body), "schemaURL") {
			t.Fatalf("strict rejection should name schemaURL: %s", body)
		}
	}
}

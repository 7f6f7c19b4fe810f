package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlexec"
	"github.com/redthread/redthread/internal/gqlhandler"
	"github.com/redthread/redthread/internal/pubsub"
	"github.com/redthread/redthread/resolvers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The fixture is one thread of provenance, Z1 to Z6:
//
//	correlation -INGESTED_AS-> orders@v1 -READ_BY-> run -REGISTERED_AS-> model v3 -DEPLOYED_AS-> deployment
//
// with context edges orders@v1 -VERSION_OF-> orders and run -RUN_OF-> job.
// Each node is first seen one hour after the one before it.
var (
	t0            = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	keyCorr       = graph.CorrelationKey("z1-abc")
	keyOrders     = graph.DatasetKey("postgres://db.example:5432", "public.orders")
	keyOrdersV1   = graph.DatasetVersionKey("postgres://db.example:5432", "public.orders", "v1")
	keyJob        = graph.JobKey("airflow://prod:8080", "train_risk")
	keyRun        = graph.RunKey("0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c")
	keyModel      = graph.ModelVersionKey("mlflow://127.0.0.1:5000", "risk", "3")
	keyDeployment = graph.DeploymentKey("prod", "scoring", "pod-1")
)

func at(h int) graph.Provenance {
	return graph.Provenance{
		FirstSeen: t0.Add(time.Duration(h) * time.Hour), LastSeen: t0.Add(time.Duration(h+1) * time.Hour),
		FirstOffset: int64(h + 1), LastOffset: int64(h + 2),
	}
}

func fixture() *fakeStore {
	nodes := []graph.Node{
		{Key: keyCorr, Label: graph.LabelCorrelation, Provenance: at(0)},
		{Key: keyOrdersV1, Label: graph.LabelDatasetVersion, Props: graph.Props{"name": "public.orders", "rows": int64(42)},
			Facets: graph.Facets{"schema": json.RawMessage(`{"fields": [{"name": "id"}]}`)}, Provenance: at(1)},
		{Key: keyOrders, Label: graph.LabelDataset, Props: graph.Props{"name": "public.orders"}, Provenance: at(1)},
		{Key: keyRun, Label: graph.LabelRun, Props: graph.Props{"loss": 0.25}, Provenance: at(2)},
		{Key: keyJob, Label: graph.LabelJob, Props: graph.Props{"name": "train_risk"}, Provenance: at(2)},
		{Key: keyModel, Label: graph.LabelModelVersion, Props: graph.Props{"name": "risk"}, Provenance: at(3)},
		{Key: keyDeployment, Label: graph.LabelDeployment}, // no provenance: times and offsets unknown
	}
	edges := []graph.Edge{
		{Type: graph.EdgeIngestedAs, From: keyCorr, To: keyOrdersV1, Provenance: at(1)},
		{Type: graph.EdgeVersionOf, From: keyOrdersV1, To: keyOrders, Provenance: at(1)},
		{Type: graph.EdgeReadBy, From: keyOrdersV1, To: keyRun, Props: graph.Props{"role": "train"}, Provenance: at(2)},
		{Type: graph.EdgeRunOf, From: keyRun, To: keyJob, Provenance: at(2)},
		{Type: graph.EdgeRegisteredAs, From: keyRun, To: keyModel, Provenance: at(3)},
		{Type: graph.EdgeDeployedAs, From: keyModel, To: keyDeployment, Provenance: at(4)},
	}
	return newFakeStore(nodes, edges)
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// codes lists the extensions.code of each error.
func (r response) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// env is a GraphQL server over a fake store, as cmd/redthread wires it.
type env struct {
	t     *testing.T
	store *fakeStore
	hub   *pubsub.Hub
	srv   *httptest.Server
	logs  *syncBuffer
}

func newEnv(t *testing.T, opts gqlhandler.Options) *env {
	t.Helper()
	e := &env{t: t, store: fixture(), hub: pubsub.New(), logs: &syncBuffer{}}
	if opts.Store == nil {
		opts.Store = e.store
	}
	opts.Hub = e.hub
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	e.srv = httptest.NewServer(gqlhandler.New(opts))
	t.Cleanup(func() {
		e.srv.Close()
		e.hub.Close()
	})
	return e
}

// query POSTs a query and decodes the response, which must be 200.
func (e *env) query(q string, vars map[string]any) response {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		e.t.Fatalf("decode response (status %d): %v", res.StatusCode, err)
	}
	return r
}

// data decodes the data of a response that must have no errors.
func (e *env) data(r response, into any) {
	e.t.Helper()
	if len(r.Errors) > 0 {
		e.t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, into); err != nil {
		e.t.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// wantError checks that r failed with one error of code (and field, if not empty).
func (e *env) wantError(r response, code, field string) {
	e.t.Helper()
	if len(r.Errors) != 1 {
		e.t.Fatalf("got %d errors %+v, want one %s", len(r.Errors), r.Errors, code)
	}
	if got := r.Errors[0].Extensions["code"]; got != code {
		e.t.Fatalf("code = %v, want %s (error %+v)", got, code, r.Errors[0])
	}
	if field != "" {
		if got := r.Errors[0].Extensions["field"]; got != field {
			e.t.Fatalf("field = %v, want %s (error %+v)", got, field, r.Errors[0])
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type nodeOut struct {
	Key         string          `json:"key"`
	Label       string          `json:"label"`
	Name        *string         `json:"name"`
	Properties  json.RawMessage `json:"properties"`
	Facets      json.RawMessage `json:"facets"`
	FirstSeen   *string         `json:"firstSeen"`
	LastSeen    *string         `json:"lastSeen"`
	FirstOffset *int64          `json:"firstOffset"`
	LastOffset  *int64          `json:"lastOffset"`
}

const nodeFields = `key label name properties facets firstSeen lastSeen firstOffset lastOffset`

func ptr[T any](v T) *T { return &v }

func TestNode(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	var got struct{ Node *nodeOut }
	e.data(e.query(`query($k: ID!) { node(key: $k) { `+nodeFields+` } }`, map[string]any{"k": keyOrdersV1}), &got)
	want := &nodeOut{
		Key: keyOrdersV1, Label: "DatasetVersion", Name: ptr("public.orders"),
		Properties: json.RawMessage(`{"name":"public.orders","rows":42}`),
		Facets:     json.RawMessage(`{"schema":{"fields":[{"name":"id"}]}}`),
		FirstSeen:  ptr("2024-05-01T13:00:00Z"), LastSeen: ptr("2024-05-01T14:00:00Z"),
		FirstOffset: ptr(int64(2)), LastOffset: ptr(int64(3)),
	}
	if d := cmp.Diff(want, got.Node); d != "" {
		t.Fatalf("node mismatch (-want +got):\n%s", d)
	}

	// Unknown provenance shows as null, missing properties as {}.
	e.data(e.query(`query($k: ID!) { node(key: $k) { `+nodeFields+` } }`, map[string]any{"k": keyDeployment}), &got)
	want = &nodeOut{Key: keyDeployment, Label: "Deployment", Properties: json.RawMessage(`{}`), Facets: json.RawMessage(`{}`)}
	if d := cmp.Diff(want, got.Node); d != "" {
		t.Fatalf("node mismatch (-want +got):\n%s", d)
	}

	// An absent node is null, not an error.
	e.data(e.query(`{ node(key: "run:nope") { key } }`, nil), &got)
	if got.Node != nil {
		t.Fatalf("absent node = %+v, want null", got.Node)
	}

	e.wantError(e.query(`{ node(key: "dataset:no-name") { key } }`, nil), graph.EINVALID, "key")
}

func TestNodes(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	var got struct{ Nodes []struct{ Key string } }
	e.data(e.query(`query($ks: [ID!]!) { nodes(keys: $ks) { key } }`,
		map[string]any{"ks": []string{keyRun, "run:absent", keyCorr}}), &got)
	if d := cmp.Diff([]struct{ Key string }{{keyRun}, {keyCorr}}, got.Nodes); d != "" {
		t.Fatalf("nodes mismatch (-want +got):\n%s", d)
	}

	e.wantError(e.query(`{ nodes(keys: ["run:x", "nonsense"]) { key } }`, nil), graph.EINVALID, "keys[1]")

	many := make([]string, resolvers.MaxKeys+1)
	for i := range many {
		many[i] = "run:x"
	}
	e.wantError(e.query(`query($ks: [ID!]!) { nodes(keys: $ks) { key } }`, map[string]any{"ks": many}), graph.ETOOLARGE, "keys")
}

func TestSearch(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	type page struct {
		Search struct {
			Nodes []struct{ Key string }
			Next  *string
		}
	}
	q := `query($text: String, $labels: [Label!], $after: String, $limit: Int) {
		search(text: $text, labels: $labels, after: $after, limit: $limit) { nodes { key } next } }`

	// Page through everything named or keyed "orders", two at a time.
	var keys []string
	var after *string
	for range 5 {
		var p page
		e.data(e.query(q, map[string]any{"text": "ORDERS", "after": after, "limit": 2}), &p)
		for _, n := range p.Search.Nodes {
			keys = append(keys, n.Key)
		}
		if after = p.Search.Next; after == nil {
			break
		}
	}
	if d := cmp.Diff([]string{keyOrders, keyOrdersV1}, keys); d != "" {
		t.Fatalf("paged keys mismatch (-want +got):\n%s", d)
	}

	var p page
	e.data(e.query(q, map[string]any{"labels": []string{"Run", "Job"}}), &p)
	if len(p.Search.Nodes) != 2 || p.Search.Next != nil {
		t.Fatalf("label search = %+v, want the job and the run and no next page", p.Search)
	}
	if got := e.store.search().Limit; got != graph.DefaultSearchLimit+1 {
		t.Fatalf("store asked for %d nodes, want the default page plus one", got)
	}

	e.data(e.query(q, map[string]any{"limit": 5000}), &p)
	if got := e.store.search().Limit; got != graph.MaxSearchLimit {
		t.Fatalf("limit 5000 asked the store for %d, want it clamped to %d", got, graph.MaxSearchLimit)
	}

	e.wantError(e.query(q, map[string]any{"limit": 0}), graph.EINVALID, "limit")
	e.wantError(e.query(q, map[string]any{"limit": -3}), graph.EINVALID, "limit")
}

type lineageOut struct {
	Root      []string
	Direction string
	Depth     int
	AsOf      *string
	Truncated bool
	Nodes     []struct{ Key string }
	Edges     []struct{ Type, From, To string }
}

func (l lineageOut) keys() []string {
	var out []string
	for _, n := range l.Nodes {
		out = append(out, n.Key)
	}
	return out
}

func TestLineage(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	const q = `query($key: ID!, $dir: Direction, $depth: Int, $asOf: Time, $types: [EdgeType!], $max: Int) {
		lineage(key: $key, direction: $dir, depth: $depth, asOf: $asOf, edgeTypes: $types, maxNodes: $max) {
			root direction depth asOf truncated nodes { key } edges { type from to } } }`
	run := func(vars map[string]any) lineageOut {
		t.Helper()
		var got struct{ Lineage lineageOut }
		e.data(e.query(q, vars), &got)
		return got.Lineage
	}

	// Impact of the correlation id, two hops, with the defaults otherwise.
	got := run(map[string]any{"key": keyCorr, "depth": 2})
	if d := cmp.Diff([]string{keyCorr, keyOrders, keyOrdersV1, keyRun}, got.keys()); d != "" {
		t.Fatalf("downstream nodes mismatch (-want +got):\n%s", d)
	}
	if got.Direction != "DOWNSTREAM" || got.Depth != 2 || got.AsOf != nil || got.Truncated || len(got.Edges) != 3 {
		t.Fatalf("downstream lineage = %+v", got)
	}
	if d := cmp.Diff([]string{keyCorr}, got.Root); d != "" {
		t.Fatalf("root mismatch (-want +got):\n%s", d)
	}

	// Provenance of the deployment, following lineage edges only, as deep as allowed.
	got = run(map[string]any{"key": keyDeployment, "dir": "UPSTREAM", "depth": 500,
		"types": []string{"INGESTED_AS", "READ_BY", "REGISTERED_AS", "DEPLOYED_AS"}})
	if d := cmp.Diff([]string{keyCorr, keyOrdersV1, keyDeployment, keyModel, keyRun}, got.keys()); d != "" {
		t.Fatalf("upstream nodes mismatch (-want +got):\n%s", d)
	}
	if got.Depth != graph.MaxDepth || e.store.traversal().Depth != graph.MaxDepth {
		t.Fatalf("depth 500 gave depth %d (store got %d), want it clamped to %d", got.Depth, e.store.traversal().Depth, graph.MaxDepth)
	}

	// As of 14:30 the run (seen at 14:00) exists, the model (15:00) does not.
	got = run(map[string]any{"key": keyRun, "dir": "BOTH", "depth": 1, "asOf": "2024-05-01T16:30:00+02:00"})
	if d := cmp.Diff([]string{keyOrdersV1, keyJob, keyRun}, got.keys()); d != "" {
		t.Fatalf("as-of nodes mismatch (-want +got):\n%s", d)
	}
	if got.AsOf == nil || *got.AsOf != "2024-05-01T14:30:00Z" {
		t.Fatalf("asOf = %v, want it echoed in UTC", got.AsOf)
	}

	got = run(map[string]any{"key": keyCorr, "depth": 10, "max": 2})
	if !got.Truncated || len(got.Nodes) != 2 {
		t.Fatalf("maxNodes 2 gave %d nodes, truncated=%v", len(got.Nodes), got.Truncated)
	}

	// A plain date is midnight UTC: nothing existed then.
	e.wantError(e.query(q, map[string]any{"key": keyCorr, "asOf": "2024-05-01"}), graph.ENOTFOUND, "")

	for _, c := range []struct {
		name  string
		vars  map[string]any
		code  string
		field string
	}{
		{"unknown key", map[string]any{"key": "run:unknown"}, graph.ENOTFOUND, "key"},
		{"malformed key", map[string]any{"key": "model:only-registry"}, graph.EINVALID, "key"},
		{"negative depth", map[string]any{"key": keyCorr, "depth": -1}, graph.EINVALID, "depth"},
		{"zero maxNodes", map[string]any{"key": keyCorr, "max": 0}, graph.EINVALID, "maxNodes"},
		{"bad time", map[string]any{"key": keyCorr, "asOf": "yesterday"}, graph.EINVALID, "asOf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.wantError(e.query(q, c.vars), c.code, c.field)
		})
	}
}

func TestCounts(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	var got struct {
		Counts struct {
			TotalNodes, TotalEdges int
			Nodes                  []struct {
				Label string
				Count int
			}
			Edges []struct {
				Type  string
				Count int
			}
		}
	}
	e.data(e.query(`{ counts { totalNodes totalEdges nodes { label count } edges { type count } } }`, nil), &got)
	c := got.Counts
	if c.TotalNodes != 7 || c.TotalEdges != 6 || len(c.Nodes) != len(graph.Labels) || len(c.Edges) != len(graph.EdgeTypes) {
		t.Fatalf("counts = %+v", c)
	}
	if c.Nodes[0].Label != string(graph.Labels[0]) || c.Nodes[0].Count != 1 {
		t.Fatalf("first label count = %+v, want one %s", c.Nodes[0], graph.Labels[0])
	}
}

// An unexpected store error is logged with its cause and shown only as
// "internal error"; a panic is too.
func TestInternalErrorsHidden(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	e.store.setFail(errors.New("disk on fire at /var/lib/secret"))
	r := e.query(`{ counts { totalNodes } }`, nil)
	e.wantError(r, graph.EINTERNAL, "")
	if r.Errors[0].Message != "internal error" {
		t.Fatalf("message = %q, want it hidden", r.Errors[0].Message)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Fatalf("the cause was not logged; logs:\n%s", e.logs.String())
	}

	p := newEnv(t, gqlhandler.Options{Store: panicStore{e.store}})
	r = p.query(`{ counts { totalNodes } }`, nil)
	p.wantError(r, graph.EINTERNAL, "")
	if r.Errors[0].Message != "internal error" || strings.Contains(string(r.Data), "boom") {
		t.Fatalf("panic leaked: %+v", r)
	}
	if logs := p.logs.String(); !strings.Contains(logs, "boom") || !strings.Contains(logs, "stack") {
		t.Fatalf("the panic was not logged with its stack; logs:\n%s", logs)
	}
}

// panicStore panics where a store could have a bug.
type panicStore struct{ *fakeStore }

func (panicStore) Counts(context.Context) (graph.Counts, error) { panic("boom") }

// The schema's enums list exactly the domain's values: gqlgen checks that
// each enum value names a constant; this checks that no constant is missing.
func TestSchemaEnumsMatchDomain(t *testing.T) {
	schema := gqlexec.NewExecutableSchema(gqlexec.Config{Resolvers: &resolvers.Resolver{}}).Schema()
	values := func(name string) []string {
		var out []string
		for _, v := range schema.Types[name].EnumValues {
			out = append(out, v.Name)
		}
		return out
	}
	var labels, edgeTypes []string
	for _, l := range graph.Labels {
		labels = append(labels, string(l))
	}
	for _, et := range graph.EdgeTypes {
		edgeTypes = append(edgeTypes, string(et))
	}
	for _, c := range []struct {
		enum string
		want []string
	}{
		{"Label", labels},
		{"EdgeType", edgeTypes},
		{"Direction", []string{string(graph.Downstream), string(graph.Upstream), string(graph.Both)}},
	} {
		if d := cmp.Diff(c.want, values(c.enum)); d != "" {
			t.Errorf("enum %s differs from package graph (-graph +schema):\n%s", c.enum, d)
		}
	}
}

// A scalar that does not parse is reported on the argument that held it,
// whether the value came in a variable or inline.
func TestScalarErrorsNameTheArgument(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	const want = `asOf: "yesterday" is not an RFC 3339 time such as 2024-05-01T12:00:00Z`
	for _, r := range []response{
		e.query(`query($key: ID!, $t: Time) { lineage(key: $key, asOf: $t) { depth } }`, map[string]any{"key": keyCorr, "t": "yesterday"}),
		e.query(`{ lineage(key: "`+keyCorr+`", asOf: "yesterday") { depth } }`, nil),
	} {
		e.wantError(r, graph.EINVALID, "asOf")
		if r.Errors[0].Message != want {
			t.Fatalf("message %q, want %q", r.Errors[0].Message, want)
		}
	}
}

// lineage asks the store for a skeleton traversal exactly when the query
// selects nothing of nodes and edges beyond keys, labels, edge ends and
// provenance, whatever fragments it is written with.
func TestLineageSkeletonFromSelection(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	for _, c := range []struct {
		selection, fragments string
		skeleton             bool
	}{
		{`nodes { key } edges { from to type }`, "", true},
		{`root depth truncated nodes { __typename key label firstSeen lastSeen firstOffset lastOffset } edges { id type from to firstSeen lastSeen firstOffset lastOffset }`, "", true},
		{`truncated`, "", true},
		{`nodes { ... on Node { key label } } edges { ...E }`, `fragment E on Edge { type from to }`, true},
		{`nodes { key name }`, "", false},
		{`nodes { key properties }`, "", false},
		{`nodes { key } edges { from facets }`, "", false},
		{`nodes { ... on Node { facets } }`, "", false},
		{`edges { ...E }`, `fragment E on Edge { from properties }`, false},
	} {
		q := `query($key: ID!) { lineage(key: $key, depth: 2) { ` + c.selection + ` } } ` + c.fragments
		r := e.query(q, map[string]any{"key": keyCorr})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", c.selection, r.Errors)
		}
		if got := e.store.traversal().Skeleton; got != c.skeleton {
			t.Errorf("%s: skeleton %v, want %v", c.selection, got, c.skeleton)
		}
	}
}

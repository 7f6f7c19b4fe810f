package gqlhandler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlhandler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// emptyStore is a graph.Store with nothing in it.
type emptyStore struct{}

func (emptyStore) Apply(context.Context, ...graph.Batch) error  { return nil }
func (emptyStore) AppliedOffset(context.Context) (int64, error) { return 0, nil }
func (emptyStore) Nodes(context.Context, ...string) ([]graph.Node, error) {
	return nil, nil
}
func (emptyStore) Traverse(_ context.Context, t graph.Traversal) (graph.Subgraph, error) {
	return graph.Subgraph{}, graph.Errorf(graph.ENOTFOUND, "no node %q", t.Start[0])
}
func (emptyStore) Search(context.Context, graph.SearchQuery) ([]graph.Node, error) { return nil, nil }
func (emptyStore) Counts(context.Context) (graph.Counts, error)                    { return graph.Counts{}, nil }
func (emptyStore) Close() error                                                    { return nil }

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func serve(t *testing.T, opts gqlhandler.Options) *httptest.Server {
	t.Helper()
	if opts.Store == nil {
		opts.Store = emptyStore{}
	}
	srv := httptest.NewServer(gqlhandler.New(opts))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, body string) (int, gqlResponse) {
	t.Helper()
	status, _, r := request(t, srv, http.MethodPost, "application/json", body)
	return status, r
}

// request sends body to /graphql with method and contentType (none when
// empty) and decodes the GraphQL-shaped answer.
func request(t *testing.T, srv *httptest.Server, method, contentType, body string) (int, http.Header, gqlResponse) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r gqlResponse
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("%s %q %q: decode (status %d): %v", method, contentType, body, res.StatusCode, err)
	}
	return res.StatusCode, res.Header, r
}

func postQuery(t *testing.T, srv *httptest.Server, query string) gqlResponse {
	t.Helper()
	b, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		t.Fatal(err)
	}
	_, r := post(t, srv, string(b))
	return r
}

func wantCode(t *testing.T, r gqlResponse, code string) {
	t.Helper()
	if len(r.Errors) == 0 {
		t.Fatalf("no error, want %s; data %s", code, r.Data)
	}
	if got := r.Errors[0].Extensions["code"]; got != code {
		t.Fatalf("code %v (%q), want %s", got, r.Errors[0].Message, code)
	}
}

func wantOK(t *testing.T, r gqlResponse) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
}

// typeRef selects kind and name through n levels of ofType, the way
// GraphiQL's introspection query does.
func typeRef(n int) string {
	s := "kind name"
	for range n {
		s = "kind name ofType { " + s + " }"
	}
	return s
}

// introspection is shaped like the query GraphiQL sends to load the
// schema: __schema > types > fields > args > type > 9 levels of ofType >
// name, 15 fields deep, through fragments.
func introspection(ofTypes int) string {
	return `query IntrospectionQuery {
  __schema { queryType { name } subscriptionType { name } types { ...FullType } }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } }
  inputFields { ...InputValue }
  enumValues(includeDeprecated: true) { name }
}
fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { ` + typeRef(ofTypes) + ` }`
}

func TestDepthLimit(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	wantOK(t, postQuery(t, srv, introspection(9)))
	r := postQuery(t, srv, introspection(10))
	wantCode(t, r, gqlhandler.CodeDepthLimit)
	if !strings.Contains(r.Errors[0].Message, "depth 16") {
		t.Fatalf("message %q should name the depth", r.Errors[0].Message)
	}

	shallow := serve(t, gqlhandler.Options{MaxDepth: 2})
	wantOK(t, postQuery(t, shallow, `{ counts { totalNodes } }`))
	wantCode(t, postQuery(t, shallow, `{ search { nodes { key } } }`), gqlhandler.CodeDepthLimit)
	// Fragments count where they are spread, inline or named.
	wantCode(t, postQuery(t, shallow, `{ search { ... on SearchResult { nodes { key } } } }`), gqlhandler.CodeDepthLimit)
	wantCode(t, postQuery(t, shallow, `query { search { ...R } } fragment R on SearchResult { nodes { ...N } } fragment N on Node { key }`), gqlhandler.CodeDepthLimit)
}

func TestComplexityLimit(t *testing.T) {
	srv := serve(t, gqlhandler.Options{MaxComplexity: 5})
	wantOK(t, postQuery(t, srv, `{ counts { totalNodes } }`))
	var b strings.Builder
	b.WriteString("{")
	for i := range 4 {
		fmt.Fprintf(&b, " c%d: counts { totalNodes totalEdges }", i)
	}
	b.WriteString(" }")
	wantCode(t, postQuery(t, srv, b.String()), "COMPLEXITY_LIMIT_EXCEEDED")
}

func TestProtocolErrorsKeepTheirCodes(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	wantCode(t, postQuery(t, srv, `{ counts {`), "GRAPHQL_PARSE_FAILED")
	wantCode(t, postQuery(t, srv, `{ nosuchfield }`), "GRAPHQL_VALIDATION_FAILED")
	wantCode(t, postQuery(t, srv, `{ lineage(key: "run:x") { depth } }`), graph.ENOTFOUND)
}

func TestGET(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	res, err := srv.Client().Get(srv.URL + "/graphql?query=" + url.QueryEscape(`{ counts { totalNodes } }`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r gqlResponse
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	wantOK(t, r)
	if string(r.Data) != `{"counts":{"totalNodes":0}}` {
		t.Fatalf("data %s", r.Data)
	}
}

func TestBodyLimit(t *testing.T) {
	srv := serve(t, gqlhandler.Options{MaxBodyBytes: 64})
	q := `{"query":"{ counts { totalNodes } }","variables":{"pad":"` + strings.Repeat("x", 100) + `"}}`
	status, r := post(t, srv, q)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
	wantCode(t, r, graph.ETOOLARGE)
}

// Without a hub, subscriptions say the feature is unavailable.
func TestSubscriptionWithoutHub(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(v any) {
		if err := conn.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	type msg struct {
		Type    string
		Payload gqlResponse
	}
	read := func() msg {
		for {
			var m msg
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
			if m.Type != "ping" && m.Type != "pong" {
				return m
			}
		}
	}
	send(map[string]any{"type": "connection_init"})
	if m := read(); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { lineageEvents { offset } }"}})
	m := read()
	if m.Type != "next" {
		t.Fatalf("got %s, want next", m.Type)
	}
	wantCode(t, m.Payload, graph.EUNAVAILABLE)
	if m := read(); m.Type != "complete" {
		t.Fatalf("got %s, want complete", m.Type)
	}
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

// A refused websocket origin is a 403 with a coded GraphQL error, before
// gqlgen sees the request.
func TestOriginRefused(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Origin", "https://attacker.example")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body.String(), `"code":"UNAUTHORIZED"`) {
		t.Fatalf("status %d body %s, want 403 UNAUTHORIZED", res.StatusCode, body.String())
	}
}

// Requests that are not GraphQL requests get a status and a code that say
// what is wrong, and the message never echoes the body.
func TestMalformedRequests(t *testing.T) {
	srv := serve(t, gqlhandler.Options{})
	for _, c := range []struct {
		name, method, contentType, body string
		status                          int
		code, field, message            string
	}{
		{"not JSON", "POST", "application/json", "secret not json", 400, graph.EINVALID, "", "request body is not JSON: invalid character 's' looking for beginning of value (at byte 1)"},
		{"empty", "POST", "application/json", "  ", 400, graph.EINVALID, "", "empty request body; send a JSON object with a query"},
		{"array", "POST", "application/json", `[{"query":"{ counts { totalNodes } }"}]`, 400, graph.EINVALID, "", "request body must be a JSON object, not array"},
		{"null", "POST", "application/json", ` null`, 400, graph.EINVALID, "", "request body must be a JSON object, not null"},
		{"query not a string", "POST", "application/json", `{"query": 5}`, 400, graph.EINVALID, "query", "must be a string, not number"},
		{"variables not an object", "POST", "application/json", `{"query":"{ counts { totalNodes } }","variables":[1]}`, 400, graph.EINVALID, "variables", "must be a JSON object"},
		{"trailing data", "POST", "application/json", `{"query":"{ counts { totalNodes } }"} secret`, 400, graph.EINVALID, "", "request body is not JSON: invalid character 's' after top-level value (at byte 39)"},
		{"text/plain", "POST", "text/plain", `{"query":"{ counts { totalNodes } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", "", `Content-Type "text/plain" is not supported; send application/json`},
		{"no content type", "POST", "", `{"query":"{ counts { totalNodes } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", "", `Content-Type "" is not supported; send application/json`},
		{"PUT", "PUT", "application/json", `{"query":"{ counts { totalNodes } }"}`, 405, "METHOD_NOT_ALLOWED", "", "method PUT is not allowed; use GET or POST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, header, r := request(t, srv, c.method, c.contentType, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d; %+v", status, c.status, r.Errors)
			}
			wantCode(t, r, c.code)
			if got := r.Errors[0].Message; got != c.message {
				t.Fatalf("message %q, want %q", got, c.message)
			}
			if strings.Contains(r.Errors[0].Message, "secret") {
				t.Fatalf("message echoes the body: %q", r.Errors[0].Message)
			}
			if got, _ := r.Errors[0].Extensions["field"].(string); got != c.field {
				t.Fatalf("field %q, want %q", got, c.field)
			}
			if c.status == 405 && header.Get("Allow") != "GET, POST" {
				t.Fatalf("Allow %q", header.Get("Allow"))
			}
		})
	}
	// A body the gate passed is still there for gqlgen to execute.
	status, r := post(t, srv, `{"query":"query Q { counts { totalNodes } }","variables":null,"operationName":"Q","extensions":{}}`)
	if status != 200 {
		t.Fatalf("status %d; %+v", status, r.Errors)
	}
	if string(r.Data) != `{"counts":{"totalNodes":0}}` {
		t.Fatalf("data %s, errors %+v", r.Data, r.Errors)
	}
}

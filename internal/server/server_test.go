package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// fakeIngester accepts bodies containing "runId" and rejects the rest,
// naming the field, so the HTTP layer can be tested on its own.
type fakeIngester struct {
	mu       sync.Mutex
	got      []ingest.Input
	rejected map[string]int
	status   ingest.Status
	waited   []int64
}

func (f *fakeIngester) Submit(_ context.Context, inputs []ingest.Input) []ingest.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ingest.Result, len(inputs))
	for i, in := range inputs {
		if !bytes.Contains(in.Body, []byte(`"runId"`)) {
			out[i].Err = graph.FieldErrorf(graph.EINVALID, "run.runId", "is required")
			continue
		}
		f.got = append(f.got, in)
		out[i].Offset = int64(len(f.got))
	}
	return out
}

func (f *fakeIngester) CountRejected(_, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rejected == nil {
		f.rejected = map[string]int{}
	}
	f.rejected[reason]++
}

func (f *fakeIngester) Status() ingest.Status { return f.status }

func (f *fakeIngester) Head() int64 { return 42 }

func (f *fakeIngester) WaitApplied(_ context.Context, off int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waited = append(f.waited, off)
	return nil
}

const okEvent = `{"eventType":"START","run":{"runId":"0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c"},"job":{"namespace":"ns","name":"j"}}`

func newTestServer(t *testing.T, opts Options) (*httptest.Server, *fakeIngester) {
	t.Helper()
	f := &fakeIngester{}
	opts.Ingester = f
	reg := prometheus.NewRegistry()
	opts.Registerer, opts.Gatherer = reg, reg
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv, f
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func decodeError(t *testing.T, b []byte) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body is not JSON: %q", b)
	}
	return e
}

func TestPostLineage(t *testing.T) {
	srv, f := newTestServer(t, Options{MaxBodyBytes: 4096})
	url := srv.URL + "/api/v1/lineage"
	cases := []struct {
		name      string
		body      []byte
		hdr       map[string]string
		status    int
		code      string
		field     string
		wantStore bool
	}{
		{name: "accepted", body: []byte(okEvent), status: 201, wantStore: true},
		{name: "no content type is accepted", body: []byte(okEvent), hdr: map[string]string{"Content-Type": ""}, status: 201, wantStore: true},
		{name: "gzip", body: gz(t, []byte(okEvent)), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 201, wantStore: true},
		{name: "malformed JSON", body: []byte(`{"run":`), status: 400, code: "INVALID"},
		{name: "invalid event names field", body: []byte(`{"run":{}}`), status: 422, code: "INVALID", field: "run.runId"},
		{name: "wrong media type", body: []byte(okEvent), hdr: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Type"},
		{name: "unknown encoding", body: []byte(okEvent), hdr: map[string]string{"Content-Encoding": "br"}, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Encoding"},
		{name: "bad gzip", body: []byte(okEvent), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "INVALID", field: "Content-Encoding"},
		{name: "too large", body: []byte(`{"runId":"` + strings.Repeat("x", 5000) + `"}`), status: 413, code: "TOO_LARGE"},
		{name: "gzip bomb", body: gz(t, []byte(`{"runId":"`+strings.Repeat("x", 100000)+`"}`)), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 413, code: "TOO_LARGE"},
		{name: "empty", body: nil, status: 400, code: "INVALID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.got)
			resp, body := post(t, url, c.body, c.hdr)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			if c.status == 201 {
				if len(body) != 0 {
					t.Fatalf("201 must have an empty body (Marquez), got %q", body)
				}
			} else {
				e := decodeError(t, body)
				if e.Error != c.code || e.Field != c.field || e.Code != c.status || e.Message == "" {
					t.Fatalf("error body %+v, want code %s field %q", e, c.code, c.field)
				}
			}
			if stored := len(f.got) > before; stored != c.wantStore {
				t.Fatalf("stored = %v, want %v", stored, c.wantStore)
			}
		})
	}
	if f.rejected["TOO_LARGE"] != 2 || f.rejected["UNSUPPORTED_MEDIA_TYPE"] != 2 {
		t.Fatalf("rejections not counted by reason: %v", f.rejected)
	}
}

func TestBearerAuth(t *testing.T) {
	srv, f := newTestServer(t, Options{APIKeys: []string{"s3cret", "other"}})
	url := srv.URL + "/api/v1/lineage"
	for _, c := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer wrong", 401}, {"Basic s3cret", 401}, {"Bearer s3cret", 201}, {"Bearer other", 201}} {
		resp, body := post(t, url, []byte(okEvent), map[string]string{"Authorization": c.auth})
		if resp.StatusCode != c.status {
			t.Errorf("auth %q: status %d want %d (%s)", c.auth, resp.StatusCode, c.status, body)
		}
		if c.status == 401 && decodeError(t, body).Error != "UNAUTHORIZED" {
			t.Errorf("auth %q: body %s", c.auth, body)
		}
	}
	if len(f.got) != 2 {
		t.Fatalf("stored %d events, want 2", len(f.got))
	}
}

func TestBatch(t *testing.T) {
	srv, f := newTestServer(t, Options{MaxBatch: 3})
	url := srv.URL + "/api/v1/lineage/batch"

	resp, body := post(t, url, []byte(`[`+okEvent+`,`+okEvent+`]`), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("all ok: status %d %s", resp.StatusCode, body)
	}

	resp, body = post(t, url, []byte(`[`+okEvent+`,{"run":{}},`+okEvent+`]`), nil)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("partial: status %d %s", resp.StatusCode, body)
	}
	var br BatchResponse
	if err := json.Unmarshal(body, &br); err != nil {
		t.Fatal(err)
	}
	if br.Accepted != 2 || br.Rejected != 1 || br.Results[1].Status != 422 || br.Results[1].Field != "[1].run.runId" || br.Results[2].Status != 201 {
		t.Fatalf("partial results %+v", br)
	}
	if len(f.got) != 4 {
		t.Fatalf("stored %d, want 4: valid events of a partial batch must be kept", len(f.got))
	}

	resp, body = post(t, url, []byte(`[{"run":{}}]`), nil)
	if resp.StatusCode != 422 {
		t.Fatalf("all rejected: status %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		body   string
		status int
	}{{`{"not":"array"}`, 400}, {`[`, 400}, {`[]`, 400}, {`[1,2,3,4]`, 413}} {
		resp, body = post(t, url, []byte(c.body), nil)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d want %d (%s)", c.body, resp.StatusCode, c.status, body)
		}
		decodeError(t, body)
	}
}

// storeDown is what the test StoreCheck answers.
var storeDown error

func TestHealthAndReadiness(t *testing.T) {
	srv, f := newTestServer(t, Options{StoreCheck: func(context.Context) error { return storeDown }})
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	f.status = ingest.Status{Head: 10, Applied: 10}
	resp, err = http.Get(srv.URL + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()

	f.status = ingest.Status{Head: 10, Applied: 4, StoreHealth: errors.New("connection refused")}
	defer func() { storeDown = nil }()
	resp, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var rd Readiness
	_ = json.NewDecoder(resp.Body).Decode(&rd)
	resp.Body.Close()
	if resp.StatusCode != 503 || rd.Ready || rd.ProjectionLag != 6 || !strings.Contains(rd.Store, "connection refused") {
		t.Fatalf("readyz while store down: %d %+v", resp.StatusCode, rd)
	}

	// No apply has failed, but the store does not answer a ping.
	f.status = ingest.Status{Head: 10, Applied: 10}
	storeDown = errors.New("dial tcp: connection refused")
	resp, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rd = Readiness{}
	_ = json.NewDecoder(resp.Body).Decode(&rd)
	resp.Body.Close()
	if resp.StatusCode != 503 || rd.Ready || !strings.Contains(rd.Store, "unreachable") {
		t.Fatalf("readyz with an unreachable store: %d %+v", resp.StatusCode, rd)
	}
}

func TestMetricsAndPanicRecovery(t *testing.T) {
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") })
	srv, _ := newTestServer(t, Options{GraphQL: boom, Playground: http.NotFoundHandler()})
	resp, body := post(t, srv.URL+"/graphql", []byte(`{}`), nil)
	if resp.StatusCode != 500 || decodeError(t, body).Message != "internal error" {
		t.Fatalf("panic: %d %s", resp.StatusCode, body)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `redthread_http_requests_total{code="500",route="graphql"} 1`) {
		t.Fatalf("metrics missing request count:\n%s", b)
	}
}

func TestQueriesReadTheirWrites(t *testing.T) {
	gql := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"data":{}}`)) })
	srv, f := newTestServer(t, Options{GraphQL: gql})
	resp, _ := post(t, srv.URL+"/graphql", []byte(`{"query":"{counts{totalNodes}}"}`), nil)
	if resp.StatusCode != 200 || len(f.waited) != 1 || f.waited[0] != 42 {
		t.Fatalf("status %d, waited for %v; want one wait for the head (42)", resp.StatusCode, f.waited)
	}
	resp, _ = post(t, srv.URL+"/graphql", []byte(`{"query":"{counts{totalNodes}}"}`), map[string]string{ConsistencyHeader: "Eventual"})
	if resp.StatusCode != 200 || len(f.waited) != 1 {
		t.Fatalf("status %d, waited for %v; a query asking for eventual consistency must not wait", resp.StatusCode, f.waited)
	}
	post(t, srv.URL+"/graphql", []byte(`{"query":"{counts{totalNodes}}"}`), map[string]string{ConsistencyHeader: "strong"})
	if len(f.waited) != 2 {
		t.Fatalf("waited for %v; any other consistency header value waits as none does", f.waited)
	}
	f.status = ingest.Status{StoreHealth: errors.New("down")}
	post(t, srv.URL+"/graphql", []byte(`{"query":"{counts{totalNodes}}"}`), nil)
	if len(f.waited) != 2 {
		t.Fatal("a query must not wait for a store that is failing")
	}
}

// Requests no route takes get JSON errors: 405 with Allow for a routed
// path asked with another method, 404 under /api/ (saying why for an
// endpoint this configuration leaves off), and the playground keeps every
// other path.
func TestUnroutedRequests(t *testing.T) {
	playground := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "playground "+r.URL.Path)
	})
	for _, withPlayground := range []bool{true, false} {
		opts := Options{}
		if withPlayground {
			opts.Playground = playground
		}
		srv, f := newTestServer(t, opts)
		for _, c := range []struct {
			method, path string
			status       int
			code, allow  string
			message      string
		}{
			{"GET", "/api/v1/lineage", 405, "METHOD_NOT_ALLOWED", "POST", "GET /api/v1/lineage is not served; use POST"},
			{"PUT", "/api/v1/lineage/batch", 405, "METHOD_NOT_ALLOWED", "POST", "PUT /api/v1/lineage/batch is not served; use POST"},
			{"POST", "/healthz", 405, "METHOD_NOT_ALLOWED", "GET, HEAD", "POST /healthz is not served; use GET or HEAD"},
			{"POST", "/api/v1/lineages", 404, "NOT_FOUND", "", "no endpoint at /api/v1/lineages"},
			{"GET", "/api/", 404, "NOT_FOUND", "", "no endpoint at /api/"},
			{"POST", "/api/v1/mlflow/webhook", 404, "NOT_FOUND", "", "no endpoint at /api/v1/mlflow/webhook: the MLflow webhook receiver is off; start serve with --mlflow-uri and --mlflow-webhook-secret"},
		} {
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(okEvent))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body ErrorBody
			decodeErr := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != c.status || decodeErr != nil || body.Error != c.code || body.Message != c.message || body.Code != c.status {
				t.Fatalf("playground %v, %s %s: status %d, body %+v (%v); want %d %s %q", withPlayground, c.method, c.path, resp.StatusCode, body, decodeErr, c.status, c.code, c.message)
			}
			if got := resp.Header.Get("Allow"); got != c.allow {
				t.Fatalf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
		f.mu.Lock()
		n := len(f.got)
		f.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d events reached the pipeline", n)
		}
		resp, err := http.Get(srv.URL + "/some/page")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if withPlayground && (resp.StatusCode != 200 || string(b) != "playground /some/page") {
			t.Fatalf("playground path: %d %q", resp.StatusCode, b)
		}
		if !withPlayground && resp.StatusCode != 404 {
			t.Fatalf("no playground: status %d %q", resp.StatusCode, b)
		}
	}
}

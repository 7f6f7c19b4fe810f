package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/redthread/redthread/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeService stands in for Redthread: it records every event it receives
// and answers GraphQL with a canned lineage.
type fakeService struct {
	// fail, when set, picks the status of the n-th request (0-based, in
	// arrival order); 0 means success.
	fail func(n int) int
	// hijack, when set, drops the connection of the n-th request.
	hijack func(n int) bool
	// gqlReply, when set, answers a GraphQL request for key.
	gqlReply func(key string) string
	// onRequest, when set, is called with the arrival number.
	onRequest func(n int)

	mu         sync.Mutex
	requests   int
	received   map[string]int // event identity → times received
	statuses   map[int]int    // replies sent, by status
	hijacked   int
	batchSizes []int
	gzipped    int
	auth       map[string]int
	queries    []gqlRequest
}

type gqlRequest struct {
	Query     string `json:"query"`
	Variables struct {
		Key       string `json:"key"`
		Direction string `json:"direction"`
		Depth     int    `json:"depth"`
	} `json:"variables"`
}

const cannedLineage = `{"data":{"lineage":{"nodes":[{"key":"a"},{"key":"b"},{"key":"c"}],` +
	`"edges":[{"from":"a","to":"b","type":"READ_BY"},{"from":"b","to":"c","type":"WROTE"}],"truncated":false}}}`

func newFake(t *testing.T, f *fakeService) *httptest.Server {
	t.Helper()
	f.received, f.statuses, f.auth = map[string]int{}, map[int]int{}, map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// eventID identifies an event: a run has one event per eventType. It
// returns "" for anything else.
func eventID(raw []byte) string {
	var e struct {
		EventType string `json:"eventType"`
		Run       struct {
			RunID string `json:"runId"`
		} `json:"run"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Run.RunID == "" || e.EventType == "" {
		return ""
	}
	return e.Run.RunID + "/" + e.EventType
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.requests
	f.requests++
	f.auth[r.Header.Get("Authorization")]++
	if r.Header.Get("Content-Encoding") == "gzip" {
		f.gzipped++
	}
	if f.onRequest != nil {
		f.onRequest(n)
	}
	if f.hijack != nil && f.hijack(n) {
		f.hijacked++
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	var events [][]byte
	switch r.URL.Path {
	case LineagePath:
		events = [][]byte{raw}
	case BatchPath:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		for _, it := range items {
			events = append(events, it)
		}
		f.batchSizes = append(f.batchSizes, len(items))
	case GraphQLPath:
		var q gqlRequest
		if err := json.Unmarshal(raw, &q); err != nil {
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		f.queries = append(f.queries, q)
		reply := cannedLineage
		if f.gqlReply != nil {
			reply = f.gqlReply(q.Variables.Key)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply)
		return
	default:
		http.NotFound(w, r)
		return
	}
	status := http.StatusCreated
	if f.fail != nil {
		if s := f.fail(n); s != 0 {
			status = s
		}
	}
	f.statuses[status]++
	if status == http.StatusCreated {
		for _, e := range events {
			f.received[eventID(e)]++ // "" counts malformed events
		}
	}
	w.WriteHeader(status)
}

// workloadIDs returns the identities of the first n events of cfg (all
// when n is 0).
func workloadIDs(t *testing.T, cfg workload.Config, n int) []string {
	g := workload.New(cfg)
	var ids []string
	for n == 0 || len(ids) < n {
		e, ok := g.Next()
		if !ok {
			break
		}
		id := eventID(e)
		if id == "" {
			t.Fatalf("workload event without runId/eventType: %.200s", e)
		}
		ids = append(ids, id)
	}
	return ids
}

func checkReceivedOnce(t *testing.T, f *fakeService, want []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) != len(want) {
		t.Errorf("server received %d distinct events, want %d", len(f.received), len(want))
	}
	for _, id := range want {
		if n := f.received[id]; n != 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
}

var smallWorkload = workload.Config{Seed: 1, Nodes: 1000}

func TestIngestSingleSendsEveryEventOnce(t *testing.T) {
	f := &fakeService{}
	srv := newFake(t, f)
	var progress bytes.Buffer
	// The fake server is this process: its memory and CPU are measured,
	// and it stands in for the graph store's server too.
	res, err := RunIngest(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Clients: 4, Token: "s3cret",
		RSSPID: os.Getpid(), StorePID: os.Getpid()}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if res.RSS == nil || res.CPU == nil || res.CPU.PID != os.Getpid() || res.CPU.Seconds < 0 {
		t.Errorf("rss %+v, cpu %+v: want both measured for pid %d", res.RSS, res.CPU, os.Getpid())
	} else if md := res.Markdown(); !strings.Contains(md, "Server CPU (pid") {
		t.Errorf("report without the CPU line:\n%s", md)
	}
	if res.StoreCPU == nil || res.StoreCPU.PID != os.Getpid() || res.StoreCPU.Seconds < 0 {
		t.Errorf("store cpu %+v: want it measured for pid %d", res.StoreCPU, os.Getpid())
	} else if md := res.Markdown(); !strings.Contains(md, "Graph store CPU (pid") {
		t.Errorf("report without the graph store's CPU line:\n%s", md)
	}
	want := workloadIDs(t, smallWorkload, 0)
	checkReceivedOnce(t, f, want)
	n := int64(len(want))
	if res.Events != n || res.Accepted != n || res.Requests != n || res.Rejected != 0 || len(res.Errors) != 0 {
		t.Errorf("result %+v, want %d events all accepted in %d requests", res, n, n)
	}
	if res.Stopped != "workload" || res.Latency.Count != int(n) || res.Latency.Max <= 0 {
		t.Errorf("stopped %q, latency %+v", res.Stopped, res.Latency)
	}
	if f.auth["Bearer s3cret"] != int(n) {
		t.Errorf("authorization headers %v", f.auth)
	}
	if !strings.Contains(progress.String(), "events/s") {
		t.Errorf("no final progress line: %q", progress.String())
	}
}

func TestIngestBatchSplits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		events    int // Config.Events
		batch     int
		wantSizes []int // sorted batch sizes the server sees
	}{
		{"capped", 100, 30, []int{10, 30, 30, 30}},
		{"exact", 90, 30, []int{30, 30, 30}},
		{"one event", 1, 100, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeService{}
			srv := newFake(t, f)
			res, err := RunIngest(t.Context(), Config{
				BaseURL: srv.URL, Workload: smallWorkload, Mode: ModeBatch, BatchSize: tc.batch, Events: tc.events, Clients: 3,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkReceivedOnce(t, f, workloadIDs(t, smallWorkload, tc.events))
			f.mu.Lock()
			sizes := append([]int(nil), f.batchSizes...)
			f.mu.Unlock()
			slices.Sort(sizes)
			if diff := cmp.Diff(tc.wantSizes, sizes); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
			if res.Events != int64(tc.events) || res.Requests != int64(len(tc.wantSizes)) || res.Stopped != "count" {
				t.Errorf("events %d, requests %d, stopped %q", res.Events, res.Requests, res.Stopped)
			}
		})
	}
}

// TestIngestWholeWorkloadBatched checks that the last, short batch of a
// workload is sent and nothing twice.
func TestIngestWholeWorkloadBatched(t *testing.T) {
	f := &fakeService{}
	srv := newFake(t, f)
	res, err := RunIngest(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Mode: ModeBatch, BatchSize: 64, Gzip: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := workloadIDs(t, smallWorkload, 0)
	checkReceivedOnce(t, f, want)
	wantReqs := (len(want) + 63) / 64
	if res.Requests != int64(wantReqs) || f.gzipped != wantReqs || res.Accepted != int64(len(want)) {
		t.Errorf("requests %d (gzip %d), accepted %d; want %d requests, %d events", res.Requests, f.gzipped, res.Accepted, wantReqs, len(want))
	}
}

func TestIngestCountsErrorsByStatus(t *testing.T) {
	f := &fakeService{
		fail: func(n int) int {
			switch {
			case n%5 == 0:
				return http.StatusInternalServerError
			case n%7 == 0:
				return http.StatusBadRequest
			}
			return 0
		},
		hijack: func(n int) bool { return n%11 == 3 },
	}
	srv := newFake(t, f)
	const events = 200
	res, err := RunIngest(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Events: events, Clients: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]int64{
		"500":       int64(f.statuses[500]),
		"400":       int64(f.statuses[400]),
		"transport": int64(f.hijacked),
	}
	if want["500"] == 0 || want["400"] == 0 || want["transport"] == 0 {
		t.Fatalf("fake did not fail as planned: %v", want)
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	failed := want["500"] + want["400"] + want["transport"]
	if res.Events != events || res.Rejected != failed || res.Accepted != events-failed || res.Accepted != int64(f.statuses[201]) {
		t.Errorf("events %d, accepted %d, rejected %d; server accepted %d", res.Events, res.Accepted, res.Rejected, f.statuses[201])
	}
}

// TestIngestPartialBatch reads the rejection count of a 207 reply.
func TestIngestPartialBatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `{"accepted":8,"rejected":2,"results":[]}`)
	}))
	defer srv.Close()
	res, err := RunIngest(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Mode: ModeBatch, BatchSize: 10, Events: 30, Clients: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Partial != 3 || res.Rejected != 6 || res.Accepted != 24 || len(res.Errors) != 0 {
		t.Errorf("partial %d, rejected %d, accepted %d, errors %v", res.Partial, res.Rejected, res.Accepted, res.Errors)
	}
}

// TestIngestStopsWhenCanceled cancels the run from the server side after a
// few requests: the run ends, bounded, and says why.
func TestIngestStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f := &fakeService{onRequest: func(n int) {
		if n == 10 {
			cancel()
		}
	}}
	srv := newFake(t, f)
	res, err := RunIngest(ctx, Config{BaseURL: srv.URL, Workload: smallWorkload, Clients: 2}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Stopped != "canceled" || res.Events >= int64(res.Workload.Events) {
		t.Errorf("stopped %q after %d of %d events", res.Stopped, res.Events, res.Workload.Events)
	}
}

func TestLineage(t *testing.T) {
	f := &fakeService{gqlReply: func(key string) string {
		if key == "missing" {
			return `{"errors":[{"message":"not found","extensions":{"code":"NOT_FOUND"}}],"data":null}`
		}
		return cannedLineage
	}}
	srv := newFake(t, f)
	keys := []string{"dataset:kafka://b%3A9092:t@1", "dataset:s3://lake:x@2", "missing"}
	res, err := RunLineage(t.Context(), Config{BaseURL: srv.URL, Keys: keys, Queries: 7, Depths: []int{5, 20}, QueryClients: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Depths) != 2 || res.Stopped != "count" {
		t.Fatalf("result %+v", res)
	}
	for i, d := range res.Depths {
		// Queries 0..6 use keys[i%3]: "missing" is queries 2 and 5.
		if d.Depth != []int{5, 20}[i] || d.Queries != 7 || d.Errors["graphql:NOT_FOUND"] != 2 || len(d.Errors) != 1 {
			t.Errorf("depth %d: %d queries, errors %v", d.Depth, d.Queries, d.Errors)
		}
		if d.MeanNodes != 3 || d.MeanEdges != 2 || d.MaxNodes != 3 || d.Truncated != 0 || d.Latency.Count != 7 {
			t.Errorf("depth %d: %+v", d.Depth, d)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	perDepthKey := map[string]int{}
	for _, q := range f.queries {
		if q.Query != LineageQuery {
			t.Fatalf("query text %q", q.Query)
		}
		perDepthKey[q.Variables.Key+"/"+strconv.Itoa(q.Variables.Depth)]++
	}
	want := map[string]int{}
	for _, d := range []int{5, 20} {
		for i := range 7 {
			want[keys[i%3]+"/"+strconv.Itoa(d)]++
		}
	}
	if diff := cmp.Diff(want, perDepthKey); diff != "" {
		t.Errorf("queries by key/depth (-want +got):\n%s", diff)
	}
}

// TestLineageSampleKeys checks that without Keys the workload's deep
// start keys are used.
func TestLineageSampleKeys(t *testing.T) {
	f := &fakeService{}
	srv := newFake(t, f)
	res, err := RunLineage(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Queries: 2, Depths: []int{20}, SampleKeys: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := workload.New(smallWorkload).SampleDatasetKeys(5)
	if len(want) == 0 || !cmp.Equal(res.Keys, want) {
		t.Errorf("keys %v, want %v", res.Keys, want)
	}
	if f.queries[0].Variables.Key != want[0] || f.queries[0].Variables.Depth != 20 {
		t.Errorf("first query %+v", f.queries[0])
	}
}

func TestLineageUpstreamStartsAtChainEnds(t *testing.T) {
	f := &fakeService{}
	srv := newFake(t, f)
	res, err := RunLineage(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Queries: 2, Depths: []int{5}, SampleKeys: 5, Direction: Upstream}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := workload.New(smallWorkload).SampleEndKeys(5)
	if len(want) == 0 || !cmp.Equal(res.Keys, want) || res.Direction != Upstream {
		t.Errorf("keys %v (%s), want %v", res.Keys, res.Direction, want)
	}
	if q := f.queries[0].Variables; q.Key != want[0] || q.Direction != Upstream {
		t.Errorf("first query %+v", q)
	}
	if !strings.Contains(res.Markdown(), "upstream: provenance") {
		t.Errorf("report heading: %s", res.Markdown())
	}
	if _, err := RunLineage(t.Context(), Config{BaseURL: srv.URL, Workload: smallWorkload, Direction: "SIDEWAYS"}, nil); err == nil {
		t.Error("an unknown direction was accepted")
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i + 1)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"one p0", []time.Duration{7}, 0, 7},
		{"1..100 p50", seq(100), 50, 50},
		{"1..100 p90", seq(100), 90, 90},
		{"1..100 p99", seq(100), 99, 99},
		{"1..100 p100", seq(100), 100, 100},
		{"1..10 p50", seq(10), 50, 5},
		{"1..10 p99", seq(10), 99, 10},
		{"1..4 p50", seq(4), 50, 2},
		{"1..4 p51", seq(4), 51, 3},
		{"1..1000 p99", seq(1000), 99, 990},
		{"1..1000 p99.9", seq(1000), 99.9, 999},
	} {
		if got := Percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize([]time.Duration{40, 10, 30, 20, 100, 60, 50, 90, 80, 70})
	want := Latency{Count: 10, Mean: 55, P50: 50, P90: 90, P99: 100, Max: 100}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("Summarize(nil) is not zero")
	}
	b, err := json.Marshal(Latency{Count: 1, P50: 1500 * time.Microsecond})
	if err != nil || !strings.Contains(string(b), `"p50_ms":1.5`) {
		t.Errorf("Latency JSON %s, %v", b, err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://127.0.0.1:8080":     true,
		"http://127.1.2.3":          true,
		"https://localhost:8443/x":  true,
		"http://[::1]:9000":         true,
		"http://10.0.0.1:8080":      false,
		"http://example.com":        false,
		"http://localhost.evil.com": false,
		"ftp://127.0.0.1":           false,
		"127.0.0.1:8080":            false,
		"":                          false,
	} {
		if err := CheckLoopback(url); (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", url, err, ok)
		}
	}
	if _, err := RunIngest(t.Context(), Config{BaseURL: "http://192.0.2.1:80"}, nil); err == nil {
		t.Error("RunIngest accepted a non-loopback target")
	}
	// The dialer refuses non-loopback addresses too, e.g. after a redirect.
	client, tr := newClient(1, time.Second)
	defer tr.CloseIdleConnections()
	if _, err := client.Get("http://192.0.2.1:80/"); !errors.Is(err, errNotLoopback) {
		t.Errorf("dial of a non-loopback address: %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tredthread\nVmPeak:\t 2000000 kB\nVmHWM:\t  654321 kB\nVmRSS:\t  123456 kB\nThreads:\t12\n"
	rss, hwm, err := parseStatus([]byte(status))
	if err != nil || rss != 123456 || hwm != 654321 {
		t.Errorf("parseStatus = %d, %d, %v", rss, hwm, err)
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmRSS:\n", "VmRSS:\t12x kB\n", "VmRSS:\t12 MB\n"} {
		if _, _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) succeeded", bad)
		}
	}
	// Sampling this process works and reports a plausible size.
	s, err := startRSS(os.Getpid(), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	r := s.stop()
	if r.PID != os.Getpid() || r.PeakKB <= 0 || r.FinalKB <= 0 || r.PeakKB < r.FinalKB && r.Samples == 1 || r.HWMKB < r.PeakKB/2 {
		t.Errorf("rss %+v", r)
	}
	if _, err := startRSS(1<<30, time.Second); err == nil {
		t.Error("startRSS of a missing process succeeded")
	}
}

func TestMarkdownAndJSON(t *testing.T) {
	rep := Report{
		Ingest: &IngestResult{
			Target: "http://127.0.0.1:8080", Mode: ModeBatch, BatchSize: 100, Clients: 16, Events: 1000, Accepted: 990,
			Rejected: 10, Requests: 10, Elapsed: 2 * time.Second, EventsPerSec: 495, Stopped: "workload",
			Latency: Latency{Count: 10, P50: 1500 * time.Microsecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond},
			Errors:  map[string]int64{"500": 1}, RSS: &RSS{PID: 42, PeakKB: 2048, FinalKB: 1024, HWMKB: 2048, Samples: 8},
		},
		Lineage: &LineageResult{
			Target: "http://127.0.0.1:8080", Keys: []string{"k"}, Stopped: "count",
			Depths: []DepthResult{{Depth: 5, Queries: 100, MeanNodes: 12.5, Errors: map[string]int64{}}, {Depth: 20, Queries: 100, Errors: map[string]int64{"graphql:NOT_FOUND": 3}}},
		},
	}
	md := rep.Markdown()
	for _, want := range []string{
		"### Ingest: batch of 100, 16 clients → http://127.0.0.1:8080",
		"| events | accepted |",
		"| 1000 | 990 | 10 | 10 | 2.0 s | 495 |",
		"1.50 ms",
		"Failed requests: 500 ×1.",
		"RSS of pid 42: peak 2.0 MiB, final 1.0 MiB",
		"| depth | queries |",
		"| 5 | 100 | 0 |",
		"| 20 | 100 | 3 |",
		"Errors at depth 20: graphql:NOT_FOUND ×3.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["ingest"]["events_per_s"] != 495.0 || back["lineage"]["stopped"] != "count" {
		t.Errorf("JSON %s", b)
	}
}

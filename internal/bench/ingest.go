package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redthread/redthread/internal/workload"
)

// IngestResult is the outcome of RunIngest.
type IngestResult struct {
	Target    string         `json:"target"`
	Mode      Mode           `json:"mode"`
	Clients   int            `json:"clients"`
	BatchSize int            `json:"batch_size,omitempty"`
	Gzip      bool           `json:"gzip,omitempty"`
	Seed      uint64         `json:"seed"`
	Workload  workload.Shape `json:"workload"`

	// Events were posted, each in exactly one request; Accepted of them
	// were acknowledged (2xx, less the rejections a 207 reply lists).
	Events   int64 `json:"events"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Requests int64 `json:"requests"`
	// Partial counts 207 (Multi-Status) batch replies.
	Partial int64 `json:"partial,omitempty"`
	// Bytes is the total of request bodies before compression.
	Bytes int64 `json:"bytes"`

	Elapsed        time.Duration `json:"-"`
	ElapsedSeconds float64       `json:"elapsed_s"`
	// EventsPerSec is accepted events per second of wall time.
	EventsPerSec float64 `json:"events_per_s"`
	// Latency is per request (one event or one batch), send to last byte
	// of the reply, over requests that got a reply.
	Latency Latency `json:"latency"`
	// Errors counts failed requests by HTTP status ("500"), or "transport"
	// when no reply came, or "canceled" when the run was canceled.
	Errors map[string]int64 `json:"errors"`
	// Stopped says why the run ended: "workload" (all events sent),
	// "count" (Config.Events), "duration" (Config.Duration) or "canceled".
	Stopped string `json:"stopped"`
	RSS     *RSS   `json:"rss,omitempty"`
	// CPU is the server's processor time while acknowledging (with
	// Config.RSSPID).
	CPU *CPU `json:"cpu,omitempty"`
	// StoreCPU is the graph store server's processor time over the same
	// span (with Config.StorePID).
	StoreCPU *CPU `json:"store_cpu,omitempty"`
}

// ingestRequest is one POST: a single event or a JSON array of events.
type ingestRequest struct {
	body   []byte
	events int
}

// ingestStats are one client's tallies, merged at the end.
type ingestStats struct {
	events, accepted, rejected, requests, partial, bytes int64
	latencies                                            []time.Duration
	errors                                               map[string]int64
}

// RunIngest posts the workload's events to cfg.BaseURL with cfg.Clients
// concurrent keep-alive clients until the workload, cfg.Events or
// cfg.Duration runs out, writing a progress line to progress (if not nil)
// every cfg.ProgressInterval. When ctx is canceled it stops and returns
// what it measured along with ctx's error.
func RunIngest(ctx context.Context, cfg Config, progress io.Writer) (IngestResult, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return IngestResult{}, err
	}
	gen := workload.New(cfg.Workload)
	shape := gen.Shape()
	limit := shape.Events
	stoppedAt := "workload"
	if cfg.Events > 0 && cfg.Events < limit {
		limit, stoppedAt = cfg.Events, "count"
	}
	endpoint := cfg.BaseURL + LineagePath
	if cfg.Mode == ModeBatch {
		endpoint = cfg.BaseURL + BatchPath
	}
	res := IngestResult{
		Target: cfg.BaseURL, Mode: cfg.Mode, Clients: cfg.Clients, Gzip: cfg.Gzip,
		Seed: cfg.Workload.Seed, Workload: shape, Errors: map[string]int64{},
	}
	if cfg.Mode == ModeBatch {
		res.BatchSize = cfg.BatchSize
	}

	var rss *rssSampler
	var cpu *cpuMeter
	if cfg.RSSPID > 0 {
		if rss, err = startRSS(cfg.RSSPID, cfg.RSSInterval); err != nil {
			return res, err
		}
		if cpu, err = startCPU(cfg.RSSPID); err != nil {
			rss.stop()
			return res, err
		}
	}
	var storeCPU *cpuMeter
	if cfg.StorePID > 0 {
		if storeCPU, err = startCPU(cfg.StorePID); err != nil {
			rss.stop()
			return res, err
		}
	}
	client, transport := newClient(cfg.Clients, cfg.RequestTimeout)
	defer transport.CloseIdleConnections()

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()

	// One producer renders requests from the generator (which is not safe
	// for concurrent use); the queue is short, so memory stays bounded.
	reqs := make(chan ingestRequest, cfg.Clients)
	go func() {
		defer close(reqs)
		for produced := 0; produced < limit; {
			n := 1
			if cfg.Mode == ModeBatch {
				n = min(cfg.BatchSize, limit-produced)
			}
			r, ok := nextRequest(gen, cfg.Mode, n)
			if !ok {
				return
			}
			produced += r.events
			select {
			case reqs <- r:
			case <-runCtx.Done():
				return
			}
		}
	}()

	var sent, failed atomic.Int64
	stats := make([]ingestStats, cfg.Clients)
	var wg sync.WaitGroup
	for i := range stats {
		st := &stats[i]
		st.errors = map[string]int64{}
		wg.Go(func() {
			c := ingestClient{client: client, endpoint: endpoint, token: cfg.Token, gzip: cfg.Gzip, st: st}
			for r := range reqs {
				if runCtx.Err() != nil {
					continue // time is up: drain the queue without sending
				}
				ok := c.post(ctx, r)
				sent.Add(int64(r.events))
				if !ok {
					failed.Add(1)
				}
			}
		})
	}
	stopProgress := startProgress(progress, cfg.ProgressInterval, func(elapsed time.Duration, rate float64) string {
		return fmt.Sprintf("ingest %6.1fs  %d/%d events  %.0f events/s  failed requests %d",
			elapsed.Seconds(), sent.Load(), limit, rate, failed.Load())
	}, sent.Load)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.CPU = cpu.stop(res.Elapsed)
	res.StoreCPU = storeCPU.stop(res.Elapsed)
	stopProgress()
	res.RSS = rss.stop()

	var lat []time.Duration
	for i := range stats {
		st := &stats[i]
		res.Events += st.events
		res.Accepted += st.accepted
		res.Rejected += st.rejected
		res.Requests += st.requests
		res.Partial += st.partial
		res.Bytes += st.bytes
		lat = append(lat, st.latencies...)
		for k, v := range st.errors {
			res.Errors[k] += v
		}
	}
	res.CPU.perEvent(res.Accepted)
	res.StoreCPU.perEvent(res.Accepted)
	res.Latency = Summarize(lat)
	res.ElapsedSeconds = res.Elapsed.Seconds()
	if s := res.Elapsed.Seconds(); s > 0 {
		res.EventsPerSec = float64(res.Accepted) / s
	}
	switch {
	case ctx.Err() != nil:
		res.Stopped = "canceled"
	case int(res.Events) < limit && runCtx.Err() != nil:
		res.Stopped = "duration"
	default:
		res.Stopped = stoppedAt
	}
	return res, ctx.Err()
}

// nextRequest takes n events from gen as one request body: the event
// itself in single mode, a JSON array in batch mode. It reports false when
// the generator had no event left.
func nextRequest(gen *workload.Generator, mode Mode, n int) (ingestRequest, bool) {
	if mode == ModeSingle {
		e, ok := gen.Next()
		return ingestRequest{body: e, events: 1}, ok
	}
	body := make([]byte, 0, n*5<<10)
	body = append(body, '[')
	k := 0
	for ; k < n; k++ {
		e, ok := gen.Next()
		if !ok {
			break
		}
		if k > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, ']')
	return ingestRequest{body: body, events: k}, k > 0
}

// ingestClient posts requests and keeps one client's tallies.
type ingestClient struct {
	client   *http.Client
	endpoint string
	token    string
	gzip     bool
	zbuf     bytes.Buffer
	zw       *gzip.Writer
	st       *ingestStats
}

// batchReply is the part of a batch reply that counts rejections.
type batchReply struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
}

// post sends one request and records its outcome; it reports whether the
// request succeeded (2xx).
func (c *ingestClient) post(ctx context.Context, r ingestRequest) bool {
	st := c.st
	st.events += int64(r.events)
	st.bytes += int64(len(r.body))
	body := r.body
	if c.gzip {
		c.zbuf.Reset()
		if c.zw == nil {
			c.zw = gzip.NewWriter(&c.zbuf)
		} else {
			c.zw.Reset(&c.zbuf)
		}
		_, _ = c.zw.Write(r.body) // writing to a bytes.Buffer cannot fail
		_ = c.zw.Close()
		body = c.zbuf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		st.errors["request"]++
		st.rejected += int64(r.events)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			st.errors["canceled"]++
		} else {
			st.errors["transport"]++
		}
		st.rejected += int64(r.events)
		return false
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	_, _ = io.Copy(io.Discard, resp.Body) // finish the body so the connection is reused
	_ = resp.Body.Close()
	st.requests++
	if err != nil {
		st.errors["transport"]++
		st.rejected += int64(r.events)
		return false
	}
	st.latencies = append(st.latencies, time.Since(start))
	switch code := resp.StatusCode; {
	case code == http.StatusMultiStatus:
		st.partial++
		var br batchReply
		rejected := int64(0)
		if json.Unmarshal(reply, &br) == nil {
			rejected = int64(min(max(br.Rejected, 0), r.events))
		}
		st.rejected += rejected
		st.accepted += int64(r.events) - rejected
		return true
	case code >= 200 && code < 300:
		st.accepted += int64(r.events)
		return true
	default:
		st.errors[strconv.Itoa(code)]++
		st.rejected += int64(r.events)
		return false
	}
}

// startProgress writes line(elapsed, rate) to w every interval, where rate
// is the recent rate of count; the returned function stops it and writes a
// last line. With a nil w it does nothing.
func startProgress(w io.Writer, interval time.Duration, line func(time.Duration, float64) string, count func() int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	start := time.Now()
	stopCh, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		lastAt, last := start, count()
		for {
			select {
			case <-stopCh:
				elapsed := time.Since(start)
				fmt.Fprintln(w, line(elapsed, float64(count())/max(elapsed.Seconds(), 1e-9)))
				return
			case now := <-t.C:
				n := count()
				fmt.Fprintln(w, line(now.Sub(start), float64(n-last)/now.Sub(lastAt).Seconds()))
				lastAt, last = now, n
			}
		}
	}()
	return func() {
		close(stopCh)
		<-done
	}
}

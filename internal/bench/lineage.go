package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redthread/redthread/internal/workload"
)

// LineageQuery is the GraphQL query the lineage benchmark runs, with
// variables key, direction and depth. It is the one place to adapt when the schema
// changes or when pointing the benchmark at another service.
const LineageQuery = `query Lineage($key: ID!, $direction: Direction!, $depth: Int!) {
  lineage(key: $key, direction: $direction, depth: $depth) {
    nodes { key }
    edges { from to type }
    truncated
  }
}`

// lineageReply is the part of a GraphQL reply to LineageQuery the
// benchmark reads.
type lineageReply struct {
	Data *struct {
		Lineage *struct {
			Nodes []struct {
				Key string `json:"key"`
			} `json:"nodes"`
			Edges []struct {
				From string `json:"from"`
				To   string `json:"to"`
				Type string `json:"type"`
			} `json:"edges"`
			Truncated bool `json:"truncated"`
		} `json:"lineage"`
	} `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// LineageResult is the outcome of RunLineage.
type LineageResult struct {
	Target    string `json:"target"`
	Direction string `json:"direction"` // DOWNSTREAM (impact) or UPSTREAM (provenance)
	// Keys are the start keys, used round-robin.
	Keys           []string      `json:"keys"`
	Depths         []DepthResult `json:"depths"`
	Elapsed        time.Duration `json:"-"`
	ElapsedSeconds float64       `json:"elapsed_s"`
	// Stopped is "count" (all queries ran), "duration" or "canceled".
	Stopped string `json:"stopped"`
	RSS     *RSS   `json:"rss,omitempty"`
}

// DepthResult measures the lineage queries at one depth.
type DepthResult struct {
	Depth int `json:"depth"`
	// Queries were sent; Errors counts the failed ones by HTTP status,
	// "graphql:<code>" for GraphQL errors, "transport" or "decode".
	Queries int              `json:"queries"`
	Errors  map[string]int64 `json:"errors"`
	// Latency is send to last byte of the reply, over queries that got one
	// (decoding is not timed).
	Latency Latency `json:"latency"`
	// MeanNodes and MeanEdges average the answers of successful queries.
	MeanNodes float64 `json:"mean_nodes"`
	MeanEdges float64 `json:"mean_edges"`
	MaxNodes  int     `json:"max_nodes"`
	Truncated int     `json:"truncated"`
}

// RunLineage runs cfg.Queries lineage queries at each of cfg.Depths
// against cfg.BaseURL's GraphQL endpoint, round-robin over the start keys
// (cfg.Keys, or keys sampled from cfg.Workload, which must be the workload
// the service was loaded with). It stops early when cfg.Duration passes;
// when ctx is canceled it returns what it measured along with ctx's error.
func RunLineage(ctx context.Context, cfg Config, progress io.Writer) (LineageResult, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return LineageResult{}, err
	}
	keys := cfg.Keys
	if len(keys) == 0 {
		if cfg.Direction == Upstream {
			keys = workload.New(cfg.Workload).SampleEndKeys(cfg.SampleKeys)
		} else {
			keys = workload.New(cfg.Workload).SampleDatasetKeys(cfg.SampleKeys)
		}
	}
	res := LineageResult{Target: cfg.BaseURL, Direction: cfg.Direction, Keys: keys, Stopped: "count"}
	if len(keys) == 0 {
		return res, errors.New("bench: no lineage start keys")
	}
	var rss *rssSampler
	if cfg.RSSPID > 0 {
		if rss, err = startRSS(cfg.RSSPID, cfg.RSSInterval); err != nil {
			return res, err
		}
	}
	client, transport := newClient(cfg.QueryClients, cfg.RequestTimeout)
	defer transport.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()

	var done atomic.Int64
	total := int64(cfg.Queries * len(cfg.Depths))
	stopProgress := startProgress(progress, cfg.ProgressInterval, func(elapsed time.Duration, rate float64) string {
		return fmt.Sprintf("lineage %6.1fs  %d/%d queries  %.1f queries/s", elapsed.Seconds(), done.Load(), total, rate)
	}, done.Load)
	q := querier{client: client, endpoint: cfg.BaseURL + GraphQLPath, token: cfg.Token, direction: cfg.Direction}
	for _, depth := range cfg.Depths {
		if runCtx.Err() != nil {
			break
		}
		res.Depths = append(res.Depths, q.runDepth(ctx, runCtx, depth, keys, cfg.Queries, cfg.QueryClients, &done))
	}
	res.Elapsed = time.Since(start)
	res.ElapsedSeconds = res.Elapsed.Seconds()
	stopProgress()
	res.RSS = rss.stop()
	switch {
	case ctx.Err() != nil:
		res.Stopped = "canceled"
	case runCtx.Err() != nil:
		res.Stopped = "duration"
	}
	return res, ctx.Err()
}

// querier posts LineageQuery.
type querier struct {
	client    *http.Client
	endpoint  string
	token     string
	direction string
}

// queryOutcome is the result of one query.
type queryOutcome struct {
	latency   time.Duration // zero when no reply came
	err       string        // error class, "" on success
	nodes     int
	edges     int
	truncated bool
}

// runDepth runs n queries at depth with the given concurrency; query i
// starts from keys[i%len(keys)].
func (q querier) runDepth(ctx, runCtx context.Context, depth int, keys []string, n, clients int, done *atomic.Int64) DepthResult {
	r := DepthResult{Depth: depth, Errors: map[string]int64{}}
	var mu sync.Mutex
	var lat []time.Duration
	var nodes, edges int64
	ok := 0
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || runCtx.Err() != nil {
					return
				}
				o := q.query(ctx, keys[int(i)%len(keys)], depth)
				done.Add(1)
				mu.Lock()
				r.Queries++
				if o.latency > 0 {
					lat = append(lat, o.latency)
				}
				if o.err != "" {
					r.Errors[o.err]++
				} else {
					ok++
					nodes += int64(o.nodes)
					edges += int64(o.edges)
					r.MaxNodes = max(r.MaxNodes, o.nodes)
					if o.truncated {
						r.Truncated++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.Latency = Summarize(lat)
	if ok > 0 {
		r.MeanNodes = float64(nodes) / float64(ok)
		r.MeanEdges = float64(edges) / float64(ok)
	}
	return r
}

// query runs LineageQuery once.
func (q querier) query(ctx context.Context, key string, depth int) queryOutcome {
	type variables struct {
		Key       string `json:"key"`
		Direction string `json:"direction"`
		Depth     int    `json:"depth"`
	}
	body, err := json.Marshal(struct {
		Query     string    `json:"query"`
		Variables variables `json:"variables"`
	}{LineageQuery, variables{key, q.direction, depth}})
	if err != nil {
		return queryOutcome{err: "request"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint, bytes.NewReader(body))
	if err != nil {
		return queryOutcome{err: "request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if q.token != "" {
		req.Header.Set("Authorization", "Bearer "+q.token)
	}
	start := time.Now()
	resp, err := q.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return queryOutcome{err: "canceled"}
		}
		return queryOutcome{err: "transport"}
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return queryOutcome{err: "transport"}
	}
	o := queryOutcome{latency: time.Since(start)}
	var lr lineageReply
	decodeErr := json.Unmarshal(reply, &lr)
	switch {
	case decodeErr == nil && len(lr.Errors) > 0:
		o.err = "graphql"
		if c := lr.Errors[0].Extensions.Code; c != "" {
			o.err += ":" + c
		}
	case resp.StatusCode != http.StatusOK:
		o.err = strconv.Itoa(resp.StatusCode)
	case decodeErr != nil:
		o.err = "decode"
	case lr.Data == nil || lr.Data.Lineage == nil:
		o.err = "no data"
	default:
		o.nodes, o.edges, o.truncated = len(lr.Data.Lineage.Nodes), len(lr.Data.Lineage.Edges), lr.Data.Lineage.Truncated
	}
	return o
}

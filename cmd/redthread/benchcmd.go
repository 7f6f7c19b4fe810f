package main

import (
	"bufio"
	"net/http"

	"context"
	"encoding/json"
	"fmt"
	"github.com/redthread/redthread/internal/server"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/redthread/redthread/internal/bench"
	"github.com/redthread/redthread/internal/workload"
)

// listenLineRE finds the URL in the line `redthread serve` prints when ready.
var listenLineRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// benchChild is a `redthread serve` started by `redthread bench` on a
// fresh data dir, so results are measured on the real binary over real
// HTTP and its memory can be sampled on its own.
type benchChild struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	done chan error
}

func startBenchChild(ctx context.Context, dataDir, graphStore string, stderr io.Writer) (*benchChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn", "--graph", graphStore)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &benchChild{cmd: cmd, dir: dataDir, done: make(chan error, 1)}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenLineRE.FindStringSubmatch(sc.Text()); m != nil {
				urlCh <- m[1]
			}
		}
	}()
	go func() { c.done <- cmd.Wait() }()
	select {
	case c.url = <-urlCh:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("benchmark server exited: %v", err)
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("benchmark server did not start within a minute")
	}
}

func (c *benchChild) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "redthread bench [flags]", stderr)
	url := fs.String("url", "", "benchmark this running Redthread (loopback only); empty: start a fresh `redthread serve` on a temporary data dir")
	pid := fs.Int("pid", 0, "with -url: sample this process's resident memory")
	apiKey := fs.String("api-key", "", "bearer token, if the server requires one")
	scenarios := fs.String("scenario", "single,batch,lineage", "comma-separated: single (one event per request), batch, lineage")
	clients := fs.Int("clients", bench.DefaultClients, "concurrent ingest clients")
	events := fs.Int("events", 20_000, "events sent by the single-event scenario")
	batchSize := fs.Int("batch", bench.DefaultBatchSize, "events per batch request")
	nodes := fs.Int("nodes", 100_000, "size in nodes of the generated graph the batch scenario loads and the lineage scenario queries")
	seed := fs.Uint64("seed", 1, "workload seed (the batch workload uses seed+1)")
	queries := fs.Int("queries", 200, "lineage queries per depth")
	duration := fs.Duration("duration", 10*time.Minute, "longest wall time of each scenario")
	useGzip := fs.Bool("gzip", false, "gzip request bodies")
	dataDir := fs.String("data-dir", "", "data dir of the started server (default: a temporary dir, removed afterwards)")
	graphStore := fs.String("graph", "sqlite", "graph store of the started server (sqlite or an EMPTY Neo4j's URI; the server reads REDTHREAD_NEO4J_USER, REDTHREAD_NEO4J_PASSWORD and REDTHREAD_NEO4J_CA from the environment)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of Markdown")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*scenarios, ",") {
		switch s = strings.TrimSpace(s); s {
		case "single", "batch", "lineage":
			want[s] = true
		case "":
		default:
			return fmt.Errorf("-scenario %q: want single, batch or lineage", s)
		}
	}

	base, rssPID := *url, *pid
	if base == "" {
		dir := *dataDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "redthread-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		child, err := startBenchChild(ctx, dir, *graphStore, stderr)
		if err != nil {
			return err
		}
		defer child.stop()
		base, rssPID = child.url, child.cmd.Process.Pid
		fmt.Fprintf(stderr, "benchmarking a fresh redthread serve at %s (data dir %s, graph %s, pid %d)\n", base, dir, *graphStore, rssPID)
	}
	if err := bench.CheckLoopback(base); err != nil {
		return err
	}
	cfg := bench.Config{
		BaseURL: base, Token: *apiKey, Clients: *clients, BatchSize: *batchSize, Duration: *duration,
		Gzip: *useGzip, Queries: *queries, RSSPID: rssPID, ProgressInterval: time.Second,
	}
	var out benchReport
	if want["single"] {
		c := cfg
		c.Mode, c.Events = bench.ModeSingle, *events
		c.Workload = workload.Config{Seed: *seed, Nodes: max(*nodes/5, 1000)}
		fmt.Fprintf(stderr, "== ingest, one event per request, %d clients, %d events\n", c.Clients, c.Events)
		r, err := bench.RunIngest(ctx, c, stderr)
		if err != nil {
			return err
		}
		out.Single = &r
		printPartial(stdout, *asJSON, r.Markdown())
		out.SingleApplied = reportDrain(ctx, base, r, stdout, stderr, *asJSON)
	}
	graphWorkload := workload.Config{Seed: *seed + 1, Nodes: *nodes}
	if want["batch"] {
		c := cfg
		c.Mode, c.Workload = bench.ModeBatch, graphWorkload
		fmt.Fprintf(stderr, "== ingest, batches of %d, %d clients, a %d-node workload (%d events)\n",
			c.BatchSize, c.Clients, *nodes, workload.EstimateEvents(graphWorkload))
		r, err := bench.RunIngest(ctx, c, stderr)
		if err != nil {
			return err
		}
		out.Batch = &r
		printPartial(stdout, *asJSON, r.Markdown())
		out.BatchApplied = reportDrain(ctx, base, r, stdout, stderr, *asJSON)
	}
	if want["lineage"] {
		for _, dir := range []string{bench.Downstream, bench.Upstream} {
			c := cfg
			c.Workload, c.Direction = graphWorkload, dir
			fmt.Fprintf(stderr, "== lineage %s, %d queries at depths %v\n", strings.ToLower(dir), c.Queries, bench.DefaultDepths)
			r, err := bench.RunLineage(ctx, c, stderr)
			if err != nil {
				return err
			}
			if dir == bench.Downstream {
				out.Lineage = &r
			} else {
				out.Provenance = &r
			}
			printPartial(stdout, *asJSON, r.Markdown())
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return nil
}

// printPartial prints a scenario's table as soon as it is known (Markdown
// mode), so a long run shows results as it goes.
func printPartial(w io.Writer, asJSON bool, md string) {
	if !asJSON {
		fmt.Fprintln(w, md)
	}
}

// benchReport is the -json output of `redthread bench`.
type benchReport struct {
	Single        *bench.IngestResult  `json:"ingest_single,omitempty"`
	SingleApplied *drain               `json:"ingest_single_applied,omitempty"`
	Batch         *bench.IngestResult  `json:"ingest_batch,omitempty"`
	BatchApplied  *drain               `json:"ingest_batch_applied,omitempty"`
	Lineage       *bench.LineageResult `json:"lineage,omitempty"`    // downstream: impact
	Provenance    *bench.LineageResult `json:"provenance,omitempty"` // upstream
}

// drain is how long the graph took to apply everything acknowledged: ingest
// replies once events are durable in the log, so the graph may trail.
type drain struct {
	AfterLastAckSeconds float64 `json:"after_last_ack_s"`
	AppliedPerSec       float64 `json:"applied_events_per_s"`
}

// reportDrain waits until /readyz shows no projection lag (at most 30
// minutes) and reports the end-to-end applied throughput, so the next
// scenario starts on a settled graph and ingest figures are not flattered
// by work left for later.
func reportDrain(ctx context.Context, base string, r bench.IngestResult, stdout, stderr io.Writer, asJSON bool) *drain {
	start := time.Now()
	deadline := start.Add(30 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var rd server.Readiness
			derr := json.NewDecoder(resp.Body).Decode(&rd)
			resp.Body.Close()
			if derr == nil && rd.ProjectionLag == 0 {
				d := &drain{AfterLastAckSeconds: time.Since(start).Seconds()}
				total := r.Elapsed.Seconds() + d.AfterLastAckSeconds
				if total > 0 {
					d.AppliedPerSec = float64(r.Accepted) / total
				}
				if !asJSON {
					fmt.Fprintf(stdout, "Graph caught up %.1f s after the last acknowledgement: %.0f events/s applied end to end.\n\n",
						d.AfterLastAckSeconds, d.AppliedPerSec)
				}
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stderr, "the graph did not catch up with the log in time")
	return nil
}

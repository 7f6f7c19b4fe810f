package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/redthread/redthread/internal/bench"
	"github.com/redthread/redthread/internal/server"
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

// benchOptions are `redthread bench`'s flags, once parsed.
type benchOptions struct {
	url, apiKey, dataDir string
	pid, storePID        int
	want                 map[string]bool // scenarios
	clients, events      int
	batchSize, nodes     int
	queries              int
	seed                 uint64
	duration             time.Duration
	gzip, asJSON         bool
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "redthread bench [flags]", stderr)
	var o benchOptions
	fs.StringVar(&o.url, "url", "", "benchmark this running Redthread (loopback only); empty: start a fresh redthread serve on a temporary data dir")
	fs.IntVar(&o.pid, "pid", 0, "with -url: sample this process's resident memory")
	fs.StringVar(&o.apiKey, "api-key", "", "bearer token, if the server requires one")
	scenarios := fs.String("scenario", "single,batch,lineage", "comma-separated: single (one event per request), batch, lineage")
	fs.IntVar(&o.clients, "clients", bench.DefaultClients, "concurrent ingest clients")
	fs.IntVar(&o.events, "events", 20_000, "events sent by the single-event scenario")
	fs.IntVar(&o.batchSize, "batch", bench.DefaultBatchSize, "events per batch request")
	fs.IntVar(&o.nodes, "nodes", 100_000, "size in nodes of the generated graph the batch scenario loads and the lineage scenario queries")
	fs.Uint64Var(&o.seed, "seed", 1, "workload seed (the batch workload uses seed+1)")
	fs.IntVar(&o.queries, "queries", 200, "lineage queries per depth")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "longest wall time of each scenario")
	fs.BoolVar(&o.gzip, "gzip", false, "gzip request bodies")
	fs.StringVar(&o.dataDir, "data-dir", "", "data dir of the started server (default: a temporary dir, removed afterwards); with several -graph stores, one numbered subdirectory each")
	graphStores := fs.String("graph", "sqlite", "graph store of the started server: sqlite or an EMPTY Neo4j's URI, or several, comma-separated, each benchmarked in turn on a fresh server and then compared side by side (the server reads REDTHREAD_NEO4J_USER, REDTHREAD_NEO4J_PASSWORD and REDTHREAD_NEO4J_CA from the environment)")
	fs.IntVar(&o.storePID, "store-pid", 0, "pid of the Neo4j server behind a bolt/neo4j -graph (or behind -url's server), to report its CPU per event beside Redthread's")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON instead of Markdown (with several stores: {\"stores\": [report, …]})")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.want = map[string]bool{}
	for _, s := range strings.Split(*scenarios, ",") {
		switch s = strings.TrimSpace(s); s {
		case "single", "batch", "lineage":
			o.want[s] = true
		case "":
		default:
			return fmt.Errorf("-scenario %q: want single, batch or lineage", s)
		}
	}
	var graphs []string
	for _, g := range strings.Split(*graphStores, ",") {
		if g = strings.TrimSpace(g); g != "" {
			graphs = append(graphs, g)
		}
	}
	switch {
	case len(graphs) == 0:
		return fmt.Errorf("-graph %q names no store: want sqlite or a Neo4j URI", *graphStores)
	case o.url != "" && len(graphs) > 1:
		return fmt.Errorf("-graph names %d stores, but -url benchmarks one running server: drop -url to start one per store", len(graphs))
	}

	// Figures of one build differ twofold between machines of one size,
	// so every report says where it was measured.
	machine := bench.ReadMachine()
	if !o.asJSON {
		fmt.Fprintf(stdout, "Machine: %s; bench client redthread %s.\n\n", machine, version)
	}
	reports := make([]benchReport, 0, len(graphs))
	for i, g := range graphs {
		if len(graphs) > 1 {
			fmt.Fprintf(stderr, "=== store %d of %d: %s\n", i+1, len(graphs), g)
		}
		dir := o.dataDir
		if dir != "" && len(graphs) > 1 {
			dir = filepath.Join(dir, fmt.Sprint(i+1))
		}
		r, err := benchStore(ctx, o, g, dir, stdout, stderr)
		if err != nil {
			return fmt.Errorf("benchmarking %s: %w", g, err)
		}
		r.Machine, r.Client = &machine, version
		reports = append(reports, r)
	}
	switch {
	case o.asJSON && len(reports) == 1:
		return writeJSON(stdout, reports[0])
	case o.asJSON:
		return writeJSON(stdout, struct {
			Stores []benchReport `json:"stores"`
		}{reports})
	case len(reports) > 1:
		fmt.Fprint(stdout, sideBySide(reports))
	}
	return nil
}

// benchStore runs the chosen scenarios against one store: a fresh server
// on it (on dataDir, or a temporary dir), or o.url's running one.
func benchStore(ctx context.Context, o benchOptions, graphStore, dataDir string, stdout, stderr io.Writer) (benchReport, error) {
	var out benchReport
	base, rssPID := o.url, o.pid
	if base == "" {
		out.Graph = graphStore
		if dataDir == "" {
			tmp, err := os.MkdirTemp("", "redthread-bench-")
			if err != nil {
				return out, err
			}
			defer os.RemoveAll(tmp)
			dataDir = tmp
		}
		child, err := startBenchChild(ctx, dataDir, graphStore, stderr)
		if err != nil {
			return out, err
		}
		defer child.stop()
		base, rssPID = child.url, child.cmd.Process.Pid
		fmt.Fprintf(stderr, "benchmarking a fresh redthread serve at %s (data dir %s, graph %s, pid %d)\n", base, dataDir, graphStore, rssPID)
		if err := checkEmptyGraph(ctx, base, o.apiKey, graphStore); err != nil {
			return out, err
		}
	}
	if err := bench.CheckLoopback(base); err != nil {
		return out, err
	}
	cfg := bench.Config{
		BaseURL: base, Token: o.apiKey, Clients: o.clients, BatchSize: o.batchSize, Duration: o.duration,
		Gzip: o.gzip, Queries: o.queries, RSSPID: rssPID, ProgressInterval: time.Second,
	}
	if o.url != "" || (graphStore != "sqlite" && !strings.HasPrefix(graphStore, "sqlite:")) {
		cfg.StorePID = o.storePID // a running server's store is whatever its user says
	}
	if o.want["single"] {
		c := cfg
		c.Mode, c.Events = bench.ModeSingle, o.events
		c.Workload = workload.Config{Seed: o.seed, Nodes: max(o.nodes/5, 1000)}
		fmt.Fprintf(stderr, "== ingest, one event per request, %d clients, %d events\n", c.Clients, c.Events)
		cpu := markCPU(rssPID, c.StorePID)
		track := startTracking(ctx, base)
		r, err := bench.RunIngest(ctx, c, stderr)
		if err != nil {
			track.stop()
			return out, err
		}
		track.replied()
		out.Single = &r
		printPartial(stdout, o.asJSON, r.Markdown())
		out.SingleApplied = reportDrain(ctx, base, r, cpu, track, stdout, stderr, o.asJSON)
	}
	graphWorkload := workload.Config{Seed: o.seed + 1, Nodes: o.nodes}
	if o.want["batch"] {
		c := cfg
		c.Mode, c.Workload = bench.ModeBatch, graphWorkload
		fmt.Fprintf(stderr, "== ingest, batches of %d, %d clients, a %d-node workload (%d events)\n",
			c.BatchSize, c.Clients, o.nodes, workload.EstimateEvents(graphWorkload))
		cpu := markCPU(rssPID, c.StorePID)
		track := startTracking(ctx, base)
		r, err := bench.RunIngest(ctx, c, stderr)
		if err != nil {
			track.stop()
			return out, err
		}
		track.replied()
		out.Batch = &r
		printPartial(stdout, o.asJSON, r.Markdown())
		out.BatchApplied = reportDrain(ctx, base, r, cpu, track, stdout, stderr, o.asJSON)
	}
	if o.want["lineage"] {
		for _, dir := range []string{bench.Downstream, bench.Upstream} {
			c := cfg
			c.Workload, c.Direction = graphWorkload, dir
			fmt.Fprintf(stderr, "== lineage %s, %d queries at depths %v\n", strings.ToLower(dir), c.Queries, bench.DefaultDepths)
			r, err := bench.RunLineage(ctx, c, stderr)
			if err != nil {
				return out, err
			}
			if dir == bench.Downstream {
				out.Lineage = &r
			} else {
				out.Provenance = &r
			}
			printPartial(stdout, o.asJSON, r.Markdown())
		}
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
	Machine       *bench.Machine       `json:"machine,omitempty"`        // where the run was measured
	Client        string               `json:"client_version,omitempty"` // the bench client's build, which is the started server's
	Graph         string               `json:"graph,omitempty"`          // the started server's -graph; empty with -url
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
	// The CPU per accepted event from the start of ingest until the graph
	// caught up, of Redthread and of the graph store's server (when their
	// pids are known): all the work the events cost, where the ingest
	// report's CPU stops at the last reply.
	ServerMicrosPerEvent float64 `json:"server_us_per_event,omitempty"`
	StoreMicrosPerEvent  float64 `json:"store_us_per_event,omitempty"`
	// Projection is how far the graph trailed the log during the run, and
	// the pace both kept once the pipeline's buffers had filled.
	Projection *bench.Projection `json:"projection,omitempty"`
}

// projectionInterval is how often the bench reads /readyz while ingest
// runs: often enough to place each apply commit (one every ~0.5–1 s
// under full load) within 1% of a steady window of a few seconds. Each
// reading also asks the graph store for its applied offset (a query to
// Neo4j), so it is no more often than that needs.
const projectionInterval = 50 * time.Millisecond

// tracking follows the projection through one ingest scenario.
type tracking struct {
	t         *bench.ProjectionTracker
	start     time.Time
	lastReply time.Duration
}

// startTracking starts reading the /readyz of the server at base.
func startTracking(ctx context.Context, base string) *tracking {
	client := &http.Client{Timeout: 2 * time.Second}
	return &tracking{t: bench.TrackProjection(ctx, client, base, projectionInterval), start: time.Now()}
}

// replied marks the moment the scenario's last reply came in.
func (tr *tracking) replied() { tr.lastReply = time.Since(tr.start) }

// stop ends the tracking (if it still runs) and summarises it.
func (tr *tracking) stop() bench.Projection {
	return bench.SummarizeProjection(tr.t.Stop(), tr.lastReply)
}

// projectionLine reports p in a sentence, or "" when the graph never
// trailed.
func projectionLine(p bench.Projection) string {
	if p.PeakLag == 0 {
		return ""
	}
	line := fmt.Sprintf("While replies went out, the graph trailed the log by up to %d events", p.PeakLag)
	if p.SteadyCommits == 0 {
		return line + " (too few apply commits for a steady rate)."
	}
	return line + fmt.Sprintf("; steady state (%d apply commits from %.1f s to %.1f s into the run): %.0f events/s applied, %.0f acknowledged.",
		p.SteadyCommits, p.SteadyFrom, p.SteadyTo, p.SteadyAppliedPerSec, p.SteadyAckedPerSec)
}

// cpuMark measures the Redthread server's and the graph store server's
// CPU time from one moment on (either may measure nothing).
type cpuMark struct{ server, store bench.CPUSince }

func markCPU(server, store int) cpuMark {
	return cpuMark{bench.MeasureCPU(server), bench.MeasureCPU(store)}
}

// reportDrain waits until /readyz shows no projection lag (at most 30
// minutes) and reports the end-to-end applied throughput, so the next
// scenario starts on a settled graph and ingest figures are not flattered
// by work left for later.
func reportDrain(ctx context.Context, base string, r bench.IngestResult, cpu cpuMark, track *tracking, stdout, stderr io.Writer, asJSON bool) *drain {
	defer track.stop()
	start := time.Now()
	deadline := start.Add(30 * time.Minute)
	lastProgress := start
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var rd server.Readiness
			derr := json.NewDecoder(resp.Body).Decode(&rd)
			resp.Body.Close()
			if derr == nil && rd.ProjectionLag > 0 && time.Since(lastProgress) >= time.Second {
				lastProgress = time.Now()
				fmt.Fprintf(stderr, "catching up %6.1fs  %d records still to apply\n", time.Since(start).Seconds(), rd.ProjectionLag)
			}
			if derr == nil && rd.ProjectionLag == 0 {
				d := &drain{AfterLastAckSeconds: time.Since(start).Seconds()}
				total := r.Elapsed.Seconds() + d.AfterLastAckSeconds
				if total > 0 {
					d.AppliedPerSec = float64(r.Accepted) / total
				}
				d.ServerMicrosPerEvent = cpu.server.MicrosPerEvent(r.Accepted)
				d.StoreMicrosPerEvent = cpu.store.MicrosPerEvent(r.Accepted)
				proj := track.stop()
				d.Projection = &proj
				if !asJSON {
					fmt.Fprintf(stdout, "Graph caught up %.1f s after the last acknowledgement: %.0f events/s applied end to end.\n",
						d.AfterLastAckSeconds, d.AppliedPerSec)
					if line := projectionLine(proj); line != "" {
						fmt.Fprintln(stdout, line)
					}
					if line := d.cpuLine(); line != "" {
						fmt.Fprintln(stdout, line)
					}
					fmt.Fprintln(stdout)
				}
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stderr, "the graph did not catch up with the log in time")
	return nil
}

// cpuLine reports the CPU per event until the graph caught up, or "" when
// no process was measured.
func (d *drain) cpuLine() string {
	var parts []string
	if d.ServerMicrosPerEvent > 0 {
		parts = append(parts, fmt.Sprintf("Redthread %.0f µs", d.ServerMicrosPerEvent))
	}
	if d.StoreMicrosPerEvent > 0 {
		parts = append(parts, fmt.Sprintf("the graph store's server %.0f µs", d.StoreMicrosPerEvent))
	}
	if len(parts) == 0 {
		return ""
	}
	return "CPU per accepted event until the graph caught up: " + strings.Join(parts, ", ") + "."
}

// checkEmptyGraph fails unless the graph behind the server at base holds
// no node: ingest rates and lineage answers measured on top of an earlier
// run's graph would not be the workload's, and would not compare.
// graphStore names the store in errors.
func checkEmptyGraph(ctx context.Context, base, token, graphStore string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var data *struct {
		Counts struct {
			TotalNodes int64 `json:"totalNodes"`
		} `json:"counts"`
	}
	if err := newAPIClient(base, token).graphql(ctx, "{ counts { totalNodes } }", nil, &data); err != nil {
		return fmt.Errorf("counting the nodes of %s: %w", graphStore, err)
	}
	switch {
	case data == nil:
		return fmt.Errorf("counting the nodes of %s: the reply has no data", graphStore)
	case data.Counts.TotalNodes > 0:
		return fmt.Errorf("the graph already holds %d nodes; the benchmark needs an empty one "+
			"(for deploy/local/neo4j: stop it, delete its data dir, start it again; for sqlite: a new -data-dir)",
			data.Counts.TotalNodes)
	}
	return nil
}

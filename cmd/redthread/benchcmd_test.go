package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redthread/redthread/internal/bench"
)

// TestBenchSideBySide runs `redthread bench` over the embedded store and a
// private, empty Neo4j in one invocation: both must take every event and
// answer every lineage query, return subgraphs of the same size, and the
// Neo4j server's CPU must be measured beside Redthread's.
func TestBenchSideBySide(t *testing.T) {
	needNeo4j(t)
	n := privateNeo4j{port: 7695, home: t.TempDir()}
	n.run(t, "start")
	t.Cleanup(func() { n.run(t, "stop") })
	pidCmd := exec.Command("../../deploy/local/neo4j/neo4j.sh", "pid")
	pidCmd.Env = append(os.Environ(), "NEO4J_PORT="+strconv.Itoa(n.port), "NEO4J_HOME_DIR="+n.home)
	pidText, err := pidCmd.Output()
	if err != nil {
		t.Fatalf("neo4j.sh pid: %v", err)
	}
	neo4jPID, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatalf("neo4j.sh pid printed %q: %v", pidText, err)
	}
	if recorded, _ := os.ReadFile(filepath.Join(n.home, "neo4j.pid")); strings.TrimSpace(string(recorded)) != strconv.Itoa(neo4jPID) {
		t.Fatalf("neo4j.sh pid printed %d, the pid file holds %q", neo4jPID, recorded)
	}
	neo4jURI := fmt.Sprintf("bolt://127.0.0.1:%d", n.port)

	cmd := exec.Command(binPath, "bench", "--graph", "sqlite, "+neo4jURI, "--store-pid", strconv.Itoa(neo4jPID),
		"--nodes", "2000", "--events", "300", "--queries", "5", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var got struct {
		Stores []benchReport `json:"stores"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("bench --json output: %v\n%s", err, out)
	}
	if len(got.Stores) != 2 || got.Stores[0].Graph != "sqlite" || got.Stores[1].Graph != neo4jURI {
		t.Fatalf("stores %+v, want sqlite then %s", got.Stores, neo4jURI)
	}
	for _, r := range got.Stores {
		if r.Machine == nil || r.Machine.CPUs != runtime.NumCPU() || r.Machine.Go == "" || r.Client == "" {
			t.Errorf("%s: machine %+v, client %q; want where the run was measured and by which build", r.Graph, r.Machine, r.Client)
		}
		for name, in := range map[string]*bench.IngestResult{"single": r.Single, "batch": r.Batch} {
			if in == nil || in.Events == 0 || in.Accepted != in.Events || in.Rejected != 0 || len(in.Errors) != 0 {
				t.Errorf("%s, %s ingest: %+v; want every event accepted", r.Graph, name, in)
			}
		}
		if r.BatchApplied == nil || r.BatchApplied.ServerMicrosPerEvent <= 0 {
			t.Fatalf("%s: batch drain %+v; want the graph caught up and Redthread's CPU measured", r.Graph, r.BatchApplied)
		}
		if p := r.BatchApplied.Projection; p == nil || p.PeakLag < 0 || p.PeakLag > int64(r.Batch.Accepted) ||
			(p.SteadyCommits > 0) != (p.SteadyAppliedPerSec > 0 && p.SteadyAckedPerSec > 0 && p.SteadyTo > p.SteadyFrom) {
			t.Errorf("%s: batch projection %+v; want the lag within the run's %d events, and steady rates only over a window", r.Graph, p, r.Batch.Accepted)
		}
		for _, l := range []*bench.LineageResult{r.Lineage, r.Provenance} {
			if l == nil || len(l.Depths) != 2 {
				t.Fatalf("%s: lineage %+v, want two depths", r.Graph, l)
			}
			for _, d := range l.Depths {
				if d.Queries != 5 || len(d.Errors) != 0 || d.MeanNodes <= 0 {
					t.Errorf("%s %s depth %d: %d queries, errors %v, %.1f mean nodes", r.Graph, l.Direction, d.Depth, d.Queries, d.Errors, d.MeanNodes)
				}
			}
		}
	}
	embedded, neo := got.Stores[0], got.Stores[1]
	if embedded.Batch.StoreCPU != nil || neo.Batch.StoreCPU == nil || neo.Batch.StoreCPU.PID != neo4jPID {
		t.Errorf("graph store CPU: embedded %+v, Neo4j %+v; want only Neo4j's, for pid %d", embedded.Batch.StoreCPU, neo.Batch.StoreCPU, neo4jPID)
	}
	if neo.BatchApplied == nil || neo.BatchApplied.StoreMicrosPerEvent <= 0 {
		t.Errorf("Neo4j batch drain %+v; want Neo4j's CPU per event until caught up", neo.BatchApplied)
	}
	// Neo4j applies a few thousand events a second, far behind the replies
	// a warm log gives: its graph must have been seen trailing.
	if neo.BatchApplied.Projection.PeakLag == 0 {
		t.Errorf("Neo4j batch projection %+v; want the graph seen trailing the log", neo.BatchApplied.Projection)
	}
	// The Neo4j now holds the run's graph: a second run must refuse it.
	again, err := exec.Command(binPath, "bench", "--graph", neo4jURI, "--scenario", "lineage", "--queries", "1").CombinedOutput()
	if err == nil || !strings.Contains(string(again), "already holds") {
		t.Errorf("bench on the filled Neo4j: %v\n%s\nwant a refusal", err, again)
	}
	for i, pair := range [][2]*bench.LineageResult{{embedded.Lineage, neo.Lineage}, {embedded.Provenance, neo.Provenance}} {
		for j := range pair[0].Depths {
			a, b := pair[0].Depths[j], pair[1].Depths[j]
			if a.Depth != b.Depth || a.MeanNodes != b.MeanNodes || a.MeanEdges != b.MeanEdges {
				t.Errorf("lineage %d depth %d: embedded %.1f nodes / %.1f edges, Neo4j depth %d %.1f / %.1f; want the same subgraphs",
					i, a.Depth, a.MeanNodes, a.MeanEdges, b.Depth, b.MeanNodes, b.MeanEdges)
			}
		}
	}
}

// TestBenchRefusesFilledGraph checks that a benchmark refuses a store
// an earlier run left data in, which would skew its figures. Its first run
// also checks the Markdown report, which opens with the machine.
func TestBenchRefusesFilledGraph(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "--data-dir", dir, "--scenario", "batch", "--nodes", "1000"}
	first := exec.Command(binPath, args...)
	var stderr strings.Builder
	first.Stderr = &stderr
	md, err := first.Output()
	if err != nil {
		t.Fatalf("first run: %v\n%s%s", err, md, stderr.String())
	}
	wantMachine := fmt.Sprintf("Machine: %s; bench client redthread ", bench.ReadMachine())
	if !strings.HasPrefix(string(md), wantMachine) || !strings.Contains(string(md), "### Ingest: batch of 100, 16 clients") {
		t.Errorf("report:\n%s\nwant it to open with %q and give the batch scenario", md, wantMachine)
	}
	out, err := exec.Command(binPath, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already holds") || !strings.Contains(string(out), "needs an empty one") {
		t.Fatalf("second run on the same data dir: %v\n%s\nwant a refusal naming the filled graph", err, out)
	}
}

func TestBenchRefusesBadStoreLists(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--graph", " , "}, "names no store"},
		{[]string{"--graph", "sqlite,bolt://127.0.0.1:1", "--url", "http://127.0.0.1:1"}, "one running server"},
	} {
		var stderr strings.Builder
		err := runBench(t.Context(), tc.args, &strings.Builder{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestSideBySide(t *testing.T) {
	lat := func(p50, p99 time.Duration) bench.Latency { return bench.Latency{P50: p50, P99: p99} }
	embedded := benchReport{
		Graph: "sqlite",
		Batch: &bench.IngestResult{BatchSize: 100, EventsPerSec: 8500, Latency: lat(160*time.Millisecond, 550*time.Millisecond),
			CPU: &bench.CPU{MicrosPerEvent: 205, Cores: 1.78}, RSS: &bench.RSS{PeakKB: 2048 * 1024}},
		BatchApplied: &drain{AppliedPerSec: 7400, ServerMicrosPerEvent: 226,
			Projection: &bench.Projection{PeakLag: 24000, SteadyCommits: 4, SteadyAppliedPerSec: 8120.4, SteadyAckedPerSec: 8190.6}},
		Lineage: &bench.LineageResult{Depths: []bench.DepthResult{
			{Depth: 5, Latency: lat(4600*time.Microsecond, 11*time.Millisecond), MeanNodes: 186.8, MeanEdges: 301.6},
			{Depth: 20, Latency: lat(15*time.Millisecond, 40*time.Millisecond), MeanNodes: 579.5, MeanEdges: 1106.5},
		}},
	}
	neo := benchReport{
		Graph: "bolt://a|b:7687",
		Batch: &bench.IngestResult{BatchSize: 100, EventsPerSec: 2400, Latency: lat(600*time.Millisecond, 1500*time.Millisecond),
			CPU: &bench.CPU{MicrosPerEvent: 170, Cores: 0.4}, StoreCPU: &bench.CPU{MicrosPerEvent: 640, Cores: 1.5}},
		BatchApplied: &drain{AppliedPerSec: 2000, ServerMicrosPerEvent: 180, StoreMicrosPerEvent: 650,
			Projection: &bench.Projection{PeakLag: 9000}},
		Lineage: &bench.LineageResult{Depths: []bench.DepthResult{
			{Depth: 5, Latency: lat(18*time.Millisecond, 39*time.Millisecond), MeanNodes: 186.8, MeanEdges: 301.6,
				Errors: map[string]int64{"TIMEOUT": 2}},
		}},
	}
	embedded.Machine = &bench.Machine{CPU: "AMD EPYC", CPUs: 2, OS: "linux", Arch: "amd64", Go: "go1.26.8"}
	md := sideBySide([]benchReport{embedded, neo})
	for _, want := range []string{
		"\nMachine: AMD EPYC, 2 CPUs, linux/amd64, go1.26.8.\n",
		"|  | sqlite | bolt://a\\|b:7687 |\n|---|---:|---:|\n",
		"| ingest, batches of 100: events/s acknowledged | 8500 | 2400 |",
		"| ingest, batches of 100: events/s applied end to end | 7400 | 2000 |",
		"| ingest, batches of 100: steady state, events/s applied / acknowledged | 8120 / 8191 | — |",
		"| ingest, batches of 100: most events the graph trailed the log by | 24000 | 9000 |",
		"| ingest, batches of 100: request p50 / p99 | 160.00 / 550.00 ms | 600.00 / 1500.00 ms |",
		"| ingest, batches of 100: Redthread CPU per event while acknowledging | 205 µs (1.78 cores) | 170 µs (0.40 cores) |",
		"| ingest, batches of 100: graph store server CPU per event while acknowledging | — | 640 µs (1.50 cores) |",
		"| ingest, batches of 100: CPU per event until the graph caught up: Redthread | 226 µs | 180 µs |",
		"| ingest, batches of 100: CPU per event until the graph caught up: graph store server | — | 650 µs |",
		"| ingest, batches of 100: Redthread peak resident memory | 2048 MiB | — |",
		"| impact (downstream), depth 5: p50 / p99 | 4.60 / 11.00 ms | 18.00 / 39.00 ms (2 errors) |",
		"| impact (downstream), depth 5: mean nodes / edges | 186.8 / 301.6 | 186.8 / 301.6 |",
		"| impact (downstream), depth 20: p50 / p99 | 15.00 / 40.00 ms | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("side-by-side table lacks\n%s\nin\n%s", want, md)
		}
	}
	for _, absent := range []string{"one event per request", "provenance"} {
		if strings.Contains(md, absent) {
			t.Errorf("rows for %q, a scenario neither report has:\n%s", absent, md)
		}
	}
}

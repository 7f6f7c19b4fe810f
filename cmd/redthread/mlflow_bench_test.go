package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redthread/redthread/ingest/mlflow/mlflowtest"
)

// BenchmarkMLflowSync measures `redthread mlflow sync` from a real MLflow
// server into a running Redthread: REDTHREAD_MLFLOW_BENCH_RUNS finished
// runs (default 1000; the README's figure uses 10000), one in ten with a
// model file and checksums.json. Seeding is not timed. It reports runs/s
// for a first sync (everything new) and a second (everything unchanged).
//
//	REDTHREAD_MLFLOW_BENCH_RUNS=10000 go test -run '^$' -bench MLflowSync -benchtime 1x -timeout 2h ./cmd/redthread
func BenchmarkMLflowSync(b *testing.B) {
	n := 1000
	if s := os.Getenv("REDTHREAD_MLFLOW_BENCH_RUNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("REDTHREAD_MLFLOW_BENCH_RUNS=%q: want a positive integer", s)
		}
		n = v
	}
	uri := mlflowtest.Start(b)
	seedStart := time.Now()
	if _, err := mlflowtest.SeedRuns(b.Context(), uri, mlflowtest.BulkOptions{Runs: n, ArtifactsEvery: 10}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d runs in %s", n, time.Since(seedStart).Round(time.Second))
	for i := 0; i < b.N; i++ {
		srv := startServer(b, b.TempDir())
		for pass, want := range []string{"new", "unchanged"} {
			start := time.Now()
			out, err := exec.Command(binPath, "mlflow", "sync", "--mlflow-uri", uri, "--url", srv.URL,
				"--experiment", mlflowtest.BulkExperiment, "--json", "--quiet").CombinedOutput()
			if err != nil {
				b.Fatalf("sync: %v\n%s", err, out)
			}
			elapsed := time.Since(start)
			var s syncSummary
			if err := json.Unmarshal(out[strings.IndexByte(string(out), '{'):], &s); err != nil {
				b.Fatal(err)
			}
			got := map[string]int{"new": s.New, "unchanged": s.Unchanged}[want]
			if s.Runs != n || got < n || s.Rejected != 0 {
				b.Fatalf("pass %d: %+v, want %d runs all %s", pass+1, s, n, want)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "runs/s-"+want)
		}
		srv.stop(b)
	}
}

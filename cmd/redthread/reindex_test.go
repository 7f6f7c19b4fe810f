package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/graph/storetest"
)

// TestReindexRebuildsAndResumes replays a server's event log into a fresh
// SQLite graph, then, after more events, resumes from where it stopped.
func TestReindexRebuildsAndResumes(t *testing.T) {
	dataDir := t.TempDir()
	post := func(srv *serverProc, from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("22222222-3333-4444-8555-%012d", i)
			status, body, err := postJSON(t.Context(), srv.URL+"/api/v1/lineage",
				runEvent(id, "COMPLETE", "reindex.job", "s3://r", fmt.Sprintf("in_%d", i), "s3://r", fmt.Sprintf("out_%d", i)))
			if err != nil || status != http.StatusCreated {
				t.Fatalf("post: %d %s %v", status, body, err)
			}
		}
	}
	srv := startServer(t, dataDir)
	post(srv, 0, 30)
	srv.stop(t)

	target := filepath.Join(t.TempDir(), "rebuilt.db")
	stdout, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir, "--graph", "sqlite:"+target, "--chunk", "7")
	if code != 0 || !strings.Contains(stdout, "reindexed 30 records") {
		t.Fatalf("reindex: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, _ = redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir, "--graph", "sqlite:"+target)
	if !strings.Contains(stdout, "up to date") {
		t.Fatalf("second reindex should find nothing to do: %s", stdout)
	}

	srv = startServer(t, dataDir)
	post(srv, 30, 40)
	srv.stop(t)
	stdout, stderr, code = redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir, "--graph", "sqlite:"+target)
	if code != 0 || !strings.Contains(stdout, "reindexed 10 records") || !strings.Contains(stderr, "resuming") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// The rebuilt graph equals the server's own projection.
	rebuilt, err := sqlite.OpenStore(target)
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Close()
	served, err := sqlite.OpenStore(filepath.Join(dataDir, graphFile))
	if err != nil {
		t.Fatal(err)
	}
	defer served.Close()
	want := storetest.Dump(t, served)
	if diff := cmp.Diff(want, storetest.Dump(t, rebuilt)); diff != "" {
		t.Fatalf("the rebuilt graph differs from the server's (-served +rebuilt):\n%s", diff)
	}
	if !strings.Contains(want.Counts, "Run:40") {
		t.Fatalf("the server's graph holds %s, want 40 runs", want.Counts)
	}
	off, _ := rebuilt.AppliedOffset(t.Context())
	if off != 40 {
		t.Fatalf("applied offset %d, want 40", off)
	}
}

// TestOneWriterPerGraph checks that a graph a running server writes is
// refused, with a message that says why, to a reindex and to a second
// server on the same data dir, and is free again once the server stops.
func TestOneWriterPerGraph(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)

	_, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir)
	if code == 0 || !strings.Contains(stderr, "already open for writing") {
		t.Fatalf("reindex of a served graph: exit %d, stderr %q; want a refusal", code, stderr)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, binPath, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	out, err := second.CombinedOutput()
	if ctx.Err() != nil || err == nil || !strings.Contains(string(out), "already open for writing") {
		t.Fatalf("a second server on the data dir: %v (context %v), output %q; want a refusal", err, ctx.Err(), out)
	}

	srv.stop(t)
	stdout, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, "up to date") {
		t.Fatalf("reindex after the server stopped: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/neo4j"
	"github.com/redthread/redthread/graph/storetest"
	"github.com/redthread/redthread/internal/server"
)

// privateNeo4j starts a Neo4j of the test's own (deploy/local/neo4j) on
// port, with its data in home, so the test can stop and restart it without
// disturbing the Neo4j other packages' tests share.
type privateNeo4j struct {
	port int
	home string
	env  []string // more of neo4j.sh's settings, e.g. NEO4J_PASSWORD
}

func (n privateNeo4j) run(t *testing.T, action string) {
	t.Helper()
	cmd := exec.Command("../../deploy/local/neo4j/neo4j.sh", action)
	cmd.Env = append(os.Environ(), "NEO4J_PORT="+strconv.Itoa(n.port), "NEO4J_HOME_DIR="+n.home, "NEO4J_HEAP=512m")
	cmd.Env = append(cmd.Env, n.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("neo4j.sh %s: %v\n%s", action, err, out)
	}
}

// needNeo4j says whether the Neo4j tests should run: in CI, and wherever
// make test set up Neo4j (REDTHREAD_NEO4J_URI, or REDTHREAD_NEO4J_DOCKER=1
// when the tests start theirs in Docker). These tests run a private server
// of their own with deploy/local/neo4j either way: they stop, restart and
// reconfigure it.
func needNeo4j(t *testing.T) {
	if os.Getenv("REDTHREAD_NEO4J_URI") == "" && os.Getenv("REDTHREAD_NEO4J_DOCKER") != "1" && !inCI() {
		t.Skip("Neo4j tests run under `make test` (REDTHREAD_NEO4J_URI unset)")
	}
}

// waitReady polls /readyz until it reports ready with no projection lag.
func waitReady(t *testing.T, srv *serverProc, want bool) server.Readiness {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(srv.URL + "/readyz")
		if err == nil {
			var rd server.Readiness
			_ = json.NewDecoder(resp.Body).Decode(&rd)
			resp.Body.Close()
			if rd.Ready == want && (!want || rd.ProjectionLag == 0) {
				return rd
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never reported ready=%v\n%s", want, srv.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestNeo4jOutage stops the real Neo4j during ingest: events keep being
// acknowledged (they are durable in the log), readiness reports the outage,
// and once Neo4j is back every acknowledged event reaches the graph.
func TestNeo4jOutage(t *testing.T) {
	needNeo4j(t)
	n := privateNeo4j{port: 7697, home: t.TempDir()}
	n.run(t, "start")
	t.Cleanup(func() { n.run(t, "stop") })
	srv := startServer(t, t.TempDir(), "--graph", fmt.Sprintf("bolt://127.0.0.1:%d", n.port), "--neo4j-retry-time", "1s")

	var keys []string
	post := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("33333333-4444-4555-8666-%012d", i)
			status, body, err := postJSON(t.Context(), srv.URL+"/api/v1/lineage",
				runEvent(id, "COMPLETE", "outage.job", "s3://o", fmt.Sprintf("in_%d", i), "s3://o", fmt.Sprintf("out_%d", i)))
			if err != nil || status != http.StatusCreated {
				t.Fatalf("event %d: %d %s %v", i, status, body, err)
			}
			keys = append(keys, graph.RunKey(id))
		}
	}
	post(0, 20)
	waitReady(t, srv, true)

	n.run(t, "stop")
	post(20, 60) // acknowledged while Neo4j is down
	rd := waitReady(t, srv, false)
	t.Logf("while Neo4j was down: %+v", rd)

	n.run(t, "start")
	waitReady(t, srv, true)
	var got struct {
		Nodes []gqlNode `json:"nodes"`
	}
	srv.gql(t, `query($keys: [ID!]!) { nodes(keys: $keys) { key } }`, map[string]any{"keys": keys}, &got)
	if len(got.Nodes) != len(keys) {
		t.Fatalf("after the outage the graph has %d of %d acknowledged runs", len(got.Nodes), len(keys))
	}

	// reindex against Neo4j: the graph already holds the whole log.
	srv.stop(t)
	stdout, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", srv.dataDir, "--graph", fmt.Sprintf("bolt://127.0.0.1:%d", n.port))
	if code != 0 || !strings.Contains(stdout, "up to date with the log (offset 60)") {
		t.Fatalf("reindex into Neo4j: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Not only the runs: the whole graph Neo4j holds after the outage is
	// the one the log describes, as a replay of it into SQLite shows.
	want := replayedGraph(t, srv.dataDir)
	sameGraph(t, "after the outage", want, n.port)

	// Rebuild: a brand-new, empty Neo4j gets the whole log replayed into it.
	n.run(t, "stop")
	fresh := privateNeo4j{port: n.port, home: t.TempDir()}
	fresh.run(t, "start")
	t.Cleanup(func() { fresh.run(t, "stop") })
	stdout, stderr, code = redthread(t, nil, "reindex", "--quiet", "--chunk", "7", "--data-dir", srv.dataDir, "--graph", fmt.Sprintf("bolt://127.0.0.1:%d", n.port))
	if code != 0 || !strings.Contains(stdout, "reindexed 60 records") {
		t.Fatalf("rebuild into an empty Neo4j: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameGraph(t, "rebuilt", want, n.port)
	rebuilt := startServer(t, srv.dataDir, "--graph", fmt.Sprintf("bolt://127.0.0.1:%d", n.port))
	got.Nodes = nil
	rebuilt.gql(t, `query($keys: [ID!]!) { nodes(keys: $keys) { key } }`, map[string]any{"keys": keys}, &got)
	if len(got.Nodes) != len(keys) {
		t.Fatalf("the rebuilt Neo4j has %d of %d runs", len(got.Nodes), len(keys))
	}
}

// sameGraph fails t unless the Neo4j on port holds the graph want.
func sameGraph(t *testing.T, when string, want storetest.StoreDump, port int) {
	t.Helper()
	s, err := neo4j.Open(t.Context(), neo4j.Config{URI: fmt.Sprintf("bolt://127.0.0.1:%d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if diff := cmp.Diff(want, storetest.Dump(t, s)); diff != "" {
		t.Fatalf("%s, Neo4j's graph differs from the log replayed into SQLite (-replayed +neo4j):\n%s", when, diff)
	}
}

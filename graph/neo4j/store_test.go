package neo4j_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/neo4j"
	"github.com/redthread/redthread/graph/storetest"
	"github.com/redthread/redthread/internal/neo4jtest"
	"go.uber.org/goleak"
)

// TestMain starts a Neo4j container when the environment asks for one
// (see internal/neo4jtest), and checks that a closed Store leaves no
// goroutine behind.
func TestMain(m *testing.M) {
	stop, err := neo4jtest.Setup(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	if code == 0 {
		// The Docker client testcontainers used may keep idle connections
		// a little after the container is gone; they are not the Store's.
		if err := goleak.Find(goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// The tests run against a real Neo4j named by these variables: `make test`
// starts one (deploy/local/neo4j) and sets the URI, or, where a Docker
// engine answers, TestMain starts a container and sets it.
const (
	envURI      = "REDTHREAD_NEO4J_URI"
	envUser     = "REDTHREAD_NEO4J_USER"
	envPassword = "REDTHREAD_NEO4J_PASSWORD"
	envDatabase = "REDTHREAD_NEO4J_DATABASE"
)

// serverConfig returns the Config of the test server. Without one it fails
// the test in CI, where a missing service is a broken build, and skips it
// elsewhere with the way to start one.
func serverConfig(t testing.TB) neo4j.Config {
	t.Helper()
	uri := os.Getenv(envURI)
	if uri == "" {
		msg := envURI + " is not set: run `make test`, which gets a Neo4j ready; or start one with " +
			"`deploy/local/neo4j/neo4j.sh start` and set " + envURI + "=$(deploy/local/neo4j/neo4j.sh uri); " +
			"or, with a Docker engine, set " + neo4jtest.EnvDocker + "=1 (see internal/neo4jtest)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return neo4j.Config{
		URI:      uri,
		Username: os.Getenv(envUser),
		Password: os.Getenv(envPassword),
		Database: os.Getenv(envDatabase),
	}
}

// emptyStore empties the test server's database and opens a Store on it,
// closed when t ends. Community edition has one user database, so every
// test wipes and reuses it: the tests of this package must not run in
// parallel with each other (they don't) or with another package using the
// same server (none does).
func emptyStore(t testing.TB) *neo4j.Store {
	t.Helper()
	cfg := serverConfig(t)
	ctx := context.Background()
	wipe(t, ctx, cfg)
	s, err := neo4j.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.URI, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// wipe deletes every node and relationship, in transactions of bounded
// size so that a benchmark's large graph is deleted within the heap.
func wipe(t testing.TB, ctx context.Context, cfg neo4j.Config) {
	t.Helper()
	token := neo4jdriver.NoAuth()
	if cfg.Username != "" {
		token = neo4jdriver.BasicAuth(cfg.Username, cfg.Password, "")
	}
	d, err := neo4jdriver.NewDriverWithContext(cfg.URI, token)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	db := cfg.Database
	if db == "" {
		db = neo4j.DefaultDatabase
	}
	sess := d.NewSession(ctx, neo4jdriver.SessionConfig{DatabaseName: db})
	defer sess.Close(ctx)
	// CALL … IN TRANSACTIONS needs an implicit (auto-commit) transaction.
	res, err := sess.Run(ctx, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		t.Fatalf("emptying the test database at %s: %v", cfg.URI, err)
	}
}

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) graph.Store { return emptyStore(t) })
}

func TestSkeletonLeavesContent(t *testing.T) {
	storetest.SkeletonLeavesContent(t, emptyStore(t))
}

// TestReopen checks that a second Open on a populated database finds the
// schema in place and the data and applied offset as they were.
func TestReopen(t *testing.T) {
	s := emptyStore(t)
	key := graph.DatasetKey("s3://lake", "orders")
	if err := s.Apply(t.Context(), graph.Batch{Offset: 42, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: key, Label: graph.LabelDataset, Props: graph.Props{"name": "orders"}}),
	}}); err != nil {
		t.Fatal(err)
	}
	again, err := neo4j.Open(t.Context(), serverConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if off, err := again.AppliedOffset(t.Context()); err != nil || off != 42 {
		t.Errorf("AppliedOffset after reopening = %d, %v; want 42", off, err)
	}
	if ns, err := again.Nodes(t.Context(), key); err != nil || len(ns) != 1 || ns[0].Props["name"] != "orders" {
		t.Errorf("Nodes after reopening = %v, %v", ns, err)
	}
}

// TestUnknownDatabase checks that a database the server does not have is
// EUNAVAILABLE (a configuration to fix, during which ingest keeps logging),
// not an internal error.
func TestUnknownDatabase(t *testing.T) {
	cfg := serverConfig(t)
	cfg.Database = "redthread-no-such-database"
	s, err := neo4j.Open(t.Context(), cfg)
	if err == nil {
		s.Close()
	}
	if graph.ErrorCode(err) != graph.EUNAVAILABLE || !strings.Contains(graph.ErrorMessage(err), "database") {
		t.Errorf("Open on a missing database = %v, want EUNAVAILABLE saying so", err)
	}
}

// TestOpenInvalid checks that a URI the driver cannot use is EINVALID.
func TestOpenInvalid(t *testing.T) {
	for _, uri := range []string{"", "127.0.0.1:7687", "http://127.0.0.1:7474", "bolt://"} {
		_, err := neo4j.Open(t.Context(), neo4j.Config{URI: uri})
		if graph.ErrorCode(err) != graph.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", uri, err)
		}
	}
}

// TestUnavailable checks, against a port where nothing listens, that a
// Neo4j that cannot be reached is EUNAVAILABLE, on Open and (with
// AllowUnavailable) on every call, so that the ingest pipeline keeps
// logging and replays later.
func TestUnavailable(t *testing.T) {
	cfg := neo4j.Config{
		URI:                     "bolt://127.0.0.1:1",
		SocketConnectTimeout:    time.Second,
		MaxTransactionRetryTime: 100 * time.Millisecond,
	}
	_, err := neo4j.Open(t.Context(), cfg)
	if graph.ErrorCode(err) != graph.EUNAVAILABLE {
		t.Fatalf("Open = %v, want EUNAVAILABLE", err)
	}
	cfg.AllowUnavailable = true
	s, err := neo4j.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open with AllowUnavailable = %v", err)
	}
	defer s.Close()
	key := graph.DatasetKey("s3://lake", "orders")
	calls := map[string]func() error{
		"Apply": func() error {
			return s.Apply(t.Context(), graph.Batch{Offset: 1, Mutations: []graph.Mutation{
				graph.NodeMutation(graph.Node{Key: key, Label: graph.LabelDataset}),
			}})
		},
		"AppliedOffset": func() error { _, err := s.AppliedOffset(t.Context()); return err },
		"Nodes":         func() error { _, err := s.Nodes(t.Context(), key); return err },
		"Traverse": func() error {
			_, err := s.Traverse(t.Context(), graph.Traversal{Start: []string{key}, Depth: 1})
			return err
		},
		"Search": func() error { _, err := s.Search(t.Context(), graph.SearchQuery{Text: "x"}); return err },
		"Counts": func() error { _, err := s.Counts(t.Context()); return err },
	}
	for name, call := range calls {
		if err := call(); graph.ErrorCode(err) != graph.EUNAVAILABLE {
			t.Errorf("%s = %v, want EUNAVAILABLE", name, err)
		}
	}
	// Input errors are still told apart from the outage: they are found
	// before Neo4j is asked.
	err = s.Apply(t.Context(), graph.Batch{Offset: 1, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: key, Label: "Table"}),
	}})
	if graph.ErrorCode(err) != graph.EINVALID {
		t.Errorf("Apply of an unknown label while unavailable = %v, want EINVALID", err)
	}
}

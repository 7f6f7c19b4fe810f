package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/neo4j"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/ingest"
	"github.com/redthread/redthread/ingest/openlineage"
	"github.com/redthread/redthread/internal/gqlhandler"
	"github.com/redthread/redthread/internal/pubsub"
	"github.com/redthread/redthread/internal/server"
	"github.com/redthread/redthread/web"
)

// serveConfig is everything `redthread serve` can be told.
type serveConfig struct {
	Listen  string
	DataDir string
	graphFlags
	MaxBodyBytes    int64
	MaxBatch        int
	APIKeys         stringList
	Strict          bool
	SpecDir         string
	LogLevel        string
	LogFormat       string
	GraphQLDepth    int
	GraphQLCost     int
	AllowedOrigins  stringList
	ShutdownTimeout time.Duration
	PprofListen     string
	AwaitProjection bool
	ApplyMax        int
	ApplyBacklog    int
	GCPercent       int
	MLflow          mlflowFlags
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := newFlagSet("serve", "redthread serve [flags]", stderr)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:5050", "address to serve HTTP on (5050: 5000 is MLflow's and macOS AirPlay's)")
	fs.StringVar(&c.DataDir, "data-dir", "./redthread-data", "directory of the event log (events.db) and the embedded graph (graph.db)")
	c.graphFlags.register(fs)
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted, after gzip decompression")
	fs.IntVar(&c.MaxBatch, "max-batch", 10_000, "most events in one batch request")
	fs.Var(&c.APIKeys, "api-key", "bearer token required on ingest endpoints (repeatable or comma-separated; none: open)")
	fs.BoolVar(&c.Strict, "strict", false, "also validate events against the official OpenLineage JSON Schemas in -spec-dir")
	fs.StringVar(&c.SpecDir, "spec-dir", "", "directory holding OpenLineage.json and facets/*.json (for -strict)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.IntVar(&c.GraphQLDepth, "graphql-max-depth", 15, "deepest GraphQL selection accepted")
	fs.IntVar(&c.GraphQLCost, "graphql-max-complexity", 5000, "highest GraphQL query complexity accepted")
	fs.Var(&c.AllowedOrigins, "allowed-origin", "extra Origin allowed for GraphQL websockets (repeatable; same-origin and loopback always are)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to let in-flight requests finish on shutdown")
	fs.BoolVar(&c.AwaitProjection, "await-projection", false, "answer ingest only once events are applied to the graph too (slower); by default the answer comes once they are durable in the log, and queries wait for the graph to catch up")
	fs.IntVar(&c.ApplyMax, "apply-max-records", 8000, "most events projected onto the graph in one store transaction under load: larger ones merge more repeated nodes and edges (less CPU per event), at the cost of memory")
	fs.IntVar(&c.ApplyBacklog, "apply-backlog-records", 8000, "most events acknowledged but not yet taken for projection; beyond it acknowledgements slow to the projection's pace. Bounds memory and how long a query waits for its own writes under full load (at least -apply-max-records)")
	fs.IntVar(&c.GCPercent, "gc-percent", defaultGCPercent, "Go garbage collector target: heap growth, in percent, between collections (0: Go's default of 100); ignored when the GOGC environment variable is set")
	c.MLflow.register(fs)
	fs.StringVar(&c.PprofListen, "pprof-listen", "", "serve Go's net/http/pprof profiles on this separate address (e.g. 127.0.0.1:6060); empty: off")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve takes no arguments (got %q)\n", fs.Args())
		return errUsage
	}
	if c.ApplyMax < 1 || c.ApplyBacklog < 1 {
		return fmt.Errorf("-apply-max-records %d, -apply-backlog-records %d: want 1 or more", c.ApplyMax, c.ApplyBacklog)
	}
	logger, err := newLogger(c.LogLevel, c.LogFormat, stderr)
	if err != nil {
		return err
	}
	setGCPercent(c.GCPercent)
	return serve(ctx, c, logger, stdout)
}

// defaultGCPercent is serve's garbage-collector target. Sustained ingest
// allocates a decoded event per record and holds thousands of them for the
// applier; at Go's default of 100 collecting them took a tenth of the
// CPU. At 200 the batch benchmark used 10-15% less CPU per event for about
// 30% more resident memory (docs/performance.md).
const defaultGCPercent = 200

// setGCPercent applies the -gc-percent flag unless GOGC, the runtime's
// own setting, says otherwise.
func setGCPercent(percent int) {
	if os.Getenv("GOGC") != "" || percent <= 0 {
		return
	}
	debug.SetGCPercent(percent)
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// Files in the data dir.
const (
	eventLogFile = "events.db" // the append-only event log, the system of record
	graphFile    = "graph.db"  // the embedded graph store, a projection of the log
)

// graphFlags are the flags that choose and reach the graph store, shared
// by serve and reindex.
type graphFlags struct {
	Graph          string
	Neo4jUser      string
	Neo4jPassword  string
	Neo4jDatabase  string
	Neo4jCA        string
	Neo4jPoolSize  int
	Neo4jAcquire   time.Duration
	Neo4jConnect   time.Duration
	Neo4jLifetime  time.Duration
	Neo4jRetryTime time.Duration
}

func (g *graphFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.Graph, "graph", "sqlite", "graph store: sqlite (graph.db in the data dir), sqlite:PATH, or a Neo4j URI (bolt://, neo4j://, neo4j+s:// …)")
	fs.StringVar(&g.Neo4jUser, "neo4j-user", "", "Neo4j user (empty: no auth)")
	fs.StringVar(&g.Neo4jPassword, "neo4j-password", "", "Neo4j password (prefer REDTHREAD_NEO4J_PASSWORD)")
	fs.StringVar(&g.Neo4jDatabase, "neo4j-database", neo4j.DefaultDatabase, "Neo4j database")
	fs.StringVar(&g.Neo4jCA, "neo4j-ca", "", "PEM file of the certificate authorities to trust for bolt+s:// and neo4j+s:// (empty: the system's)")
	fs.IntVar(&g.Neo4jPoolSize, "neo4j-max-pool", 0, "most connections to Neo4j (0: the driver's default, 100)")
	fs.DurationVar(&g.Neo4jAcquire, "neo4j-acquire-timeout", 0, "how long a query waits for a pooled Neo4j connection (0: the driver's default, 1m)")
	fs.DurationVar(&g.Neo4jConnect, "neo4j-connect-timeout", 0, "how long opening a TCP connection to Neo4j may take (0: the driver's default, 5s)")
	fs.DurationVar(&g.Neo4jLifetime, "neo4j-max-conn-lifetime", 0, "close pooled Neo4j connections older than this (0: the driver's default, 1h)")
	fs.DurationVar(&g.Neo4jRetryTime, "neo4j-retry-time", 5*time.Second, "how long a write is retried on transient Neo4j errors before the events wait in the log for the next attempt")
}

// isNeo4j reports whether the -graph value names a Neo4j server.
func (g *graphFlags) isNeo4j() bool {
	for _, p := range []string{"bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://"} {
		if strings.HasPrefix(g.Graph, p) {
			return true
		}
	}
	return false
}

// Both stores plan an Apply apart from writing it, so the pipeline plans
// the next group while the previous one is written.
var (
	_ ingest.Preparer = (*sqlite.Store)(nil)
	_ ingest.Preparer = (*neo4j.Store)(nil)
)

// open opens the graph store. With allowUnavailable a Neo4j that does not
// answer yet is not an error: the server starts, logs events, and
// projects them once Neo4j answers.
func (g *graphFlags) open(ctx context.Context, dataDir string, logger *slog.Logger, allowUnavailable bool) (graph.Store, error) {
	switch {
	case g.Graph == "" || g.Graph == "sqlite":
		return sqlite.OpenStore(filepath.Join(dataDir, graphFile))
	case strings.HasPrefix(g.Graph, "sqlite:"):
		return sqlite.OpenStore(strings.TrimPrefix(g.Graph, "sqlite:"))
	case g.isNeo4j():
		cfg, err := g.neo4jConfig()
		if err != nil {
			return nil, err
		}
		cfg.Logger, cfg.AllowUnavailable = logger, allowUnavailable
		st, err := neo4j.Open(ctx, cfg)
		if graph.ErrorCode(err) == graph.EINVALID {
			return nil, fmt.Errorf("%w\n(the flags that reach Neo4j: -graph, -neo4j-user, -neo4j-password or REDTHREAD_NEO4J_PASSWORD, -neo4j-ca, -neo4j-database)", err)
		}
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("-graph %q: want sqlite, sqlite:PATH or a Neo4j URI such as bolt://127.0.0.1:7687", g.Graph)
}

// neo4jConfig is how the flags say to reach Neo4j.
func (g *graphFlags) neo4jConfig() (neo4j.Config, error) {
	tlsConfig, err := g.tlsConfig()
	if err != nil {
		return neo4j.Config{}, err
	}
	for name, d := range map[string]time.Duration{"neo4j-acquire-timeout": g.Neo4jAcquire,
		"neo4j-connect-timeout": g.Neo4jConnect, "neo4j-max-conn-lifetime": g.Neo4jLifetime, "neo4j-retry-time": g.Neo4jRetryTime} {
		if d < 0 {
			return neo4j.Config{}, fmt.Errorf("-%s %v: want a duration of 0 (the default) or more", name, d)
		}
	}
	if g.Neo4jPoolSize < 0 {
		return neo4j.Config{}, fmt.Errorf("-neo4j-max-pool %d: want 0 (the default) or more", g.Neo4jPoolSize)
	}
	return neo4j.Config{
		URI: g.Graph, Username: g.Neo4jUser, Password: g.Neo4jPassword, Database: g.Neo4jDatabase,
		MaxConnectionPoolSize: g.Neo4jPoolSize, ConnectionAcquisitionTimeout: g.Neo4jAcquire,
		SocketConnectTimeout: g.Neo4jConnect, MaxConnectionLifetime: g.Neo4jLifetime,
		MaxTransactionRetryTime: g.Neo4jRetryTime, TLSConfig: tlsConfig,
	}, nil
}

// tlsConfig is the TLS configuration for Neo4j: nil (the system's roots)
// unless --neo4j-ca names the authorities to trust, which only a URI
// that verifies certificates (bolt+s, neo4j+s) can use.
func (g *graphFlags) tlsConfig() (*tls.Config, error) {
	if g.Neo4jCA == "" {
		return nil, nil
	}
	if !strings.HasPrefix(g.Graph, "bolt+s://") && !strings.HasPrefix(g.Graph, "neo4j+s://") {
		return nil, fmt.Errorf("-neo4j-ca needs a bolt+s:// or neo4j+s:// -graph URI, which verifies the server's certificate; got %q", g.describe())
	}
	pem, err := os.ReadFile(g.Neo4jCA)
	if err != nil {
		return nil, fmt.Errorf("-neo4j-ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-neo4j-ca %s: no PEM certificate in the file", g.Neo4jCA)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// describe names the store for logs without its credentials.
func (g *graphFlags) describe() string {
	if u, err := url.Parse(g.Graph); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return g.Graph
}

// serve runs the service until ctx ends. Shutdown is ordered: stop taking
// HTTP requests (letting in-flight ones finish), then stop the committer,
// then close the store and the log.
func serve(ctx context.Context, c serveConfig, logger *slog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	// The log and the graph live in separate files so that appending to
	// the log (fsynced) and applying to the graph (a rebuildable projection)
	// never wait on each other for SQLite's single write lock.
	logPath := filepath.Join(c.DataDir, eventLogFile)
	log, err := sqlite.OpenLog(logPath)
	if err != nil {
		return fmt.Errorf("opening event log %s: %w", logPath, err)
	}
	defer log.Close()
	store, err := c.graphFlags.open(ctx, c.DataDir, logger, true)
	if err != nil {
		return fmt.Errorf("opening graph store: %w", err)
	}
	defer store.Close()

	var validator *openlineage.Validator
	if c.Strict {
		if c.SpecDir == "" {
			return errors.New("-strict needs -spec-dir (a directory with OpenLineage.json and facets/)")
		}
		if validator, err = openlineage.NewValidator(c.SpecDir); err != nil {
			return fmt.Errorf("loading OpenLineage schemas: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hub := pubsub.New()
	defer hub.Close()
	pipeline := ingest.New(log, store, hub, formats(validator),
		ingest.Options{Logger: logger, Registerer: reg, AwaitProjection: c.AwaitProjection, ApplyTimeout: 15 * time.Second,
			MaxApplyRecords: c.ApplyMax, MaxBacklogRecords: c.ApplyBacklog})
	ml, err := newMLflowParts(c.MLflow, pipeline, log, store, reg, logger)
	if err != nil {
		return err
	}

	gql := gqlhandler.New(gqlhandler.Options{
		Store: store, Hub: hub, Logger: logger,
		MaxDepth: c.GraphQLDepth, MaxComplexity: c.GraphQLCost, AllowedOrigins: c.AllowedOrigins,
	})
	handler := server.New(server.Options{
		Ingester: pipeline, GraphQL: gql, Playground: web.Handler(),
		Gatherer: reg, Registerer: reg, Logger: logger,
		MaxBodyBytes: c.MaxBodyBytes, MaxBatch: c.MaxBatch, APIKeys: c.APIKeys,
		MLflowObserver: ml.observer, MLflowWebhook: ml.webhook, MLflowStatus: ml.status(),
		StoreCheck: func(ctx context.Context) error {
			_, err := store.AppliedOffset(ctx)
			return err
		},
	})

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.Listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	if c.PprofListen != "" {
		pprofSrv, err := startPprof(c.PprofListen)
		if err != nil {
			return err
		}
		defer pprofSrv.Close()
		logger.Info("pprof serving", "url", "http://"+c.PprofListen+"/debug/pprof/")
	}

	pctx, stopPipeline := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipeline()
	pipelineDone := make(chan error, 1)
	go func() { pipelineDone <- pipeline.Run(pctx) }()
	// Take requests only once the pipeline knows the log's head: before
	// that, ingest would be refused and a query could not wait for the
	// events acknowledged before a restart.
	select {
	case <-pipeline.Started():
	case err := <-pipelineDone:
		return fmt.Errorf("ingest pipeline did not start: %v", err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	mctx, stopMLflow := context.WithCancel(pctx)
	defer stopMLflow()
	pollerDone := make(chan struct{})
	if ml.poller != nil {
		go func() {
			defer close(pollerDone)
			if err := ml.poller.Run(mctx); err != nil {
				logger.Error("mlflow poller stopped", "err", err)
			}
		}()
	} else {
		close(pollerDone)
	}

	url := "http://" + ln.Addr().String()
	logger.Info("redthread serving", "url", url, "data_dir", c.DataDir, "graph", c.describe(), "strict", c.Strict, "mlflow", c.MLflow.describe())
	fmt.Fprintf(stdout, "redthread %s listening on %s (playground %s/, GraphQL %s/graphql, OpenLineage %s/api/v1/lineage)\n",
		version, url, url, url, url)

	var runErr error
	pipelineStopped := false
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-pipelineDone:
		pipelineStopped = true
		runErr = fmt.Errorf("ingest pipeline stopped unexpectedly: %v", err)
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	hub.Close()
	stopMLflow() // the poller submits to the pipeline: stop it first
	<-pollerDone
	stopPipeline()
	if !pipelineStopped {
		if err := <-pipelineDone; err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

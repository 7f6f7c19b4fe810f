// Package neo4j is the graph.Store on Neo4j 5 (the production store), with
// github.com/neo4j/neo4j-go-driver/v5. It passes graph/storetest like the
// embedded SQLite store and keeps the same merge semantics.
//
// No user text is ever written into Cypher: keys, props and facets are
// parameters; labels, relationship types and depths, which Cypher cannot
// take as parameters, come from the closed sets graph.Labels and
// graph.EdgeTypes and from Go integers. Writes are batched with UNWIND,
// one transaction per Apply call, retried by the driver on transient
// errors. Traversals are breadth-first, one query per level.
//
// Errors: bad input is EINVALID, a missing start node ENOTFOUND, and
// anything that says Neo4j cannot be reached or used right now
// EUNAVAILABLE, so that the ingest pipeline keeps logging and replays
// later.
package neo4j

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/log"
	"github.com/redthread/redthread/graph"
)

// Config says how to reach Neo4j. Only URI is required.
type Config struct {
	// URI is the server: bolt://host:7687 (one server), neo4j://host:7687
	// (routing, for a cluster), or neo4j+s:// / bolt+s:// for TLS
	// (neo4j+ssc:// and bolt+ssc:// accept a self-signed certificate).
	URI string
	// Username and Password authenticate with basic auth; with an empty
	// Username no auth is sent (a server with auth disabled).
	Username string
	Password string
	// Database is the database every session uses; "" means "neo4j".
	Database string

	// MaxConnectionPoolSize caps the connections per server (driver
	// default 100).
	MaxConnectionPoolSize int
	// ConnectionAcquisitionTimeout is how long a query waits for a pooled
	// connection (driver default 1m).
	ConnectionAcquisitionTimeout time.Duration
	// MaxConnectionLifetime closes connections older than this (driver
	// default 1h).
	MaxConnectionLifetime time.Duration
	// SocketConnectTimeout bounds establishing a TCP connection (driver
	// default 5s).
	SocketConnectTimeout time.Duration
	// MaxTransactionRetryTime bounds how long a transaction is retried
	// on transient errors before the store reports EUNAVAILABLE (driver
	// default 30s).
	MaxTransactionRetryTime time.Duration
	// TLSConfig, when set, is used for the +s schemes (a private CA, a
	// client certificate).
	TLSConfig *tls.Config

	// Logger receives the driver's warnings and errors (debug and info
	// too, when its handler is enabled for them). Nil discards them.
	Logger *slog.Logger

	// AllowUnavailable makes Open return a Store even when Neo4j does not
	// answer yet: the schema is then set up by the first call that
	// reaches it, and calls until then fail with EUNAVAILABLE. A server
	// starts this way so that ingest keeps logging while Neo4j is down.
	AllowUnavailable bool
}

// DefaultDatabase is the database used when Config.Database is empty.
const DefaultDatabase = "neo4j"

// Store is the graph on Neo4j. It is safe for concurrent use.
type Store struct {
	driver   neo4j.DriverWithContext
	database string
	logger   *slog.Logger
	// bookmarks chain every session of the store causally: in a cluster,
	// a read routed to a follower waits until it has the writes this
	// store made before it, as a read after Apply must.
	bookmarks neo4j.BookmarkManager

	mu          sync.Mutex // guards schemaReady
	schemaReady bool
}

var _ graph.Store = (*Store)(nil)

// Open connects to Neo4j and makes sure the schema is in place: the
// uniqueness constraints on key (the generic Node label and each label of
// graph.Labels) and the node holding the applied offset. A URI it cannot
// use is EINVALID, and so is a server that answers but refuses the
// credentials or whose TLS certificate cannot be verified: waiting would
// not change either. A server that does not answer is EUNAVAILABLE
// (unless cfg.AllowUnavailable).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.URI)
	if err != nil {
		return nil, graph.FieldErrorf(graph.EINVALID, "uri", "want a URI such as bolt://127.0.0.1:7687")
	}
	if u.Host == "" {
		return nil, graph.FieldErrorf(graph.EINVALID, "uri", "want a URI such as bolt://127.0.0.1:7687, got %q", redactURI(u))
	}
	switch u.Scheme {
	case "bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc":
	default:
		return nil, graph.FieldErrorf(graph.EINVALID, "uri", "unsupported scheme %q (bolt, neo4j, with +s or +ssc for TLS)", u.Scheme)
	}
	token := neo4j.NoAuth()
	if cfg.Username != "" {
		token = neo4j.BasicAuth(cfg.Username, cfg.Password, "")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	driver, err := neo4j.NewDriverWithContext(cfg.URI, token, func(c *config.Config) {
		if cfg.MaxConnectionPoolSize > 0 {
			c.MaxConnectionPoolSize = cfg.MaxConnectionPoolSize
		}
		if cfg.ConnectionAcquisitionTimeout > 0 {
			c.ConnectionAcquisitionTimeout = cfg.ConnectionAcquisitionTimeout
		}
		if cfg.MaxConnectionLifetime > 0 {
			c.MaxConnectionLifetime = cfg.MaxConnectionLifetime
		}
		if cfg.SocketConnectTimeout > 0 {
			c.SocketConnectTimeout = cfg.SocketConnectTimeout
		}
		if cfg.MaxTransactionRetryTime > 0 {
			c.MaxTransactionRetryTime = cfg.MaxTransactionRetryTime
		}
		if cfg.TLSConfig != nil {
			c.TlsConfig = cfg.TLSConfig
		}
		c.Log = driverLogger{logger}
		c.UserAgent = "redthread"
		c.TelemetryDisabled = true
	})
	if err != nil {
		return nil, graph.FieldErrorf(graph.EINVALID, "uri", "%v", err)
	}
	s := &Store{driver: driver, database: cmp.Or(cfg.Database, DefaultDatabase), logger: logger,
		bookmarks: neo4j.NewBookmarkManager(neo4j.BookmarkManagerConfig{})}
	if err := s.ensureSchema(ctx); err != nil {
		if why := misconfigured(ctx, err, u, cfg); why != "" {
			driver.Close(context.WithoutCancel(ctx))
			cause := err
			var de *graph.Error
			if errors.As(err, &de) && de.Err != nil {
				cause = de.Err
			}
			return nil, &graph.Error{Code: graph.EINVALID, Message: "cannot use Neo4j at " + redactURI(u) + ": " + why, Err: cause}
		}
		if cfg.AllowUnavailable && graph.ErrorCode(err) == graph.EUNAVAILABLE {
			logger.Warn("neo4j not reachable yet; the graph schema will be set up when it answers", "uri", redactURI(u), "err", err)
			return s, nil
		}
		driver.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// redactURI is u without credentials, for logs and errors.
func redactURI(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// Close closes the driver and its connections.
func (s *Store) Close() error {
	if err := s.driver.Close(context.Background()); err != nil {
		return classify(context.Background(), "close", err)
	}
	return nil
}

// ensureSchema creates the missing constraints and the applied-offset
// node, once per Store (again after a failure).
func (s *Store) ensureSchema(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schemaReady {
		return nil
	}
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))

	res, err := sess.Run(ctx, "SHOW CONSTRAINTS YIELD name RETURN name", nil)
	if err != nil {
		return classify(ctx, "list constraints", err)
	}
	recs, err := res.Collect(ctx)
	if err != nil {
		return classify(ctx, "list constraints", err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		if name, ok := r.Values[0].(string); ok {
			have[name] = true
		}
	}
	created := false
	for name, stmt := range schemaStatements() {
		if have[name] {
			continue
		}
		if _, err := neo4j.ExecuteQuery(ctx, s.driver, stmt, nil, neo4j.EagerResultTransformer,
			neo4j.ExecuteQueryWithDatabase(s.database), neo4j.ExecuteQueryWithBookmarkManager(s.bookmarks)); err != nil {
			return classify(ctx, "create constraint "+name, err)
		}
		created = true
	}
	if created {
		if _, err := neo4j.ExecuteQuery(ctx, s.driver, "CALL db.awaitIndexes(300)", nil, neo4j.EagerResultTransformer,
			neo4j.ExecuteQueryWithDatabase(s.database), neo4j.ExecuteQueryWithBookmarkManager(s.bookmarks)); err != nil {
			return classify(ctx, "wait for indexes", err)
		}
	}
	if _, err := neo4j.ExecuteQuery(ctx, s.driver, initStateCypher, map[string]any{"id": stateID}, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(s.database), neo4j.ExecuteQueryWithBookmarkManager(s.bookmarks)); err != nil {
		return classify(ctx, "create the applied-offset node", err)
	}
	s.schemaReady = true
	return nil
}

// ready makes sure the schema is set up before a call uses the store.
func (s *Store) ready(ctx context.Context) error {
	s.mu.Lock()
	done := s.schemaReady
	s.mu.Unlock()
	if done {
		return nil
	}
	return s.ensureSchema(ctx)
}

// session opens a session on the configured database.
func (s *Store) session(ctx context.Context, mode neo4j.AccessMode) neo4j.SessionWithContext {
	return s.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: s.database, AccessMode: mode, BookmarkManager: s.bookmarks})
}

// read runs work in a read transaction, retried on transient errors.
func read[T any](ctx context.Context, s *Store, what string, work func(tx neo4j.ManagedTransaction) (T, error)) (T, error) {
	var zero T
	if err := s.ready(ctx); err != nil {
		return zero, err
	}
	sess := s.session(ctx, neo4j.AccessModeRead)
	defer sess.Close(context.WithoutCancel(ctx))
	out, err := sess.ExecuteRead(ctx, func(tx neo4j.ManagedTransaction) (any, error) { return work(tx) })
	if err != nil {
		return zero, classify(ctx, what, err)
	}
	return out.(T), nil
}

// run runs one query in tx and returns its records.
func run(ctx context.Context, tx neo4j.ManagedTransaction, query string, params map[string]any) ([]*neo4j.Record, error) {
	res, err := tx.Run(ctx, query, params)
	if err != nil {
		return nil, err
	}
	return res.Collect(ctx)
}

// classify turns an error from the driver into a domain error: domain
// errors pass through; anything saying Neo4j is down, unreachable,
// overloaded, refusing our credentials or too slow is EUNAVAILABLE (retry
// later); the rest, such as a Cypher error, is a bug: EINTERNAL.
func classify(ctx context.Context, what string, err error) error {
	var de *graph.Error
	if errors.As(err, &de) {
		return err
	}
	wrapped := fmt.Errorf("neo4j: %s: %w", what, err)
	if unavailable(ctx, err) {
		return &graph.Error{Code: graph.EUNAVAILABLE, Message: "the Neo4j graph store is unavailable: " + unavailableReason(err), Err: wrapped}
	}
	return graph.Internal(wrapped)
}

// unavailable reports whether err means Neo4j cannot serve us right now.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var (
		conn  *neo4j.ConnectivityError
		limit *neo4j.TransactionExecutionLimit
		ne    net.Error
		dbErr *neo4j.Neo4jError
		token *neo4j.TokenExpiredError
	)
	switch {
	case errors.As(err, &conn), errors.As(err, &limit), errors.As(err, &ne), errors.As(err, &token):
		return true
	case errors.As(err, &dbErr):
		return dbErr.IsRetriable() || dbErr.Classification() == "TransientError" ||
			dbErr.HasSecurityCode() || dbErr.Code == "Neo.ClientError.Database.DatabaseNotFound"
	}
	return neo4j.IsRetryable(err)
}

// misconfigured says why err, from the first contact with the server at
// u, will not go away by retrying: it refused the credentials, or its TLS
// certificate did not verify. It is "" for any other error.
func misconfigured(ctx context.Context, err error, u *url.URL, cfg Config) string {
	var (
		dbErr *neo4j.Neo4jError
		conn  *neo4j.ConnectivityError
	)
	switch {
	case errors.As(err, &dbErr) && dbErr.IsAuthenticationFailed() && cfg.Username == "":
		return "it requires authentication, and no user is configured"
	case errors.As(err, &dbErr) && dbErr.IsAuthenticationFailed():
		return fmt.Sprintf("it refused the password of user %q", cfg.Username)
	case errors.As(err, &dbErr) && dbErr.Code == "Neo.ClientError.Security.AuthenticationRateLimit":
		return fmt.Sprintf("it refused the credentials of user %q too often in a row, and locks them out for a while", cfg.Username)
	case errors.As(err, &conn) && (u.Scheme == "bolt+s" || u.Scheme == "neo4j+s"):
		// The driver keeps the handshake's error in an unexported type,
		// so a handshake of our own tells whether verification failed.
		if verr := verifyCertificate(ctx, u, cfg); verr != nil {
			return "its TLS certificate did not verify (" + verr.Err.Error() + "); trust the authority that signed it " +
				"(a CA file), or accept a self-signed certificate with bolt+ssc:// or neo4j+ssc://"
		}
	}
	return ""
}

// verifyCertificate does a TLS handshake with the server at u as the
// driver does, and returns the error if the certificate did not verify.
func verifyCertificate(ctx context.Context, u *url.URL, cfg Config) *tls.CertificateVerificationError {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	tc.ServerName = u.Hostname()
	tc.InsecureSkipVerify = false
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "7687")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: cmp.Or(cfg.SocketConnectTimeout, 5*time.Second)}, Config: tc}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
		return nil
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return verr
	}
	return nil
}

// unavailableReason says why, in words a caller may see.
func unavailableReason(err error) string {
	var (
		dbErr *neo4j.Neo4jError
		conn  *neo4j.ConnectivityError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the request was cancelled or timed out"
	case errors.As(err, &dbErr) && dbErr.HasSecurityCode():
		return "it refused the credentials"
	case errors.As(err, &dbErr) && dbErr.Code == "Neo.ClientError.Database.DatabaseNotFound":
		return "the configured database does not exist"
	case errors.As(err, &conn) && errors.Is(conn.Inner, io.EOF):
		return "it closed the connection before answering, as a server that requires TLS does to bolt:// and neo4j:// (then use bolt+s:// or neo4j+s://)"
	}
	return "it cannot be reached or is busy; retry later"
}

// driverLogger passes the driver's log lines to slog. The driver calls
// Error for failures it may well retry, so they are warnings here.
type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Error(name, id string, err error) {
	d.l.Warn("neo4j driver", "component", name, "id", id, "err", err)
}

func (d driverLogger) Warnf(name, id, msg string, args ...any) {
	d.logf(slog.LevelWarn, name, id, msg, args)
}

func (d driverLogger) Infof(name, id, msg string, args ...any) {
	d.logf(slog.LevelInfo, name, id, msg, args)
}

func (d driverLogger) Debugf(name, id, msg string, args ...any) {
	d.logf(slog.LevelDebug, name, id, msg, args)
}

func (d driverLogger) logf(level slog.Level, name, id, msg string, args []any) {
	ctx := context.Background()
	if !d.l.Enabled(ctx, level) {
		return
	}
	d.l.Log(ctx, level, "neo4j driver: "+strings.TrimSpace(fmt.Sprintf(msg, args...)), "component", name, "id", id)
}

var _ log.Logger = driverLogger{}

// Package sqlite is Redthread's embedded default backend: the graph.Store
// and the graph.EventLog on SQLite (modernc.org/sqlite, pure Go, WAL
// mode). The log and the store live in distinct tables and could share a
// file, but `redthread serve` keeps them in two (<datadir>/events.db and
// <datadir>/graph.db), so that neither waits for the other's write lock
// and each has the durability it needs.
//
// Each opened Log or Store holds one write connection (SQLite admits one
// writer at a time, so a pool of writers would only queue on the file lock)
// and a small pool of read connections, which WAL lets run alongside the
// writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/redthread/redthread/graph"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeoutMS is how long a connection waits for the file's write lock
// before failing with SQLITE_BUSY. The log and the store share one file and
// so one write lock; a group commit or an Apply of a few hundred batches
// holds it for milliseconds, so ten seconds only runs out when something is
// badly stuck.
const busyTimeoutMS = 10_000

// syncMode is SQLite's PRAGMA synchronous value for a write connection.
type syncMode string

const (
	// syncFull fsyncs the WAL at every commit: the log acknowledges inputs,
	// so a returned Append must survive a power cut.
	syncFull syncMode = "FULL"
	// syncNormal fsyncs only at checkpoints. WAL mode stays consistent after
	// a crash, at worst losing the last commits; the store is a projection
	// whose applied offset rolls back with its data, so replaying the log
	// restores it, and skipping the fsync per Apply doubles its throughput.
	syncNormal syncMode = "NORMAL"
	// syncOff never fsyncs. A crash of the process loses nothing (the data
	// is in the OS's cache); a power cut may lose recent commits or, rarely,
	// damage the file. Fit only for a projection rebuildable from elsewhere
	// (the graph store, from the fsynced event log).
	syncOff syncMode = "OFF"
)

// dsn builds the driver's data source name for path. The path travels as a
// SQLite URI ("file:…") so that a '?' or '#' in a directory name is not
// read as the start of the query; the query carries the pragmas each new
// connection runs.
func dsn(path string, pragmas ...string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString(escaped)
	b.WriteString("?_txlock=immediate")
	fmt.Fprintf(&b, "&_pragma=busy_timeout(%d)", busyTimeoutMS)
	for _, p := range pragmas {
		b.WriteString("&_pragma=")
		b.WriteString(p)
	}
	return b.String()
}

// checkPath rejects paths that would not give every connection the same
// database file.
func checkPath(path string) error {
	switch {
	case path == "":
		return graph.Errorf(graph.EINVALID, "sqlite: empty database path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return graph.Errorf(graph.EINVALID, "sqlite: %q is not a file path; the log and store need a file that every connection shares", path)
	}
	return nil
}

// pools is the pair of connection pools behind a Log or a Store.
type pools struct {
	w  *sql.DB   // exactly one connection: the writer
	wc *sql.Conn // that connection, held from open to close
	r  *sql.DB   // readers
}

// Writes run on the held writer connection, in transactions opened and
// closed by BEGIN IMMEDIATE and COMMIT statements rather than database/sql's
// Tx. A Tx starts a goroutine to watch its context, and each query run in
// it that returns rows one more for its rows: about one goroutine per
// event, each queued on the two cores with the goroutines that write. On a
// held connection, with a context that cannot end, neither database/sql
// nor the driver starts any. The caller runs one transaction at a time
// (the Log's and the Store's own mutexes), checks its context between
// statements, and rolls back on any error. A driver error that closes the
// held connection leaves the Log or Store failing every write until it is
// reopened.

// begin opens a write transaction on the held writer connection.
func (p *pools) begin() error {
	_, err := p.wc.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	return err
}

// commit commits the transaction begin opened.
func (p *pools) commit() error {
	_, err := p.wc.ExecContext(context.Background(), "COMMIT")
	return err
}

// rollback ends the transaction begin opened, if it is still open. SQLite
// rolls the transaction of some failed statements back itself; ROLLBACK
// then fails with "no transaction is active", which needs no action.
func (p *pools) rollback() {
	_, _ = p.wc.ExecContext(context.Background(), "ROLLBACK")
}

// A schema is the tables of one component (the log or the store) and the
// version of their layout. The version is recorded in the file, so that a
// build whose layout differs refuses the file with a clear error instead
// of misreading it.
type schema struct {
	component string
	version   int
	stmts     []string
	onChange  string // what the operator should do about a different version
	// upgrades[v] are the statements that take a file of layout version v
	// to v+1, run before stmts. A file older than the build is upgraded
	// when every step to the build's version is here, and refused with
	// onChange otherwise.
	upgrades map[int][]string
}

// openPools opens the writer (in WAL mode, with the given durability and
// then the extra pragmas) and the readers for path, creates the schema on
// the writer, and checks both work.
func openPools(ctx context.Context, path string, sync syncMode, sch schema, extra ...string) (*pools, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, append([]string{
		"journal_mode(WAL)",
		"synchronous(" + string(sync) + ")",
		"cache_size(-32000)", // KiB: 32 MB for the writer's upserts
		"temp_store(MEMORY)",
		"wal_autocheckpoint(8000)",
	}, extra...)...))
	if err != nil {
		return nil, graph.Internal(fmt.Errorf("sqlite: open %s: %w", path, err))
	}
	// One writer, never closed for idleness: the prepared statements live on
	// it, and SQLite allows one writer at a time anyway.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := createSchema(ctx, w, path, sch); err != nil {
		w.Close()
		return nil, err
	}
	wc, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		return nil, graph.Internal(fmt.Errorf("sqlite: open %s: %w", path, err))
	}

	r, err := sql.Open("sqlite", dsn(path,
		"query_only(1)",
		"cache_size(-16000)",
		"mmap_size(1073741824)",
		"temp_store(MEMORY)",
	))
	if err != nil {
		wc.Close()
		w.Close()
		return nil, graph.Internal(fmt.Errorf("sqlite: open %s for reading: %w", path, err))
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		wc.Close()
		w.Close()
		r.Close()
		return nil, graph.Internal(fmt.Errorf("sqlite: open %s for reading: %w", path, err))
	}
	return &pools{w: w, wc: wc, r: r}, nil
}

// createSchema creates sch's tables if they do not exist and checks the
// layout version recorded in the file, first upgrading an older file in
// place when sch.upgrades covers every step from its version.
func createSchema(ctx context.Context, w *sql.DB, path string, sch schema) error {
	// One transaction (BEGIN IMMEDIATE, from the DSN's _txlock), so that two
	// processes opening an old file do not both upgrade it, and a failed
	// upgrade leaves the file as it was.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return graph.Internal(fmt.Errorf("sqlite: create %s schema in %s: %w", sch.component, path, err))
	}
	defer tx.Rollback()
	exec := func(what, stmt string) error {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return graph.Internal(fmt.Errorf("sqlite: %s %s schema in %s: %w", what, sch.component, path, err))
		}
		return nil
	}
	if err := exec("create", `CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return err
	}
	version := sch.version // a new file
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = ?`, sch.component).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return graph.Internal(fmt.Errorf("sqlite: read %s schema version in %s: %w", sch.component, path, err))
	}
	for version < sch.version {
		steps, ok := sch.upgrades[version]
		if !ok {
			break
		}
		for _, stmt := range steps {
			if err := exec(fmt.Sprintf("upgrade from version %d the", version), stmt); err != nil {
				return err
			}
		}
		version++
	}
	if version != sch.version {
		return graph.Errorf(graph.ECONFLICT, "sqlite: %s holds a %s of layout version %d; this build reads version %d: %s",
			path, sch.component, version, sch.version, sch.onChange)
	}
	for _, stmt := range sch.stmts {
		if err := exec("create", stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_versions (component, version) VALUES (?, ?)
		ON CONFLICT (component) DO UPDATE SET version = excluded.version`, sch.component, version); err != nil {
		return graph.Internal(fmt.Errorf("sqlite: record %s schema version in %s: %w", sch.component, path, err))
	}
	if err := tx.Commit(); err != nil {
		return graph.Internal(fmt.Errorf("sqlite: create %s schema in %s: %w", sch.component, path, err))
	}
	return nil
}

// close closes both pools, reporting the first error.
func (p *pools) close() error {
	p.wc.Close()
	errW := p.w.Close()
	errR := p.r.Close()
	if errW != nil {
		return graph.Internal(errW)
	}
	if errR != nil {
		return graph.Internal(errR)
	}
	return nil
}

// internal wraps an unexpected driver error with what was being done. A
// cancelled or expired context is reported as such (still coded
// EINTERNAL by graph.ErrorCode, but errors.Is finds context.Canceled).
func internal(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return graph.Internal(fmt.Errorf("sqlite: %s: %w", what, ctxErr))
	}
	return graph.Internal(fmt.Errorf("sqlite: %s: %w", what, err))
}

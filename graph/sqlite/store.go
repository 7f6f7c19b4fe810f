package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/redthread/redthread/graph"
)

// storeSchema creates the graph's tables.
//
// Props and facets are JSON text merged in SQL by json_patch, so an upsert
// is one statement with no read-modify-write round trip through Go.
//
// Nodes are a rowid table, because their facets (a dataset's schema) can
// be kilobytes, which a clustered key index handles badly. Edges rarely
// carry more than a few props, so they are clustered on their identity
// (WITHOUT ROWID): one B-tree fewer to write per edge, and a downstream
// step reads the rows straight from the primary key.
//
// key_fold and name_fold are the key and the "name" property lower-cased
// in Go (see fold), for Search; key_fold is NULL when it would repeat the
// key, which keeps most rows shorter.
//
// node_counts and edge_counts are kept by triggers that fire on real inserts
// only (an upsert that updates fires UPDATE triggers instead), so Counts
// reads a few rows instead of scanning the graph.
var storeSchema = schema{
	component: "graph",
	version:   1,
	onChange:  "the graph is a projection of the event log; rebuild it from the log (redthread reindex)",
	stmts:     storeTables,
}

var storeTables = []string{
	`CREATE TABLE IF NOT EXISTS nodes (
		id           INTEGER PRIMARY KEY,
		key          TEXT NOT NULL UNIQUE,
		label        TEXT NOT NULL,
		props        TEXT NOT NULL,
		facets       TEXT NOT NULL,
		key_fold     TEXT, -- NULL when the key is its own folding, as most are
		name_fold    TEXT,
		first_seen   INTEGER,
		last_seen    INTEGER,
		first_offset INTEGER,
		last_offset  INTEGER
	)`,
	`CREATE INDEX IF NOT EXISTS nodes_label_key ON nodes (label, key)`,
	`CREATE TABLE IF NOT EXISTS edges (
		from_key     TEXT NOT NULL,
		type         TEXT NOT NULL,
		to_key       TEXT NOT NULL,
		props        TEXT NOT NULL,
		facets       TEXT NOT NULL,
		first_seen   INTEGER,
		last_seen    INTEGER,
		first_offset INTEGER,
		last_offset  INTEGER,
		PRIMARY KEY (from_key, type, to_key)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS edges_to_type ON edges (to_key, type, from_key)`,
	`CREATE TABLE IF NOT EXISTS node_counts (label TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS edge_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE TRIGGER IF NOT EXISTS nodes_count AFTER INSERT ON nodes BEGIN
		INSERT INTO node_counts (label, n) VALUES (NEW.label, 1)
			ON CONFLICT (label) DO UPDATE SET n = n + 1;
	END`,
	`CREATE TRIGGER IF NOT EXISTS edges_count AFTER INSERT ON edges BEGIN
		INSERT INTO edge_counts (type, n) VALUES (NEW.type, 1)
			ON CONFLICT (type) DO UPDATE SET n = n + 1;
	END`,
	`CREATE TABLE IF NOT EXISTS projection_state (
		id             INTEGER PRIMARY KEY CHECK (id = 1),
		applied_offset INTEGER NOT NULL
	)`,
	`INSERT OR IGNORE INTO projection_state (id, applied_offset) VALUES (1, 0)`,
}

// The merge rules of graph.Mutation, in SQL. Parameters are numbered
// because the raw props patch (?3 for nodes) is used twice: stripped of its
// nulls on insert, applied with them on update; excluded.props would have
// lost the nulls that mean "remove this key".
//
// first/last seen and offsets keep the min/max of the known values: NULL is
// "unknown", and coalesce makes min/max skip it.
const (
	upsertNodeSQL = `INSERT INTO nodes (key, label, props, facets, key_fold, name_fold,
			first_seen, last_seen, first_offset, last_offset)
		VALUES (?1, ?2, json_patch('{}', ?3), json_patch('{}', ?4), ?5, ?7, ?8, ?9, ?10, ?11)
		ON CONFLICT (key) DO UPDATE SET
			props = CASE WHEN ?3 = '{}' THEN props ELSE json_patch(props, ?3) END,
			facets = CASE WHEN ?4 = '{}' THEN facets ELSE json_patch(facets, ?4) END,
			name_fold = CASE WHEN ?6 THEN ?7 ELSE name_fold END,
			first_seen = min(coalesce(first_seen, ?8), coalesce(?8, first_seen)),
			last_seen = max(coalesce(last_seen, ?9), coalesce(?9, last_seen)),
			first_offset = min(coalesce(first_offset, ?10), coalesce(?10, first_offset)),
			last_offset = max(coalesce(last_offset, ?11), coalesce(?11, last_offset))`

	// The WHERE makes the insert conditional on both endpoints existing (in
	// the store, or inserted earlier in this transaction); zero rows
	// affected means one is missing. An existing edge has both endpoints
	// already, nodes are never deleted.
	upsertEdgeSQL = `INSERT INTO edges (from_key, type, to_key, props, facets,
			first_seen, last_seen, first_offset, last_offset)
		SELECT ?1, ?2, ?3, json_patch('{}', ?4), json_patch('{}', ?5), ?6, ?7, ?8, ?9
		WHERE EXISTS (SELECT 1 FROM nodes WHERE key = ?1) AND EXISTS (SELECT 1 FROM nodes WHERE key = ?3)
		ON CONFLICT (from_key, type, to_key) DO UPDATE SET
			props = CASE WHEN ?4 = '{}' THEN props ELSE json_patch(props, ?4) END,
			facets = CASE WHEN ?5 = '{}' THEN facets ELSE json_patch(facets, ?5) END,
			first_seen = min(coalesce(first_seen, ?6), coalesce(?6, first_seen)),
			last_seen = max(coalesce(last_seen, ?7), coalesce(?7, last_seen)),
			first_offset = min(coalesce(first_offset, ?8), coalesce(?8, first_offset)),
			last_offset = max(coalesce(last_offset, ?9), coalesce(?9, last_offset))`

	nodeExistsSQL = `SELECT EXISTS (SELECT 1 FROM nodes WHERE key = ?)`

	setAppliedSQL = `UPDATE projection_state SET applied_offset = max(applied_offset, ?) WHERE id = 1`
)

// Store is the graph on SQLite. It is safe for concurrent use: reads run
// on a pool of connections, each in a snapshot of its own, alongside Apply,
// which runs on the one writer connection.
type Store struct {
	db *pools

	upsertNode *sql.Stmt
	upsertEdge *sql.Stmt
	nodeExists *sql.Stmt
	setApplied *sql.Stmt
}

var _ graph.Store = (*Store)(nil)

// OpenStore opens (creating if needed) the graph in the SQLite file at
// path. Its commits are not fsynced one by one (see syncNormal): the event
// log is the system of record and the store replays it from AppliedOffset.
func OpenStore(path string) (*Store, error) {
	ctx := context.Background()
	p, err := openPools(ctx, path, syncNormal, storeSchema)
	if err != nil {
		return nil, err
	}
	s := &Store{db: p}
	prepare := func(dst **sql.Stmt, query string) {
		if err != nil {
			return
		}
		*dst, err = p.w.PrepareContext(ctx, query)
	}
	prepare(&s.upsertNode, upsertNodeSQL)
	prepare(&s.upsertEdge, upsertEdgeSQL)
	prepare(&s.nodeExists, nodeExistsSQL)
	prepare(&s.setApplied, setAppliedSQL)
	if err != nil {
		s.Close()
		return nil, graph.Internal(fmt.Errorf("sqlite: prepare store statements: %w", err))
	}
	return s, nil
}

// Close closes the store's statements and connections.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.upsertNode, s.upsertEdge, s.nodeExists, s.setApplied} {
		if st != nil {
			st.Close()
		}
	}
	return s.db.close()
}

// Apply applies the batches in order in one transaction, with the highest
// batch offset, so that either all of them and their offset are recorded
// or none. Every mutation is validated before the transaction starts; an
// edge whose endpoint is neither in the store nor upserted earlier is
// found inside it and rolls everything back. Either is an EINVALID error
// whose field locates the mutation ("batches[2].mutations[5].edge.to").
//
// A batch is applied whatever its offset: one older than AppliedOffset is
// not skipped, since skipping would silently drop data if batches ever
// arrived out of order. Merges are idempotent (applying the batch just
// applied again changes nothing); the pipeline applies in log order.
func (s *Store) Apply(ctx context.Context, batches ...graph.Batch) error {
	p, err := planApply(batches)
	if err != nil {
		return err
	}
	if len(p.ops) == 0 && p.maxOffset == 0 {
		return nil
	}

	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal(ctx, "begin apply", err)
	}
	defer tx.Rollback()
	upsertNode := tx.StmtContext(ctx, s.upsertNode)
	upsertEdge := tx.StmtContext(ctx, s.upsertEdge)

	for _, op := range p.ops {
		if n := op.node; n != nil {
			if _, err := upsertNode.ExecContext(ctx, n.key, string(n.label), n.props, n.facets, n.keyFold,
				n.nameSet, n.nameFold, n.firstSeen, n.lastSeen, n.firstOffset, n.lastOffset); err != nil {
				return internal(ctx, "upsert node "+n.key, err)
			}
			continue
		}
		e := op.edge
		res, err := upsertEdge.ExecContext(ctx, e.from, string(e.typ), e.to, e.props, e.facets,
			e.firstSeen, e.lastSeen, e.firstOffset, e.lastOffset)
		if err != nil {
			return internal(ctx, "upsert edge", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return internal(ctx, "upsert edge", err)
		} else if n == 0 {
			return s.missingEndpoint(ctx, tx, e)
		}
	}
	if p.maxOffset > 0 {
		if _, err := tx.StmtContext(ctx, s.setApplied).ExecContext(ctx, p.maxOffset); err != nil {
			return internal(ctx, "record applied offset", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return internal(ctx, "commit apply", err)
	}
	return nil
}

// missingEndpoint builds the error for an edge the store refused: it names
// the endpoint that does not exist and the mutation that asked for it.
func (s *Store) missingEndpoint(ctx context.Context, tx *sql.Tx, e *edgeOp) error {
	exists := tx.StmtContext(ctx, s.nodeExists)
	for _, end := range []struct{ field, key string }{{"from", e.from}, {"to", e.to}} {
		var ok bool
		if err := exists.QueryRowContext(ctx, end.key).Scan(&ok); err != nil {
			return internal(ctx, "check edge endpoint", err)
		}
		if !ok {
			return graph.FieldErrorf(graph.EINVALID, e.field+"."+end.field,
				"edge %s: node %q does not exist; upsert it first (in the store, or earlier in the batch)",
				graph.Edge{From: e.from, Type: e.typ, To: e.to}.ID(), end.key)
		}
	}
	// Unreachable while nodes are never deleted; say so rather than panic.
	return graph.Internal(fmt.Errorf("sqlite: edge %s was not written though both endpoints exist", e.from+" "+string(e.typ)+" "+e.to))
}

// AppliedOffset returns the highest log offset Apply has recorded.
func (s *Store) AppliedOffset(ctx context.Context) (int64, error) {
	var off int64
	if err := s.db.r.QueryRowContext(ctx, `SELECT applied_offset FROM projection_state WHERE id = 1`).Scan(&off); err != nil {
		return 0, internal(ctx, "read applied offset", err)
	}
	return off, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/redthread/redthread/graph"
)

// storeSchema creates the graph's tables.
//
// Nodes are a rowid table, because their facets (a dataset's schema) can
// be kilobytes, which a clustered key index handles badly. Their integer
// id is what edges refer to: keys are long strings (a dataset key holds a
// URI), and an edge identified by two of them made every edge B-tree wide
// and every traversal step a text join. Apply resolves keys to ids in Go,
// through a cache (nodeIDCache), so that checking an edge's endpoints is
// usually a map lookup, not a query.
//
// Edges rarely carry more than a few props, so they are clustered on their
// identity (WITHOUT ROWID): one B-tree fewer to write per edge, and a
// downstream step reads the rows straight from the primary key; edges_to
// serves the upstream step.
//
// Props and facets are JSON text; an update merges its patch in SQL with
// json_patch, so an upsert needs no read-modify-write round trip through
// Go. An insert stores the patch as Go encoded it.
//
// key_fold and name_fold are the key and the "name" property lower-cased
// in Go (see fold), for Search; key_fold is NULL when it would repeat the
// key, which keeps most rows shorter.
//
// node_counts and edge_counts are kept by Apply, which knows which of its
// statements inserted a row, so Counts reads a few rows instead of scanning
// the graph. (Version 1 kept them with triggers, which made every upsert a
// multi-table write that SQLite wraps in a statement journal.)
var storeSchema = schema{
	component: "graph",
	version:   2,
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
		from_id      INTEGER NOT NULL,
		type         TEXT NOT NULL,
		to_id        INTEGER NOT NULL,
		props        TEXT NOT NULL,
		facets       TEXT NOT NULL,
		first_seen   INTEGER,
		last_seen    INTEGER,
		first_offset INTEGER,
		last_offset  INTEGER,
		PRIMARY KEY (from_id, type, to_id)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS edges_to ON edges (to_id, type, from_id)`,
	`CREATE TABLE IF NOT EXISTS node_counts (label TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS edge_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS projection_state (
		id             INTEGER PRIMARY KEY CHECK (id = 1),
		applied_offset INTEGER NOT NULL
	)`,
	`INSERT OR IGNORE INTO projection_state (id, applied_offset) VALUES (1, 0)`,
}

// storePragmas are the writer's settings beyond openPools' own. The graph
// is a projection that Apply can replay from the event log, which is
// fsynced on its own file: losing the last commits to a power cut costs a
// replay, never data, so the store skips fsync altogether (WAL keeps the
// file consistent either way). A large autocheckpoint lets big Apply calls
// append to the WAL rather than stop to copy pages back.
var storePragmas = []string{
	"wal_autocheckpoint(20000)",
	"cache_size(-65536)", // KiB: 64 MB, the hot parts of three B-trees
}

// The merge rules of graph.Mutation, in SQL.
//
// An insert is tried first and does nothing when the row exists (zero rows
// affected): then the update runs. Neither statement touches another
// table, so SQLite needs no statement journal for them. The insert gets
// props without the nulls that mean "remove this key" (Go drops them), the
// update gets them all (json_patch applies them).
//
// first/last seen and offsets keep the min/max of the known values: NULL is
// "unknown", and coalesce makes min/max skip it. When a mutation brings no
// props and no facets, the cheaper "seen" update leaves them alone.
const (
	insertNodeSQL = `INSERT INTO nodes (key, label, props, facets, key_fold, name_fold,
			first_seen, last_seen, first_offset, last_offset)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`

	mergeNodeSet = `
			props = CASE WHEN ?1 = '{}' THEN props ELSE json_patch(props, ?1) END,
			facets = CASE WHEN ?2 = '{}' THEN facets ELSE json_patch(facets, ?2) END,
			name_fold = CASE WHEN ?3 THEN ?4 ELSE name_fold END,` + seenSet

	seenSet = `
			first_seen = min(coalesce(first_seen, ?5), coalesce(?5, first_seen)),
			last_seen = max(coalesce(last_seen, ?6), coalesce(?6, last_seen)),
			first_offset = min(coalesce(first_offset, ?7), coalesce(?7, first_offset)),
			last_offset = max(coalesce(last_offset, ?8), coalesce(?8, last_offset))`

	// The seen-only statements take the same numbered parameters, the unused
	// ones bound to NULL, so one argument list serves both.
	mergeNodeByIDSQL  = `UPDATE nodes SET` + mergeNodeSet + ` WHERE id = ?9`
	seenNodeByIDSQL   = `UPDATE nodes SET` + seenSet + ` WHERE id = ?9`
	mergeNodeByKeySQL = `UPDATE nodes SET` + mergeNodeSet + ` WHERE key = ?9 RETURNING id`

	nodeIDSQL = `SELECT id FROM nodes WHERE key = ?`

	insertEdgeSQL = `INSERT INTO edges (from_id, type, to_id, props, facets,
			first_seen, last_seen, first_offset, last_offset)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (from_id, type, to_id) DO NOTHING`

	mergeEdgeSQL = `UPDATE edges SET
			props = CASE WHEN ?1 = '{}' THEN props ELSE json_patch(props, ?1) END,
			facets = CASE WHEN ?2 = '{}' THEN facets ELSE json_patch(facets, ?2) END,` + seenSet + `
		WHERE from_id = ?9 AND type = ?10 AND to_id = ?11`
	seenEdgeSQL = `UPDATE edges SET` + seenSet + `
		WHERE from_id = ?9 AND type = ?10 AND to_id = ?11`

	countNodesSQL = `INSERT INTO node_counts (label, n) VALUES (?, ?) ON CONFLICT (label) DO UPDATE SET n = n + excluded.n`
	countEdgesSQL = `INSERT INTO edge_counts (type, n) VALUES (?, ?) ON CONFLICT (type) DO UPDATE SET n = n + excluded.n`

	setAppliedSQL = `UPDATE projection_state SET applied_offset = max(applied_offset, ?) WHERE id = 1`
)

// Store is the graph on SQLite. It is safe for concurrent use: reads run
// on a pool of connections, each in a snapshot of its own, alongside Apply,
// which runs on the one writer connection, one call at a time.
type Store struct {
	db     *pools
	unlock func() // releases the writer lock (see lockWriter)

	// applyMu serializes Apply calls, which share the one writer connection
	// anyway, so that ids and their cache move in step with commits.
	applyMu sync.Mutex
	ids     *nodeIDCache // key → id of committed nodes; guarded by applyMu
	edges   *edgeCache   // committed edges; guarded by applyMu

	stmts storeStmts
}

// storeStmts are the writer's prepared statements.
type storeStmts struct {
	insertNode, mergeNodeByID, seenNodeByID, mergeNodeByKey, nodeID *sql.Stmt
	insertEdge, mergeEdge, seenEdge                                 *sql.Stmt
	countNodes, countEdges, setApplied                              *sql.Stmt
}

func (st *storeStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&st.insertNode, &st.mergeNodeByID, &st.seenNodeByID, &st.mergeNodeByKey, &st.nodeID,
		&st.insertEdge, &st.mergeEdge, &st.seenEdge, &st.countNodes, &st.countEdges, &st.setApplied}
}

var _ graph.Store = (*Store)(nil)

// OpenStore opens (creating if needed) the graph in the SQLite file at
// path. Its commits are not fsynced (see storePragmas): the event log is
// the system of record and the store replays it from AppliedOffset.
//
// The store should have its file to itself: sharing it with the event log
// would make the two queue for SQLite's one write lock. And it must be the
// file's one writer, since it caches what it wrote: a second OpenStore of
// the same file, until this one is closed, fails with ECONFLICT.
func OpenStore(path string) (*Store, error) {
	ctx := context.Background()
	if err := checkPath(path); err != nil {
		return nil, err
	}
	unlock, err := lockWriter(path)
	if err != nil {
		return nil, err
	}
	p, err := openPools(ctx, path, syncOff, storeSchema, storePragmas...)
	if err != nil {
		unlock()
		return nil, err
	}
	s := &Store{db: p, unlock: unlock, ids: newNodeIDCache(nodeIDCacheSize), edges: newEdgeCache(edgeCacheSize)}
	queries := []string{insertNodeSQL, mergeNodeByIDSQL, seenNodeByIDSQL, mergeNodeByKeySQL, nodeIDSQL,
		insertEdgeSQL, mergeEdgeSQL, seenEdgeSQL, countNodesSQL, countEdgesSQL, setAppliedSQL}
	for i, dst := range s.stmts.all() {
		if *dst, err = p.wc.PrepareContext(ctx, queries[i]); err != nil {
			s.Close()
			return nil, graph.Internal(fmt.Errorf("sqlite: prepare store statements: %w", err))
		}
	}
	return s, nil
}

// Close closes the store's statements and connections, and releases its
// writer lock.
func (s *Store) Close() error {
	for _, st := range s.stmts.all() {
		if *st != nil {
			(*st).Close()
		}
	}
	err := s.db.close()
	s.unlock()
	return err
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
	write, err := s.PrepareApply(batches...)
	if err != nil {
		return err
	}
	return write(ctx)
}

// PrepareApply does the part of Apply that needs no database: it
// validates, coalesces and encodes the batches, and returns the write,
// which then behaves as Apply(ctx, batches...) would from there. The
// pipeline plans the next group while the previous one is written: the
// plan is a third of an Apply's work, and the writer connection otherwise
// waits for it. The batches must not change until the write has returned.
func (s *Store) PrepareApply(batches ...graph.Batch) (write func(context.Context) error, err error) {
	p, err := planApply(batches)
	if err != nil {
		return nil, err
	}
	if len(p.ops) == 0 && p.maxOffset == 0 {
		return func(context.Context) error { return nil }, nil
	}
	return func(ctx context.Context) error { return s.write(ctx, p) }, nil
}

// write runs a plan in one transaction.
func (s *Store) write(ctx context.Context, p *applyPlan) error {
	var err error
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if err := ctx.Err(); err != nil {
		return internal(ctx, "begin apply", err)
	}
	if err := s.db.begin(); err != nil {
		return internal(ctx, "begin apply", err)
	}
	committed := false
	defer func() {
		if !committed {
			s.db.rollback()
		}
	}()
	// The statements run without ctx's cancellation: for a context that can
	// end, the driver starts a watcher goroutine per statement, which costs
	// more than a small statement (see pools.begin). Apply checks ctx
	// between statements instead, and rolls back if it ends.
	a := applier{ctx: context.WithoutCancel(ctx), st: &s.stmts, ids: s.ids, edges: s.edges,
		added: make(map[string]cachedNode, p.nodes), nodeCounts: map[graph.Label]int64{}, edgeCounts: map[graph.EdgeType]int64{}}
	for _, op := range p.ops {
		if err := ctx.Err(); err != nil {
			return internal(ctx, "apply", err)
		}
		if op.node != nil {
			err = a.node(op.node)
		} else {
			err = a.edge(op.edge)
		}
		if err != nil {
			return err
		}
	}
	if err := a.counts(); err != nil {
		return err
	}
	if p.maxOffset > 0 {
		if _, err := s.stmts.setApplied.ExecContext(a.ctx, p.maxOffset); err != nil {
			return internal(ctx, "record applied offset", err)
		}
	}
	if err := s.db.commit(); err != nil {
		return internal(ctx, "commit apply", err)
	}
	committed = true
	// Only now are the new ids and edges real: a rolled-back Apply leaves
	// the caches as they were.
	for k, n := range a.added {
		s.ids.set(k, n)
	}
	for _, w := range a.written {
		if w.sum == (contentSum{}) {
			s.edges.put(w.row, w.sum)
		} else {
			s.edges.set(w.row, w.sum)
		}
	}
	return nil
}

// applier runs one Apply's statements in its transaction.
type applier struct {
	ctx context.Context
	st  *storeStmts
	ids *nodeIDCache
	// added is the nodes this transaction resolved or merged new content
	// into, cached on commit.
	added map[string]cachedNode

	edges   *edgeCache
	written []writtenEdge // edges upserted in this transaction, cached on commit

	nodeCounts map[graph.Label]int64
	edgeCounts map[graph.EdgeType]int64
}

// lookup returns the id of the node with key, or 0 if there is none (yet:
// at this point of the transaction).
func (a *applier) lookup(key string) (int64, error) {
	if n, ok := a.added[key]; ok {
		return n.id, nil
	}
	if n, ok := a.ids.get(key); ok {
		return n.id, nil
	}
	var id int64
	switch err := a.st.nodeID.QueryRowContext(a.ctx, key).Scan(&id); err {
	case nil:
		a.added[key] = cachedNode{id: id}
		return id, nil
	case sql.ErrNoRows:
		return 0, nil
	default:
		return 0, internal(a.ctx, "look up node "+key, err)
	}
}

// node upserts one node. A node known to exist whose row last merged the
// same content gets only its provenance written (see contentSum).
func (a *applier) node(n *nodeOp) error {
	known, ok := a.added[n.key]
	if !ok {
		known, ok = a.ids.get(n.key)
	}
	if ok { // known to exist: update it by id
		var err error
		if n.hasContent && n.sum != known.sum {
			_, err = a.st.mergeNodeByID.ExecContext(a.ctx, n.props, n.facets, n.nameSet, n.nameFold,
				n.firstSeen, n.lastSeen, n.firstOffset, n.lastOffset, known.id)
			a.added[n.key] = cachedNode{id: known.id, sum: n.sum}
		} else {
			_, err = a.st.seenNodeByID.ExecContext(a.ctx, nil, nil, nil, nil,
				n.firstSeen, n.lastSeen, n.firstOffset, n.lastOffset, known.id)
		}
		if err != nil {
			return internal(a.ctx, "update node "+n.key, err)
		}
		return nil
	}
	res, err := a.st.insertNode.ExecContext(a.ctx, n.key, string(n.label), n.insertProps, n.facets,
		n.keyFold, n.nameFold, n.firstSeen, n.lastSeen, n.firstOffset, n.lastOffset)
	if err != nil {
		return internal(a.ctx, "insert node "+n.key, err)
	}
	var id int64
	if inserted, err := res.RowsAffected(); err != nil {
		return internal(a.ctx, "insert node "+n.key, err)
	} else if inserted == 1 {
		if id, err = res.LastInsertId(); err != nil {
			return internal(a.ctx, "insert node "+n.key, err)
		}
		a.nodeCounts[n.label]++
	} else if err := a.st.mergeNodeByKey.QueryRowContext(a.ctx, n.props, n.facets, n.nameSet, n.nameFold,
		n.firstSeen, n.lastSeen, n.firstOffset, n.lastOffset, n.key).Scan(&id); err != nil {
		return internal(a.ctx, "update node "+n.key, err)
	}
	a.added[n.key] = cachedNode{id: id, sum: n.sum}
	return nil
}

// writtenEdge is an edge upserted in a transaction: with the sum of the
// content merged into it, or zero when none was.
type writtenEdge struct {
	row edgeRow
	sum contentSum
}

// edge upserts one edge, or reports the endpoint that does not exist.
func (a *applier) edge(e *edgeOp) error {
	var ids [2]int64
	for i, end := range [2]struct{ field, key string }{{"from", e.from}, {"to", e.to}} {
		id, err := a.lookup(end.key)
		if err != nil {
			return err
		}
		if id == 0 {
			return graph.FieldErrorf(graph.EINVALID, e.field("."+end.field),
				"edge %s: node %q does not exist; upsert it first (in the store, or earlier in the batch)",
				graph.Edge{From: e.from, Type: e.typ, To: e.to}.ID(), end.key)
		}
		ids[i] = id
	}
	row := edgeRow{from: ids[0], to: ids[1], typ: string(e.typ)}
	if sum, known := a.edges.get(row); known {
		// Known to exist: update it, unless (which nothing does today) it
		// was deleted since, and then insert it after all.
		if updated, err := a.updateEdge(e, row, sum); err != nil || updated {
			return err
		}
	}
	res, err := a.st.insertEdge.ExecContext(a.ctx, row.from, row.typ, row.to, e.insertProps, e.facets,
		e.firstSeen, e.lastSeen, e.firstOffset, e.lastOffset)
	if err != nil {
		return internal(a.ctx, "insert edge", err)
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return internal(a.ctx, "insert edge", err)
	}
	if inserted == 1 {
		a.edgeCounts[e.typ]++
		a.written = append(a.written, writtenEdge{row: row, sum: e.sum})
		return nil
	}
	_, err = a.updateEdge(e, row, contentSum{})
	return err
}

// updateEdge merges e into its row, whose last merged content sums to
// known (zero if not known), and reports whether the row was there.
func (a *applier) updateEdge(e *edgeOp, row edgeRow, known contentSum) (bool, error) {
	var res sql.Result
	var err error
	merge := e.hasContent && e.sum != known
	if merge {
		res, err = a.st.mergeEdge.ExecContext(a.ctx, e.props, e.facets, nil, nil,
			e.firstSeen, e.lastSeen, e.firstOffset, e.lastOffset, row.from, row.typ, row.to)
	} else {
		res, err = a.st.seenEdge.ExecContext(a.ctx, nil, nil, nil, nil,
			e.firstSeen, e.lastSeen, e.firstOffset, e.lastOffset, row.from, row.typ, row.to)
	}
	if err != nil {
		return false, internal(a.ctx, "update edge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, internal(a.ctx, "update edge", err)
	}
	if n == 1 {
		w := writtenEdge{row: row}
		if merge {
			w.sum = e.sum
		}
		a.written = append(a.written, w)
	}
	return n == 1, nil
}

// counts adds the rows this transaction inserted to the counts.
func (a *applier) counts() error {
	for l, n := range a.nodeCounts {
		if _, err := a.st.countNodes.ExecContext(a.ctx, string(l), n); err != nil {
			return internal(a.ctx, "count nodes", err)
		}
	}
	for t, n := range a.edgeCounts {
		if _, err := a.st.countEdges.ExecContext(a.ctx, string(t), n); err != nil {
			return internal(a.ctx, "count edges", err)
		}
	}
	return nil
}

// AppliedOffset returns the highest log offset Apply has recorded.
func (s *Store) AppliedOffset(ctx context.Context) (int64, error) {
	var off int64
	if err := s.db.r.QueryRowContext(ctx, `SELECT applied_offset FROM projection_state WHERE id = 1`).Scan(&off); err != nil {
		return 0, internal(ctx, "read applied offset", err)
	}
	return off, nil
}

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redthread/redthread/graph"
)

// queryer is what reads need from either a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// The columns a node is read from. Empty props and facets come back as
// NULL, which costs no string to scan (edges are read the same way).
const nodeColumns = `key, label, nullif(props, '{}'), nullif(facets, '{}'), first_seen, last_seen, first_offset, last_offset`

// skeletonNodeColumns are nodeColumns without props and facets, for a
// skeleton traversal (graph.Traversal.Skeleton): nothing to decode.
const skeletonNodeColumns = `key, label, NULL, NULL, first_seen, last_seen, first_offset, last_offset`

// asOfArg is the bound value of an as-of filter: nil (no filter) for the
// zero time. The SQL reads "first_seen IS NULL OR first_seen <= asOf": an
// unknown first-seen time is not known to be after anything.
func asOfArg(t time.Time) any { return timeToNanos(t) }

// scanNode reads one row of nodeColumns, preceded by the id column when
// id is not nil.
func scanNode(rows *sql.Rows, id *int64) (graph.Node, error) {
	var n graph.Node
	var label string
	var props, facets sql.NullString
	var fs, ls, fo, lo sql.NullInt64
	dest := []any{&n.Key, &label, &props, &facets, &fs, &ls, &fo, &lo}
	if id != nil {
		dest = append([]any{id}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return n, err
	}
	n.Label = graph.Label(label)
	var err error
	if n.Props, err = decodeProps(props.String); err != nil {
		return n, fmt.Errorf("node %q: %w", n.Key, err)
	}
	if n.Facets, err = decodeFacets(facets.String); err != nil {
		return n, fmt.Errorf("node %q: %w", n.Key, err)
	}
	n.Provenance = graph.Provenance{
		FirstSeen: nullNanosToTime(fs), LastSeen: nullNanosToTime(ls),
		FirstOffset: fo.Int64, LastOffset: lo.Int64,
	}
	return n, nil
}

// collectNodes runs a query returning nodeColumns.
func collectNodes(ctx context.Context, q queryer, query string, args ...any) ([]graph.Node, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []graph.Node
	for rows.Next() {
		n, err := scanNode(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// loadNodes returns the nodes among keys that exist (as of asOf), by key.
func loadNodes(ctx context.Context, q queryer, keys []string, asOf any) (map[string]graph.Node, error) {
	out := make(map[string]graph.Node, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	nodes, err := collectNodes(ctx, q, `SELECT `+nodeColumns+` FROM nodes
		WHERE key IN (SELECT value FROM json_each(?1))
		AND (?2 IS NULL OR first_seen IS NULL OR first_seen <= ?2)`, jsonList(keys), asOf)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		out[n.Key] = n
	}
	return out, nil
}

// Nodes returns the nodes with these keys in the order asked, skipping
// keys that do not exist (a key asked twice comes back twice).
func (s *Store) Nodes(ctx context.Context, keys ...string) ([]graph.Node, error) {
	found, err := loadNodes(ctx, s.db.r, uniqueSorted(keys), nil)
	if err != nil {
		return nil, internal(ctx, "read nodes", err)
	}
	out := make([]graph.Node, 0, len(found))
	for _, k := range keys {
		if n, ok := found[k]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// uniqueSorted returns the distinct keys, sorted.
func uniqueSorted(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}

// Traverse walks the graph breadth-first from t.Start, one query per level
// and direction, inside one read transaction so that every level sees the
// same snapshot while Apply goes on. The walk is on node ids: a level reads
// the edges of the frontier's ids from the edge indexes, then the new
// nodes by id; keys are only read with the nodes.
//
// When MaxNodes stops the search, the level being added is cut in key
// order (so the answer is deterministic), edges to the nodes left out are
// dropped, and Truncated is set.
func (s *Store) Traverse(ctx context.Context, t graph.Traversal) (graph.Subgraph, error) {
	dir := t.Direction
	if dir == "" {
		dir = graph.Downstream
	}
	if !dir.Valid() {
		return graph.Subgraph{}, graph.FieldErrorf(graph.EINVALID, "direction", "unknown direction %q", t.Direction)
	}
	if len(t.Start) == 0 {
		return graph.Subgraph{}, graph.FieldErrorf(graph.EINVALID, "start", "no start node")
	}
	var types any // nil: every type
	if len(t.EdgeTypes) > 0 {
		for _, et := range t.EdgeTypes {
			if !et.Valid() {
				return graph.Subgraph{}, graph.FieldErrorf(graph.EINVALID, "edgeTypes", "unknown edge type %q", et)
			}
		}
		types = jsonList(t.EdgeTypes)
	}
	depth := graph.ClampDepth(t.Depth)
	maxNodes := t.MaxNodes
	if maxNodes <= 0 {
		maxNodes = graph.DefaultMaxNodes
	}
	maxNodes = min(maxNodes, graph.MaxNodesLimit)
	asOf := asOfArg(t.AsOf)
	cols := nodeColumns
	if t.Skeleton {
		cols = skeletonNodeColumns
	}

	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return graph.Subgraph{}, internal(ctx, "begin traversal", err)
	}
	defer tx.Rollback()

	start := uniqueSorted(t.Start)
	startNodes, err := collectIDNodes(ctx, tx, `SELECT id, `+cols+` FROM nodes
		WHERE key IN (SELECT value FROM json_each(?1))
		AND (?2 IS NULL OR first_seen IS NULL OR first_seen <= ?2)`, jsonList(start), asOf)
	if err != nil {
		return graph.Subgraph{}, internal(ctx, "read start nodes", err)
	}
	visited := make(map[int64]graph.Node, len(startNodes))
	frontier := make([]int64, 0, len(startNodes))
	found := make(map[string]bool, len(startNodes))
	for _, n := range startNodes {
		visited[n.id] = n.Node
		frontier = append(frontier, n.id)
		found[n.Key] = true
	}
	for _, k := range start {
		if !found[k] {
			if t.AsOf.IsZero() {
				return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q does not exist", k)
			}
			return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q did not exist as of %s", k, t.AsOf.UTC().Format(time.RFC3339Nano))
		}
	}

	var (
		edges     []graph.Edge
		seen      = map[idEdge]bool{}
		truncated = len(visited) > maxNodes
		newIDs    []int64
	)
	for level := 0; level < depth && len(frontier) > 0 && !truncated; level++ {
		adjacent, err := adjacentEdges(ctx, tx, frontier, dir, types, asOf, t.Skeleton)
		if err != nil {
			return graph.Subgraph{}, internal(ctx, "read edges", err)
		}
		newIDs = newIDs[:0]
		for _, e := range adjacent {
			for _, id := range [2]int64{e.from, e.to} {
				if _, ok := visited[id]; !ok {
					newIDs = append(newIDs, id)
				}
			}
		}
		slices.Sort(newIDs)
		newIDs = slices.Compact(newIDs)
		var added []idNode
		if len(newIDs) > 0 {
			added, err = collectIDNodes(ctx, tx, `SELECT id, `+cols+` FROM nodes
				WHERE id IN (SELECT value FROM json_each(?1))
				AND (?2 IS NULL OR first_seen IS NULL OR first_seen <= ?2)`, jsonInts(newIDs), asOf)
			if err != nil {
				return graph.Subgraph{}, internal(ctx, "read nodes", err)
			}
		}
		// Nodes not visible as of t.AsOf are not among added. Sorted by
		// key, a cut keeps the smallest keys.
		slices.SortFunc(added, func(a, b idNode) int { return strings.Compare(a.Key, b.Key) })
		frontier = frontier[:0]
		for _, n := range added {
			if len(visited) >= maxNodes {
				truncated = true
				break
			}
			visited[n.id] = n.Node
			frontier = append(frontier, n.id)
		}
		for _, e := range adjacent {
			if seen[e.idEdge] {
				continue
			}
			from, okFrom := visited[e.from]
			to, okTo := visited[e.to]
			if !okFrom || !okTo {
				continue
			}
			seen[e.idEdge] = true
			ge, err := e.edge(from.Key, to.Key)
			if err != nil {
				return graph.Subgraph{}, internal(ctx, "read edges", err)
			}
			edges = append(edges, ge)
		}
	}

	sg := graph.Subgraph{Nodes: make([]graph.Node, 0, len(visited)), Edges: edges, Truncated: truncated}
	for _, n := range visited {
		sg.Nodes = append(sg.Nodes, n)
	}
	slices.SortFunc(sg.Nodes, func(a, b graph.Node) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(sg.Edges, compareEdges)
	if sg.Edges == nil {
		sg.Edges = []graph.Edge{}
	}
	return sg, nil
}

// compareEdges orders edges by (From, Type, To).
func compareEdges(a, b graph.Edge) int {
	return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(string(a.Type), string(b.Type)), strings.Compare(a.To, b.To))
}

// idNode is a node read with its id.
type idNode struct {
	id int64
	graph.Node
}

// collectIDNodes runs a query returning id and nodeColumns.
func collectIDNodes(ctx context.Context, q queryer, query string, args ...any) ([]idNode, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idNode
	for rows.Next() {
		var n idNode
		var err error
		if n.Node, err = scanNode(rows, &n.id); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// idEdge is an edge's identity by node ids.
type idEdge struct {
	from, to int64
	typ      string
}

// rawEdge is an edge row as a traversal reads it: its props and facets are
// decoded only if the edge is kept.
type rawEdge struct {
	idEdge
	props, facets sql.NullString
	prov          graph.Provenance
}

// edge returns the graph.Edge between the nodes with these keys.
func (e *rawEdge) edge(from, to string) (graph.Edge, error) {
	ge := graph.Edge{Type: graph.EdgeType(e.typ), From: from, To: to, Provenance: e.prov}
	var err error
	if ge.Props, err = decodeProps(e.props.String); err != nil {
		return ge, fmt.Errorf("edge %s: %w", ge.ID(), err)
	}
	if ge.Facets, err = decodeFacets(e.facets.String); err != nil {
		return ge, fmt.Errorf("edge %s: %w", ge.ID(), err)
	}
	return ge, nil
}

// adjacentEdges returns the edges (of types, visible as of asOf) leaving
// (Downstream), entering (Upstream) or touching (Both) the frontier. With
// Both an edge between two frontier nodes comes back twice; the caller
// keeps it once. A skeleton read leaves props and facets out.
func adjacentEdges(ctx context.Context, q queryer, frontier []int64, dir graph.Direction, types, asOf any, skeleton bool) ([]rawEdge, error) {
	ids := jsonInts(frontier)
	content := `nullif(props, '{}'), nullif(facets, '{}')`
	if skeleton {
		content = `NULL, NULL`
	}
	var out []rawEdge
	for _, col := range directionColumns(dir) {
		// col and content are constants, never input.
		rows, err := q.QueryContext(ctx, `SELECT from_id, type, to_id, `+content+`,
				first_seen, last_seen, first_offset, last_offset FROM edges
			WHERE `+col+` IN (SELECT value FROM json_each(?1))
			AND (?2 IS NULL OR type IN (SELECT value FROM json_each(?2)))
			AND (?3 IS NULL OR first_seen IS NULL OR first_seen <= ?3)`, ids, types, asOf)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var e rawEdge
			var fs, ls, fo, lo sql.NullInt64
			if err := rows.Scan(&e.from, &e.typ, &e.to, &e.props, &e.facets, &fs, &ls, &fo, &lo); err != nil {
				rows.Close()
				return nil, err
			}
			e.prov = graph.Provenance{
				FirstSeen: nullNanosToTime(fs), LastSeen: nullNanosToTime(ls),
				FirstOffset: fo.Int64, LastOffset: lo.Int64,
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// directionColumns names the edge column(s) that must be in the frontier.
func directionColumns(dir graph.Direction) []string {
	switch dir {
	case graph.Upstream:
		return []string{"to_id"}
	case graph.Both:
		return []string{"from_id", "to_id"}
	}
	return []string{"from_id"}
}

// Search returns nodes whose key or "name" property contains q.Text
// (folded to lower case on both sides), sorted by key. The text test scans
// the rows the other conditions leave; KeyPrefix and After narrow the scan
// through the key index.
func (s *Store) Search(ctx context.Context, q graph.SearchQuery) ([]graph.Node, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = graph.DefaultSearchLimit
	}
	limit = min(limit, graph.MaxSearchLimit)
	// The WHERE clause is assembled from constant fragments only, so the
	// planner sees each range on key that applies (a catch-all
	// "?x IS NULL OR key >= ?x" would hide it and scan the whole index).
	where := []string{"key > ?"}
	args := []any{q.After}
	if q.KeyPrefix != "" {
		where = append(where, "key >= ?")
		args = append(args, q.KeyPrefix)
		if upper, ok := prefixUpperBound(q.KeyPrefix); ok {
			where = append(where, "key < ?")
			args = append(args, upper)
		}
	}
	if len(q.Labels) > 0 {
		for _, l := range q.Labels {
			if !l.Valid() {
				return nil, graph.FieldErrorf(graph.EINVALID, "labels", "unknown label %q", l)
			}
		}
		if len(q.Labels) == 1 {
			// Equality lets the (label, key) index deliver rows in key
			// order, so a page of a big label stops after Limit rows
			// instead of sorting them all.
			where = append(where, "label = ?")
			args = append(args, string(q.Labels[0]))
		} else {
			where = append(where, "label IN (SELECT value FROM json_each(?))")
			args = append(args, jsonList(q.Labels))
		}
	}
	if q.Text != "" {
		text := fold(q.Text)
		where = append(where, "(instr(coalesce(key_fold, key), ?) > 0 OR instr(name_fold, ?) > 0)")
		args = append(args, text, text)
	}
	args = append(args, limit)
	nodes, err := collectNodes(ctx, s.db.r, `SELECT `+nodeColumns+` FROM nodes WHERE `+
		strings.Join(where, " AND ")+` ORDER BY key LIMIT ?`, args...)
	if err != nil {
		return nil, internal(ctx, "search", err)
	}
	if nodes == nil {
		nodes = []graph.Node{}
	}
	return nodes, nil
}

// prefixUpperBound returns the smallest string greater than every string
// with this prefix (byte order, as SQLite's BINARY collation and Go
// compare), or false when there is none (a prefix of only 0xFF bytes).
func prefixUpperBound(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// Counts returns node counts per label and edge counts per type, leaving
// out those with none.
func (s *Store) Counts(ctx context.Context) (graph.Counts, error) {
	c := graph.Counts{Nodes: map[graph.Label]int64{}, Edges: map[graph.EdgeType]int64{}}
	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return c, internal(ctx, "begin counts", err)
	}
	defer tx.Rollback()
	read := func(query string, put func(name string, n int64)) error {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return err
			}
			put(name, n)
		}
		return rows.Err()
	}
	if err := read(`SELECT label, n FROM node_counts WHERE n > 0`, func(l string, n int64) { c.Nodes[graph.Label(l)] = n }); err != nil {
		return graph.Counts{}, internal(ctx, "count nodes", err)
	}
	if err := read(`SELECT type, n FROM edge_counts WHERE n > 0`, func(t string, n int64) { c.Edges[graph.EdgeType(t)] = n }); err != nil {
		return graph.Counts{}, internal(ctx, "count edges", err)
	}
	return c, nil
}

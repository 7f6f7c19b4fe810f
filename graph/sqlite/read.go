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

// The columns a node or edge is read from. Empty props and facets come back
// as NULL, which costs no string to scan: most edges have neither.
const (
	nodeColumns = `key, label, nullif(props, '{}'), nullif(facets, '{}'), first_seen, last_seen, first_offset, last_offset`
	edgeColumns = `from_key, type, to_key, nullif(props, '{}'), nullif(facets, '{}'), first_seen, last_seen, first_offset, last_offset`
)

// asOfArg is the bound value of an as-of filter: nil (no filter) for the
// zero time. The SQL reads "first_seen IS NULL OR first_seen <= asOf": an
// unknown first-seen time is not known to be after anything.
func asOfArg(t time.Time) any { return timeToNanos(t) }

// scanNode reads one row of nodeColumns.
func scanNode(rows *sql.Rows) (graph.Node, error) {
	var n graph.Node
	var label string
	var props, facets sql.NullString
	var fs, ls, fo, lo sql.NullInt64
	if err := rows.Scan(&n.Key, &label, &props, &facets, &fs, &ls, &fo, &lo); err != nil {
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

// scanEdge reads one row of edgeColumns.
func scanEdge(rows *sql.Rows) (graph.Edge, error) {
	var e graph.Edge
	var typ string
	var props, facets sql.NullString
	var fs, ls, fo, lo sql.NullInt64
	if err := rows.Scan(&e.From, &typ, &e.To, &props, &facets, &fs, &ls, &fo, &lo); err != nil {
		return e, err
	}
	e.Type = graph.EdgeType(typ)
	var err error
	if e.Props, err = decodeProps(props.String); err != nil {
		return e, fmt.Errorf("edge %s: %w", e.ID(), err)
	}
	if e.Facets, err = decodeFacets(facets.String); err != nil {
		return e, fmt.Errorf("edge %s: %w", e.ID(), err)
	}
	e.Provenance = graph.Provenance{
		FirstSeen: nullNanosToTime(fs), LastSeen: nullNanosToTime(ls),
		FirstOffset: fo.Int64, LastOffset: lo.Int64,
	}
	return e, nil
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
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// collectEdges runs a query returning edgeColumns.
func collectEdges(ctx context.Context, q queryer, query string, args ...any) ([]graph.Edge, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []graph.Edge
	for rows.Next() {
		e, err := scanEdge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
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
// same snapshot while Apply goes on.
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

	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return graph.Subgraph{}, internal(ctx, "begin traversal", err)
	}
	defer tx.Rollback()

	start := uniqueSorted(t.Start)
	visited, err := loadNodes(ctx, tx, start, asOf)
	if err != nil {
		return graph.Subgraph{}, internal(ctx, "read start nodes", err)
	}
	for _, k := range start {
		if _, ok := visited[k]; !ok {
			if t.AsOf.IsZero() {
				return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q does not exist", k)
			}
			return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q did not exist as of %s", k, t.AsOf.UTC().Format(time.RFC3339Nano))
		}
	}

	var (
		edges     []graph.Edge
		seen      = map[edgeID]bool{}
		frontier  = start
		truncated = len(visited) > maxNodes
	)
	for level := 0; level < depth && len(frontier) > 0 && !truncated; level++ {
		adjacent, err := s.adjacentEdges(ctx, tx, frontier, dir, types, asOf)
		if err != nil {
			return graph.Subgraph{}, internal(ctx, "read edges", err)
		}
		var newKeys []string
		for _, e := range adjacent {
			for _, k := range [2]string{e.From, e.To} {
				if _, ok := visited[k]; !ok {
					newKeys = append(newKeys, k)
				}
			}
		}
		newKeys = uniqueSorted(newKeys)
		found, err := loadNodes(ctx, tx, newKeys, asOf)
		if err != nil {
			return graph.Subgraph{}, internal(ctx, "read nodes", err)
		}
		frontier = nil
		for _, k := range newKeys { // sorted: a cut keeps the smallest keys
			n, ok := found[k]
			if !ok {
				continue // not visible as of t.AsOf
			}
			if len(visited) >= maxNodes {
				truncated = true
				break
			}
			visited[k] = n
			frontier = append(frontier, k)
		}
		for _, e := range adjacent {
			id := edgeID{from: e.From, to: e.To, typ: e.Type}
			if seen[id] {
				continue
			}
			_, okFrom := visited[e.From]
			_, okTo := visited[e.To]
			if okFrom && okTo {
				seen[id] = true
				edges = append(edges, e)
			}
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

// adjacentEdges returns the edges (of types, visible as of asOf) leaving
// (Downstream), entering (Upstream) or touching (Both) the frontier. With
// Both an edge between two frontier nodes comes back twice; the caller
// keeps it once.
func (s *Store) adjacentEdges(ctx context.Context, q queryer, frontier []string, dir graph.Direction, types, asOf any) ([]graph.Edge, error) {
	keys := jsonList(frontier)
	var out []graph.Edge
	for _, col := range directionColumns(dir) {
		// col is one of two constants, never input.
		got, err := collectEdges(ctx, q, `SELECT `+edgeColumns+` FROM edges
			WHERE `+col+` IN (SELECT value FROM json_each(?1))
			AND (?2 IS NULL OR type IN (SELECT value FROM json_each(?2)))
			AND (?3 IS NULL OR first_seen IS NULL OR first_seen <= ?3)`, keys, types, asOf)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// directionColumns names the edge column(s) that must be in the frontier.
func directionColumns(dir graph.Direction) []string {
	switch dir {
	case graph.Upstream:
		return []string{"to_key"}
	case graph.Both:
		return []string{"from_key", "to_key"}
	}
	return []string{"from_key"}
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

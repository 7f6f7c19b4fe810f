package neo4j

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/redthread/redthread/graph"
)

// Nodes returns the nodes with these keys in the order asked, skipping
// keys that do not exist (a key asked twice comes back twice).
func (s *Store) Nodes(ctx context.Context, keys ...string) ([]graph.Node, error) {
	if len(keys) == 0 {
		return []graph.Node{}, nil
	}
	found, err := read(ctx, s, "read nodes", func(tx neo4j.ManagedTransaction) (map[string]graph.Node, error) {
		return loadNodes(ctx, tx, distinctSorted(keys))
	})
	if err != nil {
		return nil, err
	}
	out := make([]graph.Node, 0, len(found))
	for _, k := range keys {
		if n, ok := found[k]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// loadNodes reads the nodes with keys, by key.
func loadNodes(ctx context.Context, tx neo4j.ManagedTransaction, keys []string) (map[string]graph.Node, error) {
	out := make(map[string]graph.Node, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	recs, err := run(ctx, tx, nodesCypher, map[string]any{"keys": anyList(keys)})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		n, err := decodeNode(r.Values[0], r.Values[1])
		if err != nil {
			return nil, graph.Internal(fmt.Errorf("neo4j: %w", err))
		}
		out[n.Key] = n
	}
	return out, nil
}

// distinctSorted returns the distinct keys, sorted.
func distinctSorted(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}

// anyList is keys as a Cypher list parameter.
func anyList(keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

// visibleAsOf reports whether something first seen at first is visible as
// of asOf: always when asOf is zero (now) or first is unknown.
func visibleAsOf(first, asOf time.Time) bool {
	return asOf.IsZero() || first.IsZero() || !first.After(asOf)
}

// traversalParams are a Traversal validated and clamped.
type traversalParams struct {
	dir      graph.Direction
	start    []string
	types    []graph.EdgeType
	depth    int
	maxNodes int
	asOf     time.Time
}

// checkTraversal validates t and applies its defaults and limits, as the
// SQLite store does.
func checkTraversal(t graph.Traversal) (traversalParams, error) {
	p := traversalParams{dir: t.Direction, asOf: t.AsOf}
	if p.dir == "" {
		p.dir = graph.Downstream
	}
	if !p.dir.Valid() {
		return p, graph.FieldErrorf(graph.EINVALID, "direction", "unknown direction %q", t.Direction)
	}
	if len(t.Start) == 0 {
		return p, graph.FieldErrorf(graph.EINVALID, "start", "no start node")
	}
	for _, et := range t.EdgeTypes {
		if !et.Valid() {
			return p, graph.FieldErrorf(graph.EINVALID, "edgeTypes", "unknown edge type %q", et)
		}
	}
	// Sorted and distinct, so equal filters give the same query text and
	// Neo4j plans it once.
	p.types = slices.Compact(slices.Sorted(slices.Values(t.EdgeTypes)))
	p.start = distinctSorted(t.Start)
	p.depth = graph.ClampDepth(t.Depth)
	p.maxNodes = t.MaxNodes
	if p.maxNodes <= 0 {
		p.maxNodes = graph.DefaultMaxNodes
	}
	p.maxNodes = min(p.maxNodes, graph.MaxNodesLimit)
	return p, nil
}

// Traverse walks the graph breadth-first from t.Start, one query per
// level, which returns the relationships leaving (or entering) the
// frontier with the node at their far end, each far node once: the work
// grows with the nodes and relationships reached, never with the paths
// between them. All levels run in one read transaction.
//
// When MaxNodes stops the search, the level being added is cut in key
// order (so the answer is deterministic), relationships to the nodes left
// out are dropped, and Truncated is set.
func (s *Store) Traverse(ctx context.Context, t graph.Traversal) (graph.Subgraph, error) {
	p, err := checkTraversal(t)
	if err != nil {
		return graph.Subgraph{}, err
	}
	step := stepCypher(p.dir, p.types, t.Skeleton)
	asOf := nanos(p.asOf)
	return read(ctx, s, "traverse", func(tx neo4j.ManagedTransaction) (graph.Subgraph, error) {
		found, err := loadNodes(ctx, tx, p.start)
		if err != nil {
			return graph.Subgraph{}, err
		}
		visited := make(map[string]graph.Node, len(found))
		for _, k := range p.start {
			n, ok := found[k]
			if !ok || !visibleAsOf(n.FirstSeen, p.asOf) {
				if p.asOf.IsZero() {
					return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q does not exist", k)
				}
				return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "node %q did not exist as of %s", k, p.asOf.UTC().Format(time.RFC3339Nano))
			}
			visited[k] = n
		}

		var (
			edges     []graph.Edge
			seen      = map[edgeKey]bool{}
			frontier  = p.start
			truncated = len(visited) > p.maxNodes
		)
		for level := 0; level < p.depth && len(frontier) > 0 && !truncated; level++ {
			recs, err := run(ctx, tx, step, map[string]any{"keys": anyList(frontier), "asOf": asOf})
			if err != nil {
				return graph.Subgraph{}, err
			}
			// Far nodes not visited yet and visible as of asOf, and the
			// relationships of this step.
			fresh := map[string]graph.Node{}
			var adjacent []graph.Edge
			for _, r := range recs {
				far, err := decodeNode(r.Values[0], r.Values[1])
				if err != nil {
					return graph.Subgraph{}, graph.Internal(fmt.Errorf("neo4j: %w", err))
				}
				if !visibleAsOf(far.FirstSeen, p.asOf) {
					continue
				}
				if _, ok := visited[far.Key]; !ok {
					fresh[far.Key] = far
				}
				rels, _ := r.Values[2].([]any)
				for _, v := range rels {
					e, err := decodeRel(v)
					if err != nil {
						return graph.Subgraph{}, graph.Internal(fmt.Errorf("neo4j: %w", err))
					}
					adjacent = append(adjacent, e)
				}
			}
			newKeys := make([]string, 0, len(fresh))
			for k := range fresh {
				newKeys = append(newKeys, k)
			}
			slices.Sort(newKeys) // a cut keeps the smallest keys
			frontier = nil
			for _, k := range newKeys {
				if len(visited) >= p.maxNodes {
					truncated = true
					break
				}
				visited[k] = fresh[k]
				frontier = append(frontier, k)
			}
			for _, e := range adjacent {
				id := edgeKey{from: e.From, to: e.To, typ: e.Type}
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
	})
}

// compareEdges orders edges by (From, Type, To).
func compareEdges(a, b graph.Edge) int {
	return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(string(a.Type), string(b.Type)), strings.Compare(a.To, b.To))
}

// Search returns nodes whose key or "name" property contains q.Text
// (both folded to lower case), sorted by key.
func (s *Store) Search(ctx context.Context, q graph.SearchQuery) ([]graph.Node, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = graph.DefaultSearchLimit
	}
	limit = min(limit, graph.MaxSearchLimit)
	for _, l := range q.Labels {
		if !l.Valid() {
			return nil, graph.FieldErrorf(graph.EINVALID, "labels", "unknown label %q", l)
		}
	}
	labels := slices.Compact(slices.Sorted(slices.Values(q.Labels)))
	params := map[string]any{"after": q.After, "prefix": q.KeyPrefix, "upper": nil, "text": fold(q.Text), "limit": int64(limit)}
	prefix := noPrefix
	if q.KeyPrefix != "" {
		prefix = prefixStartsWith
		if upper, ok := prefixUpperBound(q.KeyPrefix); ok && utf8.ValidString(q.KeyPrefix) {
			prefix, params["upper"] = prefixRange, upper
		}
	}
	query := searchCypher(labels, prefix, q.Text != "")
	nodes, err := read(ctx, s, "search", func(tx neo4j.ManagedTransaction) ([]graph.Node, error) {
		recs, err := run(ctx, tx, query, params)
		if err != nil {
			return nil, err
		}
		out := make([]graph.Node, 0, len(recs))
		for _, r := range recs {
			n, err := decodeNode(r.Values[0], r.Values[1])
			if err != nil {
				return nil, graph.Internal(fmt.Errorf("neo4j: %w", err))
			}
			out = append(out, n)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

// Counts returns node counts per label and relationship counts per type,
// leaving out those with none. Neo4j keeps these counts itself, so this
// reads a few numbers rather than scanning the graph.
func (s *Store) Counts(ctx context.Context) (graph.Counts, error) {
	query := countsCypher()
	return read(ctx, s, "counts", func(tx neo4j.ManagedTransaction) (graph.Counts, error) {
		c := graph.Counts{Nodes: map[graph.Label]int64{}, Edges: map[graph.EdgeType]int64{}}
		recs, err := run(ctx, tx, query, nil)
		if err != nil {
			return c, err
		}
		for _, r := range recs {
			kind, _ := r.Values[0].(string)
			name, _ := r.Values[1].(string)
			n, _ := r.Values[2].(int64)
			if n == 0 {
				continue
			}
			if kind == "node" {
				c.Nodes[graph.Label(name)] = n
			} else {
				c.Edges[graph.EdgeType(name)] = n
			}
		}
		return c, nil
	})
}

package graph

import (
	"context"
	"time"
)

// Direction says which way a traversal follows edges. Lineage edges point
// downstream (cause → effect).
type Direction string

const (
	// Downstream follows outgoing edges: impact.
	Downstream Direction = "DOWNSTREAM"
	// Upstream follows incoming edges: provenance.
	Upstream Direction = "UPSTREAM"
	// Both follows edges either way.
	Both Direction = "BOTH"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Downstream || d == Upstream || d == Both }

// Traversal limits. Depth is always clamped in Go, never trusted from input.
const (
	MaxDepth        = 50
	DefaultMaxNodes = 50_000
	MaxNodesLimit   = 1_000_000
)

// ClampDepth returns d limited to [0, MaxDepth].
func ClampDepth(d int) int {
	if d < 0 {
		return 0
	}
	if d > MaxDepth {
		return MaxDepth
	}
	return d
}

// Traversal asks for the subgraph around one or more start nodes.
type Traversal struct {
	Start     []string   // keys of the start nodes; all must exist (as of AsOf)
	Direction Direction  // which way to follow edges; "" means Downstream
	Depth     int        // hops from the start; clamped to [0, MaxDepth]
	EdgeTypes []EdgeType // follow only these; empty means all
	AsOf      time.Time  // zero means now; otherwise ignore nodes and edges first seen after it (an edge is not followed to a node that did not exist yet)
	MaxNodes  int        // 0 means DefaultMaxNodes; clamped to MaxNodesLimit
	// Skeleton asks only for the shape of the subgraph: its nodes' keys
	// and labels, its edges' ends and types, and the provenance of both.
	// A store may then leave every Props and Facets nil, and skip reading
	// and decoding them; the nodes, edges and Truncated are the same as
	// without it. For callers that read nothing more, such as a GraphQL
	// query that selects nothing more.
	Skeleton bool
}

// Subgraph is the answer to a Traversal. Nodes are sorted by key and edges
// by (From, Type, To). Edges are every matching edge the breadth-first
// search followed, including edges back to already visited nodes (so cycles
// show). Truncated is set when MaxNodes stopped the search early.
type Subgraph struct {
	Nodes     []Node
	Edges     []Edge
	Truncated bool
}

// SearchQuery finds nodes by name or key.
type SearchQuery struct {
	Text      string  // case-insensitive substring of the key or the "name" property; empty matches all
	KeyPrefix string  // keys starting with this (exact, case-sensitive)
	Labels    []Label // restrict to these labels; empty means all
	After     string  // return keys strictly greater than this (paging cursor)
	Limit     int     // 0 means 50; clamped to 1000
}

// Search limits.
const (
	DefaultSearchLimit = 50
	MaxSearchLimit     = 1000
)

// Counts are the numbers of nodes per label and edges per type; labels and
// types with no entries may be absent.
type Counts struct {
	Nodes map[Label]int64
	Edges map[EdgeType]int64
}

// Store is a graph backend: the projection of the event log.
// Implementations: graph/sqlite (embedded default) and graph/neo4j. Every
// implementation passes graph/storetest.
type Store interface {
	// Apply applies the batches in order, atomically per call where the
	// backend allows, and records the highest batch Offset as applied.
	// Applying a batch again changes nothing.
	Apply(ctx context.Context, batches ...Batch) error
	// AppliedOffset returns the highest log offset applied (0 if none).
	AppliedOffset(ctx context.Context) (int64, error)
	// Nodes returns the nodes with these keys, in the order asked; keys that
	// do not exist are skipped.
	Nodes(ctx context.Context, keys ...string) ([]Node, error)
	// Traverse returns the subgraph around t.Start. A start key that does
	// not exist (as of t.AsOf) is an ENOTFOUND error.
	Traverse(ctx context.Context, t Traversal) (Subgraph, error)
	// Search returns nodes matching q, sorted by key.
	Search(ctx context.Context, q SearchQuery) ([]Node, error)
	// Counts returns node and edge counts.
	Counts(ctx context.Context) (Counts, error)
	// Close releases the backend.
	Close() error
}

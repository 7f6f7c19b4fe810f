package gqlmodel

import (
	"time"

	"github.com/redthread/redthread/graph"
)

// Node presents a graph.Node to the schema. Each GraphQL field is a method
// without a context, so gqlgen computes only the fields a query selects, in
// line, without a goroutine per field.
type Node struct{ n graph.Node }

// NewNode wraps n.
func NewNode(n graph.Node) Node { return Node{n: n} }

// NewNodes wraps each of ns.
func NewNodes(ns []graph.Node) []Node {
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = Node{n: n}
	}
	return out
}

// Domain returns the wrapped graph.Node.
func (n Node) Domain() graph.Node { return n.n }

// Key is the node's key.
func (n Node) Key() string { return n.n.Key }

// Label is the node's kind.
func (n Node) Label() graph.Label { return n.n.Label }

// Name is the "name" property when it is a string, or nil.
func (n Node) Name() *string {
	if s, ok := n.n.Props["name"].(string); ok {
		return &s
	}
	return nil
}

// Properties encodes the node's properties.
func (n Node) Properties() (JSON, error) { return PropsJSON(n.n.Props) }

// Facets encodes the node's facets.
func (n Node) Facets() (JSON, error) { return FacetsJSON(n.n.Facets) }

// FirstSeen is the earliest event time; zero shows as null.
func (n Node) FirstSeen() time.Time { return n.n.FirstSeen }

// LastSeen is the latest event time; zero shows as null.
func (n Node) LastSeen() time.Time { return n.n.LastSeen }

// FirstOffset is the first log offset, or nil when unknown (offsets start at 1).
func (n Node) FirstOffset() *int64 { return offset(n.n.FirstOffset) }

// LastOffset is the last log offset, or nil when unknown.
func (n Node) LastOffset() *int64 { return offset(n.n.LastOffset) }

func offset(o int64) *int64 {
	if o <= 0 {
		return nil
	}
	return &o
}

// Edge presents a graph.Edge to the schema, the same way as Node.
type Edge struct{ e graph.Edge }

// NewEdge wraps e.
func NewEdge(e graph.Edge) Edge { return Edge{e: e} }

// NewEdges wraps each of es.
func NewEdges(es []graph.Edge) []Edge {
	out := make([]Edge, len(es))
	for i, e := range es {
		out[i] = Edge{e: e}
	}
	return out
}

// Domain returns the wrapped graph.Edge.
func (e Edge) Domain() graph.Edge { return e.e }

// ID is the edge's identity, "<from> -<TYPE>-> <to>".
func (e Edge) ID() string { return e.e.ID() }

// Type is the edge's kind.
func (e Edge) Type() graph.EdgeType { return e.e.Type }

// From is the key of the source node.
func (e Edge) From() string { return e.e.From }

// To is the key of the target node.
func (e Edge) To() string { return e.e.To }

// Properties encodes the edge's properties.
func (e Edge) Properties() (JSON, error) { return PropsJSON(e.e.Props) }

// Facets encodes the edge's facets.
func (e Edge) Facets() (JSON, error) { return FacetsJSON(e.e.Facets) }

// FirstSeen is the earliest event time; zero shows as null.
func (e Edge) FirstSeen() time.Time { return e.e.FirstSeen }

// LastSeen is the latest event time; zero shows as null.
func (e Edge) LastSeen() time.Time { return e.e.LastSeen }

// FirstOffset is the first log offset, or nil when unknown.
func (e Edge) FirstOffset() *int64 { return offset(e.e.FirstOffset) }

// LastOffset is the last log offset, or nil when unknown.
func (e Edge) LastOffset() *int64 { return offset(e.e.LastOffset) }

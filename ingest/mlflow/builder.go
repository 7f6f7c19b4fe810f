package mlflow

import (
	"maps"

	"github.com/redthread/redthread/graph"
)

// builder collects the mutations of one record: each node and edge once,
// in first-use order, with later props and facets merged into earlier ones.
type builder struct {
	prov  graph.Provenance
	nodes map[string]*graph.Node
	edges map[string]*graph.Edge
	order []graph.Mutation // Node/Edge pointers resolved in mutations()
	nkeys []string
	ekeys []string
}

func newBuilder(prov graph.Provenance) *builder {
	return &builder{prov: prov, nodes: map[string]*graph.Node{}, edges: map[string]*graph.Edge{}}
}

// node upserts a node; props and facets given again are merged in.
func (b *builder) node(key string, label graph.Label, props graph.Props, facets graph.Facets) {
	n := b.nodes[key]
	if n == nil {
		n = &graph.Node{Key: key, Label: label, Provenance: b.prov}
		b.nodes[key] = n
		b.nkeys = append(b.nkeys, key)
	}
	if len(props) > 0 {
		if n.Props == nil {
			n.Props = graph.Props{}
		}
		maps.Copy(n.Props, props)
	}
	if len(facets) > 0 {
		if n.Facets == nil {
			n.Facets = graph.Facets{}
		}
		maps.Copy(n.Facets, facets)
	}
}

// edge upserts an edge between two nodes already given to node.
func (b *builder) edge(typ graph.EdgeType, from, to string, props graph.Props) {
	id := graph.Edge{Type: typ, From: from, To: to}.ID()
	e := b.edges[id]
	if e == nil {
		e = &graph.Edge{Type: typ, From: from, To: to, Provenance: b.prov}
		b.edges[id] = e
		b.ekeys = append(b.ekeys, id)
	}
	if len(props) > 0 {
		if e.Props == nil {
			e.Props = graph.Props{}
		}
		maps.Copy(e.Props, props)
	}
}

// mutations returns every node, then every edge, in first-use order.
func (b *builder) mutations() []graph.Mutation {
	out := make([]graph.Mutation, 0, len(b.nkeys)+len(b.ekeys))
	for _, k := range b.nkeys {
		out = append(out, graph.NodeMutation(*b.nodes[k]))
	}
	for _, k := range b.ekeys {
		out = append(out, graph.EdgeMutation(*b.edges[k]))
	}
	return out
}

// set stores v under k when v is not the zero string.
func set(p graph.Props, k, v string) {
	if v != "" {
		p[k] = v
	}
}

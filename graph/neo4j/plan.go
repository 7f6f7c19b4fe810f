package neo4j

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redthread/redthread/graph"
)

// A writePlan is what one Apply call writes, validated and worked out in Go
// before its transaction starts.
//
// The mutations of one node (or one relationship) within the call are
// merged into one upsert: props and facets overwrite key by key in log
// order and provenance keeps min and max, which compose, so one upsert of
// the merged patch leaves the graph as the sequence would. Then all nodes
// are written before all relationships, grouped by label (and type) since
// Cypher cannot take those as parameters, each group in key order so that
// concurrent writers take their locks in one order.
//
// Writing nodes first would let an edge find an endpoint that the call
// upserts only after it; the plan notices that instead (by the positions
// of first mutations) and has the endpoint checked against the store as
// it was before the call.
type writePlan struct {
	nodes     map[graph.Label][]*nodeUpsert
	edges     map[graph.EdgeType][]*edgeUpsert
	nodeByKey map[string]*nodeUpsert
	edgeOrder []*edgeUpsert   // every edge upsert, in the order of its first mutation
	maxOffset int64           // the highest batch offset
	count     int             // node and edge upserts
	mustExist map[string]bool // endpoints the call does not upsert in time
}

// change is what node and relationship upserts share.
type change struct {
	pos           int    // position of the first mutation in the call
	at            mutRef // where that mutation was, for errors
	kind          string // ".node" or ".edge"
	graph.Overlay        // the merged props patch, facets and provenance
}

// mutRef locates a mutation, or an upsert of a group, for errors.
type mutRef = graph.MutationRef

// nodeUpsert is the merged upsert of one node.
type nodeUpsert struct {
	key   string
	label graph.Label // the first mutation's: an existing node keeps its own
	change
}

// edgeUpsert is the merged upsert of one relationship.
type edgeUpsert struct {
	from, to string
	typ      graph.EdgeType
	change
}

type edgeKey struct {
	from, to string
	typ      graph.EdgeType
}

// provenance is graph.Provenance, whose Merge holds the merge rules.
type provenance = graph.Provenance

// provenanceOf is the provenance a mutation brings: its own, with offsets it
// leaves at zero taken from its batch, the record it came from.
func provenanceOf(p graph.Provenance, batchOffset int64) provenance {
	return p.WithBatchOffset(batchOffset)
}

// merge overlays a later mutation's props, facets and provenance (see
// graph.Overlay), naming the field of the first problem.
func (c *change) merge(props graph.Props, facets graph.Facets, prov provenance) error {
	if err := c.Add(props, facets, prov); err != nil {
		return graph.FieldErrorf(graph.EINVALID, c.at.Field(c.kind+"."+graph.ErrorField(err)), "%s", errorMessage(err))
	}
	return nil
}

// planWrite validates every mutation of batches and merges them. Invalid
// input is an EINVALID error whose field locates the mutation, as in
// "batches[2].mutations[5].edge.type".
func planWrite(batches []graph.Batch) (*writePlan, error) {
	p := &writePlan{
		nodes:     map[graph.Label][]*nodeUpsert{},
		edges:     map[graph.EdgeType][]*edgeUpsert{},
		mustExist: map[string]bool{},
		nodeByKey: map[string]*nodeUpsert{},
	}
	edges := map[edgeKey]*edgeUpsert{}
	pos := 0
	for bi, b := range batches {
		if b.Offset < 0 {
			return nil, graph.FieldErrorf(graph.EINVALID, fmt.Sprintf("batches[%d].offset", bi), "negative offset %d", b.Offset)
		}
		p.maxOffset = max(p.maxOffset, b.Offset)
		for mi, m := range b.Mutations {
			at := mutRef{Batch: bi, Mutation: mi}
			var err error
			switch m.Kind {
			case graph.UpsertNode:
				pos++
				err = p.node(at, pos, m.Node, provenanceOf(m.Node.Provenance, b.Offset))
			case graph.UpsertEdge:
				pos++
				err = p.edge(at, pos, edges, m.Edge, provenanceOf(m.Edge.Provenance, b.Offset))
			case graph.UpsertGroup:
				// A group is its nodes, then its edges, merged one by one:
				// Neo4j's own work per row dwarfs what merging costs here.
				if m.Group == nil || m.Group.Group == nil {
					return nil, graph.FieldErrorf(graph.EINVALID, at.Field(".group"), "group upsert without a group")
				}
				g, prov := m.Group.Group, provenanceOf(m.Group.Provenance, b.Offset)
				for i := 0; err == nil && i < len(g.Nodes); i++ {
					pos++
					err = p.node(at.Entry(i), pos, g.Nodes[i], prov)
				}
				for i := 0; err == nil && i < len(g.Edges); i++ {
					pos++
					err = p.edge(at.Entry(i), pos, edges, g.Edges[i], prov)
				}
			default:
				err = graph.FieldErrorf(graph.EINVALID, at.Field(".kind"), "unknown mutation kind %d", m.Kind)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	// An endpoint counts as upserted only if its node came before the
	// edge's first mutation; otherwise it must already be in the store.
	for _, e := range p.edgeOrder {
		for _, k := range [2]string{e.from, e.to} {
			if n, ok := p.nodeByKey[k]; !ok || n.pos > e.pos {
				p.mustExist[k] = true
			}
		}
	}
	for _, us := range p.nodes {
		slices.SortFunc(us, func(a, b *nodeUpsert) int { return strings.Compare(a.key, b.key) })
	}
	for _, us := range p.edges {
		slices.SortFunc(us, func(a, b *edgeUpsert) int {
			return cmp.Or(strings.Compare(a.from, b.from), strings.Compare(a.to, b.to))
		})
	}
	return p, nil
}

// node merges a node upsert into the plan; pos is its place among the
// call's upserts.
func (p *writePlan) node(at mutRef, pos int, n graph.Node, prov provenance) error {
	if err := validKey(at, ".node.key", n.Key); err != nil {
		return err
	}
	if !n.Label.Valid() {
		return graph.FieldErrorf(graph.EINVALID, at.Field(".node.label"), "unknown label %q", n.Label)
	}
	u := p.nodeByKey[n.Key]
	if u == nil {
		u = &nodeUpsert{key: n.Key, label: n.Label, change: change{pos: pos, at: at, kind: ".node"}}
		p.nodeByKey[n.Key] = u
		p.nodes[n.Label] = append(p.nodes[n.Label], u)
		p.count++
	}
	return u.merge(n.Props, n.Facets, prov)
}

// edge merges an edge upsert into the plan; pos is its place among the
// call's upserts.
func (p *writePlan) edge(at mutRef, pos int, edges map[edgeKey]*edgeUpsert, e graph.Edge, prov provenance) error {
	if err := validKey(at, ".edge.from", e.From); err != nil {
		return err
	}
	if err := validKey(at, ".edge.to", e.To); err != nil {
		return err
	}
	if !e.Type.Valid() {
		return graph.FieldErrorf(graph.EINVALID, at.Field(".edge.type"), "unknown edge type %q", e.Type)
	}
	id := edgeKey{from: e.From, to: e.To, typ: e.Type}
	u := edges[id]
	if u == nil {
		u = &edgeUpsert{from: e.From, to: e.To, typ: e.Type, change: change{pos: pos, at: at, kind: ".edge"}}
		edges[id] = u
		p.edges[e.Type] = append(p.edges[e.Type], u)
		p.edgeOrder = append(p.edgeOrder, u)
		p.count++
	}
	return u.merge(e.Props, e.Facets, prov)
}

// missingEndpoint returns the EINVALID error for the first edge upsert (in
// mutation order) with an endpoint that is neither in exists nor upserted
// before it, or nil.
func (p *writePlan) missingEndpoint(exists map[string]bool) error {
	for _, e := range p.edgeOrder {
		for _, end := range []struct{ field, key string }{{"from", e.from}, {"to", e.to}} {
			if !p.mustExist[end.key] || exists[end.key] {
				continue
			}
			if n, ok := p.nodeByKey[end.key]; ok && n.pos < e.pos {
				continue
			}
			return graph.FieldErrorf(graph.EINVALID, e.at.Field(e.kind+"."+end.field),
				"edge %s: node %q does not exist; upsert it first (in the store, or earlier in the batch)",
				graph.Edge{From: e.from, Type: e.typ, To: e.to}.ID(), end.key)
		}
	}
	return nil
}

// validKey checks key (see graph.CheckStoreKey), formatting the mutation's
// field only when the key is refused.
func validKey(at mutRef, rest, key string) error {
	if key != "" && strings.IndexByte(key, 0) < 0 && utf8.ValidString(key) {
		return nil
	}
	return graph.CheckStoreKey(at.Field(rest), key)
}

// errorMessage is a domain error's message without its field.
func errorMessage(err error) string {
	if e, ok := err.(*graph.Error); ok {
		return e.Message
	}
	return err.Error()
}

// setMap is the map a row's "SET x += row.set" applies: props and facets
// under their stored names, with the nulls that remove props.
func (c *change) setMap() map[string]any {
	m := make(map[string]any, len(c.Patch)+len(c.Facets))
	for k, v := range c.Patch {
		m[propPrefix+k] = v
	}
	for k, v := range c.Facets {
		m[facetPrefix+k] = v
	}
	return m
}

// provenance is the provenance values provenanceSet reads, in the order
// of the fs, ls, fo and lo columns.
func (c *change) provenance() [4]any {
	return [4]any{nanos(c.Prov.FirstSeen), nanos(c.Prov.LastSeen), offsetParam(c.Prov.FirstOffset), offsetParam(c.Prov.LastOffset)}
}

// row is the parameter row upsertNodesCypher reads for u (nodeColumns).
func (u *nodeUpsert) row() []any {
	var keyFold, nameFold any
	nameSet := false
	if f := fold(u.key); f != u.key {
		keyFold = f
	}
	if v, ok := u.Patch["name"]; ok {
		nameSet = true
		if s, isString := v.(string); isString {
			nameFold = fold(s)
		}
	}
	p := u.provenance()
	return []any{u.key, u.setMap(), keyFold, nameSet, nameFold, p[0], p[1], p[2], p[3]}
}

// row is the parameter row upsertEdgesCypher reads for u (edgeColumns),
// its endpoints' ids still null: bindEndpoints sets them.
func (u *edgeUpsert) row() []any {
	p := u.provenance()
	return []any{nil, nil, u.setMap(), p[0], p[1], p[2], p[3]}
}

package openlineage

import (
	"encoding/binary"
	"maps"
	"slices"
	"strings"

	"github.com/redthread/redthread/graph"
)

// A dataset's schema maps to the same Field nodes and HAS_FIELD edges in
// every event that repeats it, and most events do: a producer sends a
// dataset's whole schema each time it names the dataset. The mapper builds
// those upserts once per dataset and schema text, as a graph.Group, and
// every later event upserts the same *graph.Group with its own provenance.
// A store merges a repeated group by its provenance alone, where mapping,
// validating and coalescing its fields one by one was, with column
// lineage, a quarter of batched ingest's CPU.
//
// The list of upserts a group stands for (graph.Expand) is exactly what
// schemaFields would have added, so the graph ends the same either way.

// maxGroupSchemaBytes is the largest schema facet text that gets a group.
// Larger schemas (thousands of fields) are rare and mapped field by field,
// so that one of them cannot fill the cache.
const maxGroupSchemaBytes = 64 << 10

// schemaGroupCacheBytes bounds the estimated size of one generation of
// each group cache (see textCache).
const schemaGroupCacheBytes = 16 << 20

// schemaGroup is a schema's group and the keys of its nodes, or a column
// lineage facet's group (its DERIVES edges) and its plan.
type schemaGroup struct {
	group   *graph.Group
	keys    map[string]struct{}
	lineage *lineagePlan // for a column lineage group
	size    int          // estimated bytes held, for the cache's bound
}

// schemaGroups and lineageGroups cache groups by dataset key and facet
// text.
var (
	schemaGroups  = newTextCache[*schemaGroup](schemaGroupCacheBytes)
	lineageGroups = newTextCache[*schemaGroup](schemaGroupCacheBytes)
)

// schema upserts the fields of dataset dk's schema (decoded fields, facet
// text raw): as the dataset's schema group when it can, field by field
// otherwise.
func (b *builder) schema(ns, name, dk string, fields []SchemaField, raw []byte) {
	if b.noGroups || len(raw) == 0 || len(raw) > maxGroupSchemaBytes {
		b.schemaFields(ns, name, dk, fields, "", 1)
		return
	}
	b.groupKey = append(append(binary.AppendUvarint(b.groupKey[:0], uint64(len(dk))), dk...), raw...)
	g, ok := schemaGroups.get(b.groupKey)
	if !ok {
		g = newSchemaGroup(ns, name, dk, fields)
		schemaGroups.put(b.groupKey, g, g.size)
	}
	if len(g.group.Nodes) == 0 || slices.Contains(b.groups, g) {
		return // no fields, or the same schema again: nothing to add
	}
	// A field this event upserts already (column lineage named it, or the
	// dataset came with another schema) must merge with the group's in
	// order: then the group's fields are mapped one by one, after any
	// group they overlap, which is spelled out first.
	clash := false
	for k := range g.keys {
		if other := b.groupOf(k); other != nil {
			b.spellOut(other)
		}
		if b.nodes[k] != nil {
			clash = true
		}
	}
	if clash {
		b.schemaFields(ns, name, dk, fields, "", 1)
		return
	}
	b.groups = append(b.groups, g)
}

// groupOf returns the group of this event that upserts node key, if any.
func (b *builder) groupOf(key string) *schemaGroup {
	for _, g := range b.groups {
		if _, ok := g.keys[key]; ok {
			return g
		}
	}
	return nil
}

// spellOut replaces group g by its nodes and edges, upserted one by one.
// Nothing else of the event upserted them since g was added (fieldStub
// and schema see to that), so this is where they would have been.
func (b *builder) spellOut(g *schemaGroup) {
	b.groups = slices.DeleteFunc(b.groups, func(x *schemaGroup) bool { return x == g })
	if g.lineage != nil {
		b.lineageDerives(g.lineage) // its fields were upserted when it was added
		return
	}
	for _, n := range g.group.Nodes {
		b.node(n.Key, n.Label, maps.Clone(n.Props), n.Facets)
	}
	for _, e := range g.group.Edges {
		b.edge(e.Type, e.From, e.To, maps.Clone(e.Props), e.Facets)
	}
}

// newSchemaGroup maps a schema's fields as schemaFields does, on a builder
// of its own, into a group: its nodes sorted by key, its edges by
// (From, Type, To), with no provenance.
func newSchemaGroup(ns, name, dk string, fields []SchemaField) *schemaGroup {
	sb := builders.Get().(*builder)
	defer sb.release()
	sb.schemaFields(ns, name, dk, fields, "", 1)
	g := &schemaGroup{group: &graph.Group{}, keys: make(map[string]struct{}, len(sb.nodes))}
	for k, n := range sb.nodes {
		g.group.Nodes = append(g.group.Nodes, *n)
		g.keys[k] = struct{}{}
		g.size += 2*len(k) + 200 + 64*len(n.Props)
	}
	for _, e := range sb.edges {
		g.group.Edges = append(g.group.Edges, *e)
		g.size += len(e.From) + len(e.To) + 150
	}
	slices.SortFunc(g.group.Nodes, func(x, y graph.Node) int { return strings.Compare(x.Key, y.Key) })
	slices.SortFunc(g.group.Edges, func(x, y graph.Edge) int {
		if c := strings.Compare(x.From, y.From); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.Type), string(y.Type)); c != 0 {
			return c
		}
		return strings.Compare(x.To, y.To)
	})
	return g
}

// lineage adds the DERIVES edges of dataset dk's column lineage facet
// (decoded c, text raw), as schema does its fields: the fields it names
// are upserted one by one when the event has not (mostly it has, through
// the datasets' schema groups), and its edges as the facet's group. The
// edges of two facets of one dataset in an event merge their
// transformations, so a second facet for dk spells the first out and is
// mapped edge by edge.
func (b *builder) lineage(ns, name, dk string, c *ColumnLineageDatasetFacet, raw []byte) {
	prev, again := b.lineageOf[dk]
	if b.lineageOf == nil {
		b.lineageOf = map[string]*schemaGroup{}
	}
	if b.noGroups || len(raw) == 0 || len(raw) > maxGroupSchemaBytes || (again && prev == nil) {
		b.columnLineage(ns, name, dk, c)
		b.lineageOf[dk] = nil
		return
	}
	b.groupKey = append(append(binary.AppendUvarint(b.groupKey[:0], uint64(len(dk))), dk...), raw...)
	g, ok := lineageGroups.get(b.groupKey)
	if !ok {
		g = newLineageGroup(planLineage(ns, name, dk, c))
		lineageGroups.put(b.groupKey, g, g.size)
	}
	switch {
	case again && prev == g:
		return // the same facet again: changes nothing
	case again:
		b.spellOut(prev)
		b.columnLineage(ns, name, dk, c)
		b.lineageOf[dk] = nil
		return
	}
	b.lineageStubs(g.lineage)
	if len(g.group.Edges) > 0 {
		b.groups = append(b.groups, g)
	}
	b.lineageOf[dk] = g
}

// newLineageGroup makes the group of plan p's DERIVES edges, as derive
// and mutations would make them: each edge once, with the transformations
// of all its calls.
func newLineageGroup(p *lineagePlan) *schemaGroup {
	type id struct{ from, to string }
	var order []id
	ts := map[id][]Transformation{}
	for _, d := range p.derives {
		k := id{d.from, d.to}
		cur, ok := ts[k]
		if !ok {
			order = append(order, k)
		}
		for _, t := range d.ts {
			if len(cur) < MaxTransformationsPerEdge && !slices.Contains(cur, t) {
				cur = append(cur, t)
			}
		}
		ts[k] = cur
	}
	g := &schemaGroup{group: &graph.Group{Edges: make([]graph.Edge, 0, len(order))}, lineage: p}
	for _, k := range order {
		g.group.Edges = append(g.group.Edges, graph.Edge{Type: graph.EdgeDerives, From: k.from, To: k.to, Props: transformationProps(ts[k])})
		g.size += len(k.from) + len(k.to) + 150 + 100*len(ts[k])
	}
	for _, s := range p.stubs {
		g.size += 2*len(s.key) + 100
	}
	slices.SortFunc(g.group.Edges, func(x, y graph.Edge) int {
		if c := strings.Compare(x.From, y.From); c != 0 {
			return c
		}
		return strings.Compare(x.To, y.To)
	})
	return g
}

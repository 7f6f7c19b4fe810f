package sqlite

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/redthread/redthread/graph"
)

// An applyPlan is the statements one Apply call runs, worked out and
// validated before its transaction starts so that the write lock, which
// the event log shares, is held only for the writes.
//
// Mutations of one node (or one edge) within the call are coalesced into
// one upsert at the position of the first: merging is sequential overwrite
// key by key and min/max, which compose, so the graph ends the same. An
// edge's endpoint exists at its first mutation exactly when it exists at
// the merged upsert's position, so the "upserted earlier" rule is kept too.
// The pipeline's batches repeat their Job, Dataset and Run nodes often, so
// this saves most of the writes of a busy group.
type applyPlan struct {
	ops       []applyOp
	nodes     int // how many of ops are node upserts
	maxOffset int64
}

// applyOp is one upsert: exactly one of node and edge is set.
type applyOp struct {
	node *nodeOp
	edge *edgeOp
}

// provenance is graph.Provenance, whose Merge holds the merge rules.
type provenance = graph.Provenance

// mutationProvenance is the provenance a mutation brings: its own, with offsets it
// leaves at zero taken from its batch, the record it came from.
func mutationProvenance(p graph.Provenance, batchOffset int64) provenance {
	return p.WithBatchOffset(batchOffset)
}

// content is what node and edge upserts share: the merged props patch,
// facets and provenance, and, after finish, their statement arguments.
type content struct {
	at   mutRef // where the first mutation was, for errors
	kind string // ".node" or ".edge"

	graph.Overlay // the merged props patch, facets and provenance

	props       string // the patch, with the nulls that remove keys
	insertProps string // the props of a new row: the patch without its nulls
	facets      string
	hasContent  bool // props or facets to merge, not only provenance

	firstSeen, lastSeen     any
	firstOffset, lastOffset any
}

// field names a field of the first mutation, as "batches[0].mutations[3].node.props".
func (c *content) field(rest string) string { return c.at.field(c.kind + rest) }

// merge overlays a later mutation's props, facets and provenance (see
// graph.Overlay), naming the field of the first problem (kind is ".node"
// or ".edge").
func (c *content) merge(at mutRef, kind string, props graph.Props, facets graph.Facets, prov provenance) error {
	if err := c.Add(props, facets, prov); err != nil {
		return graph.FieldErrorf(graph.EINVALID, at.field(kind+"."+graph.ErrorField(err)), "%s", messageOnly(err))
	}
	return nil
}

// finish encodes the merged content into statement arguments.
func (c *content) finish() error {
	var err error
	if c.props, c.insertProps, err = encodeProps(c.Patch); err != nil {
		return graph.FieldErrorf(graph.EINVALID, c.field(".props"), "%s", messageOnly(err))
	}
	c.hasContent = len(c.Patch) > 0 || len(c.Facets) > 0
	if c.facets, err = encodeFacets(c.Facets); err != nil {
		return graph.FieldErrorf(graph.EINVALID, c.field(".facets"), "%s", messageOnly(err))
	}
	c.firstSeen, c.lastSeen = timeToNanos(c.Prov.FirstSeen), timeToNanos(c.Prov.LastSeen)
	c.firstOffset, c.lastOffset = offsetArg(c.Prov.FirstOffset), offsetArg(c.Prov.LastOffset)
	return nil
}

// nodeOp is a coalesced node upsert.
type nodeOp struct {
	key   string
	label graph.Label
	content

	keyFold  any  // the folded key, or nil when it is the key itself
	nameSet  bool // the patch sets or removes "name"
	nameFold any  // the folded name, or nil to clear it
}

func (op *nodeOp) finish() error {
	if err := op.content.finish(); err != nil {
		return err
	}
	if f := fold(op.key); f != op.key {
		op.keyFold = f
	}
	if v, ok := op.Patch["name"]; ok {
		op.nameSet = true
		if s, isString := v.(string); isString {
			op.nameFold = fold(s)
		}
	}
	return nil
}

// edgeOp is a coalesced edge upsert.
type edgeOp struct {
	from, to string
	typ      graph.EdgeType
	content
}

type edgeID struct {
	from, to string
	typ      graph.EdgeType
}

// opChunk is how many upserts planApply allocates at a time: one
// allocation per chunk rather than per op. The plan keeps its chunks
// until it is dropped whole.
const opChunk = 128

// planApply validates every mutation of batches and coalesces them.
func planApply(batches []graph.Batch) (*applyPlan, error) {
	p := &applyPlan{}
	// The maps are sized for every mutation up front: a group under load
	// holds tens of thousands of distinct keys, and growing the maps from
	// empty rehashed them all on the way.
	var nodeMuts, edgeMuts int
	for _, b := range batches {
		for i := range b.Mutations {
			if b.Mutations[i].Kind == graph.UpsertEdge {
				edgeMuts++
			} else {
				nodeMuts++
			}
		}
	}
	nodes := make(map[string]*nodeOp, nodeMuts)
	edges := make(map[edgeID]*edgeOp, edgeMuts)
	var nodeChunk []nodeOp
	var edgeChunk []edgeOp
	for bi, b := range batches {
		if b.Offset < 0 {
			return nil, graph.FieldErrorf(graph.EINVALID, fmt.Sprintf("batches[%d].offset", bi), "negative offset %d", b.Offset)
		}
		p.maxOffset = max(p.maxOffset, b.Offset)
		for mi := range b.Mutations {
			m := &b.Mutations[mi]
			at := mutRef{bi, mi}
			switch m.Kind {
			case graph.UpsertNode:
				n := &m.Node
				op := nodes[n.Key]
				if op == nil { // a key already in the plan was checked there
					if err := checkKey(at, ".node.key", n.Key); err != nil {
						return nil, err
					}
				}
				if !n.Label.Valid() {
					return nil, graph.FieldErrorf(graph.EINVALID, at.field(".node.label"), "unknown label %q", n.Label)
				}
				if op == nil {
					if len(nodeChunk) == 0 {
						nodeChunk = make([]nodeOp, opChunk)
					}
					op, nodeChunk = &nodeChunk[0], nodeChunk[1:]
					*op = nodeOp{key: n.Key, label: n.Label, content: content{at: at, kind: ".node"}}
					nodes[n.Key] = op
					p.nodes++
					p.ops = append(p.ops, applyOp{node: op})
				}
				if err := op.merge(at, ".node", n.Props, n.Facets, mutationProvenance(n.Provenance, b.Offset)); err != nil {
					return nil, err
				}
			case graph.UpsertEdge:
				e := &m.Edge
				id := edgeID{from: e.From, to: e.To, typ: e.Type}
				op := edges[id]
				if op == nil { // an edge already in the plan was checked there
					if err := checkKey(at, ".edge.from", e.From); err != nil {
						return nil, err
					}
					if err := checkKey(at, ".edge.to", e.To); err != nil {
						return nil, err
					}
					if !e.Type.Valid() {
						return nil, graph.FieldErrorf(graph.EINVALID, at.field(".edge.type"), "unknown edge type %q", e.Type)
					}
					if len(edgeChunk) == 0 {
						edgeChunk = make([]edgeOp, opChunk)
					}
					op, edgeChunk = &edgeChunk[0], edgeChunk[1:]
					*op = edgeOp{from: e.From, to: e.To, typ: e.Type, content: content{at: at, kind: ".edge"}}
					edges[id] = op
					p.ops = append(p.ops, applyOp{edge: op})
				}
				if err := op.merge(at, ".edge", e.Props, e.Facets, mutationProvenance(e.Provenance, b.Offset)); err != nil {
					return nil, err
				}
			default:
				return nil, graph.FieldErrorf(graph.EINVALID, at.field(".kind"), "unknown mutation kind %d", m.Kind)
			}
		}
	}
	for _, op := range p.ops {
		var err error
		if op.node != nil {
			err = op.node.finish()
		} else {
			err = op.edge.content.finish()
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkKey checks key (see graph.CheckStoreKey), formatting the mutation's
// field only when the key is refused.
func checkKey(at mutRef, rest, key string) error {
	if key != "" && strings.IndexByte(key, 0) < 0 && utf8.ValidString(key) {
		return nil
	}
	return graph.CheckStoreKey(at.field(rest), key)
}

// mutRef locates a mutation in the arguments of Apply.
type mutRef struct{ batch, mutation int }

// field names a field of the mutation, formatted only when an error needs
// it.
func (r mutRef) field(rest string) string {
	return fmt.Sprintf("batches[%d].mutations[%d]%s", r.batch, r.mutation, rest)
}

// messageOnly is an *Error's message without its field, which the caller
// puts in a field of its own.
func messageOnly(err error) string {
	if e, ok := err.(*graph.Error); ok {
		return e.Message
	}
	return err.Error()
}

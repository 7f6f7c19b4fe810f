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

	// group is the group whose upsert merged into this one last, nil when
	// that was a single mutation. While it is, a repeat of the group can
	// only add provenance (see planner.group).
	group *graph.Group

	props       string // the patch, with the nulls that remove keys
	insertProps string // the props of a new row: the patch without its nulls
	facets      string
	hasContent  bool       // props or facets to merge, not only provenance
	sum         contentSum // of props and facets, when hasContent

	firstSeen, lastSeen     any
	firstOffset, lastOffset any
}

// field names a field of the first mutation, as "batches[0].mutations[3].node.props".
func (c *content) field(rest string) string { return c.at.Field(c.kind + rest) }

// merge overlays a later mutation's props, facets and provenance (see
// graph.Overlay), naming the field of the first problem (kind is ".node"
// or ".edge").
func (c *content) merge(at mutRef, kind string, props graph.Props, facets graph.Facets, prov provenance, group *graph.Group) error {
	if err := c.Add(props, facets, prov); err != nil {
		return graph.FieldErrorf(graph.EINVALID, at.Field(kind+"."+graph.ErrorField(err)), "%s", messageOnly(err))
	}
	c.group = group
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
	if c.hasContent {
		c.sum = sumContent(c.props, c.facets)
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
	pl := planner{p: &applyPlan{}}
	// The maps are sized for every mutation up front: a group under load
	// holds tens of thousands of distinct keys, and growing the maps from
	// empty rehashed them all on the way. A group's upserts count once.
	var nodeMuts, edgeMuts int
	seen := map[*graph.Group]bool{}
	for _, b := range batches {
		for i := range b.Mutations {
			switch m := &b.Mutations[i]; m.Kind {
			case graph.UpsertEdge:
				edgeMuts++
			case graph.UpsertGroup:
				if m.Group != nil && m.Group.Group != nil && !seen[m.Group.Group] {
					seen[m.Group.Group] = true
					nodeMuts += len(m.Group.Group.Nodes)
					edgeMuts += len(m.Group.Group.Edges)
				}
			default:
				nodeMuts++
			}
		}
	}
	pl.nodes = make(map[string]*nodeOp, nodeMuts)
	pl.edges = make(map[edgeID]*edgeOp, edgeMuts)
	pl.groups = make(map[*graph.Group]*groupOps, len(seen))
	for bi, b := range batches {
		if b.Offset < 0 {
			return nil, graph.FieldErrorf(graph.EINVALID, fmt.Sprintf("batches[%d].offset", bi), "negative offset %d", b.Offset)
		}
		pl.p.maxOffset = max(pl.p.maxOffset, b.Offset)
		for mi := range b.Mutations {
			m := &b.Mutations[mi]
			at := mutRef{Batch: bi, Mutation: mi}
			var err error
			switch m.Kind {
			case graph.UpsertNode:
				_, err = pl.node(at, &m.Node, mutationProvenance(m.Node.Provenance, b.Offset), nil)
			case graph.UpsertEdge:
				_, err = pl.edge(at, &m.Edge, mutationProvenance(m.Edge.Provenance, b.Offset), nil)
			case graph.UpsertGroup:
				err = pl.group(at, m.Group, b.Offset)
			default:
				err = graph.FieldErrorf(graph.EINVALID, at.Field(".kind"), "unknown mutation kind %d", m.Kind)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	for _, op := range pl.p.ops {
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
	return pl.p, nil
}

// planner is the state of one planApply: the plan so far and its upserts
// by key.
type planner struct {
	p         *applyPlan
	nodes     map[string]*nodeOp
	edges     map[edgeID]*edgeOp
	groups    map[*graph.Group]*groupOps
	nodeChunk []nodeOp
	edgeChunk []edgeOp
}

// groupOps are the upserts a group's nodes and edges merged into.
type groupOps struct {
	nodes []*nodeOp
	edges []*edgeOp
}

// node merges a node upsert into the plan, as part of group when that is
// not nil.
func (pl *planner) node(at mutRef, n *graph.Node, prov provenance, group *graph.Group) (*nodeOp, error) {
	op := pl.nodes[n.Key]
	if op == nil { // a key already in the plan was checked there
		if err := checkKey(at, ".node.key", n.Key); err != nil {
			return nil, err
		}
	}
	if !n.Label.Valid() {
		return nil, graph.FieldErrorf(graph.EINVALID, at.Field(".node.label"), "unknown label %q", n.Label)
	}
	if op == nil {
		if len(pl.nodeChunk) == 0 {
			pl.nodeChunk = make([]nodeOp, opChunk)
		}
		op, pl.nodeChunk = &pl.nodeChunk[0], pl.nodeChunk[1:]
		*op = nodeOp{key: n.Key, label: n.Label, content: content{at: at, kind: ".node"}}
		pl.nodes[n.Key] = op
		pl.p.nodes++
		pl.p.ops = append(pl.p.ops, applyOp{node: op})
	}
	if err := op.merge(at, ".node", n.Props, n.Facets, prov, group); err != nil {
		return nil, err
	}
	return op, nil
}

// edge merges an edge upsert into the plan, as part of group when that is
// not nil.
func (pl *planner) edge(at mutRef, e *graph.Edge, prov provenance, group *graph.Group) (*edgeOp, error) {
	id := edgeID{from: e.From, to: e.To, typ: e.Type}
	op := pl.edges[id]
	if op == nil { // an edge already in the plan was checked there
		if err := checkKey(at, ".edge.from", e.From); err != nil {
			return nil, err
		}
		if err := checkKey(at, ".edge.to", e.To); err != nil {
			return nil, err
		}
		if !e.Type.Valid() {
			return nil, graph.FieldErrorf(graph.EINVALID, at.Field(".edge.type"), "unknown edge type %q", e.Type)
		}
		if len(pl.edgeChunk) == 0 {
			pl.edgeChunk = make([]edgeOp, opChunk)
		}
		op, pl.edgeChunk = &pl.edgeChunk[0], pl.edgeChunk[1:]
		*op = edgeOp{from: e.From, to: e.To, typ: e.Type, content: content{at: at, kind: ".edge"}}
		pl.edges[id] = op
		pl.p.ops = append(pl.p.ops, applyOp{edge: op})
	}
	if err := op.merge(at, ".edge", e.Props, e.Facets, prov, group); err != nil {
		return nil, err
	}
	return op, nil
}

// group merges a group upsert: its nodes, then its edges, each as a
// single upsert would merge. A group that comes again, when nothing else
// has merged into its upserts since its last time, can only add its
// provenance: its props and facets are already there, validated. That is
// the common case (a dataset's schema, repeated by every event that names
// the dataset) and it costs a provenance merge per upsert instead of a
// lookup and a props comparison.
func (pl *planner) group(at mutRef, gu *graph.GroupUpsert, batchOffset int64) error {
	if gu == nil || gu.Group == nil {
		return graph.FieldErrorf(graph.EINVALID, at.Field(".group"), "group upsert without a group")
	}
	g := gu.Group
	prov := mutationProvenance(gu.Provenance, batchOffset)
	if ops := pl.groups[g]; ops != nil && ops.current(g) {
		for _, op := range ops.nodes {
			op.Prov.Merge(prov)
		}
		for _, op := range ops.edges {
			op.Prov.Merge(prov)
		}
		return nil
	}
	ops := &groupOps{nodes: make([]*nodeOp, len(g.Nodes)), edges: make([]*edgeOp, len(g.Edges))}
	for i := range g.Nodes {
		op, err := pl.node(at.Entry(i), &g.Nodes[i], prov, g)
		if err != nil {
			return err
		}
		ops.nodes[i] = op
	}
	for i := range g.Edges {
		op, err := pl.edge(at.Entry(i), &g.Edges[i], prov, g)
		if err != nil {
			return err
		}
		ops.edges[i] = op
	}
	pl.groups[g] = ops
	return nil
}

// current reports whether g was the last to merge into each of its
// upserts.
func (ops *groupOps) current(g *graph.Group) bool {
	for _, op := range ops.nodes {
		if op.group != g {
			return false
		}
	}
	for _, op := range ops.edges {
		if op.group != g {
			return false
		}
	}
	return true
}

// checkKey checks key (see graph.CheckStoreKey), formatting the mutation's
// field only when the key is refused.
func checkKey(at mutRef, rest, key string) error {
	if key != "" && strings.IndexByte(key, 0) < 0 && utf8.ValidString(key) {
		return nil
	}
	return graph.CheckStoreKey(at.Field(rest), key)
}

// mutRef locates a mutation, or an upsert of a group, for errors.
type mutRef = graph.MutationRef

// messageOnly is an *Error's message without its field, which the caller
// puts in a field of its own.
func messageOnly(err error) string {
	if e, ok := err.(*graph.Error); ok {
		return e.Message
	}
	return err.Error()
}

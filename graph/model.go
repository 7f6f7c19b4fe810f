package graph

import (
	"encoding/json"
	"math"
	"time"
)

// Label is the kind of a node in the provenance graph.
type Label string

// The node labels of the graph model (DESIGN.md, "Graph model").
const (
	LabelCorrelation     Label = "Correlation"
	LabelDataset         Label = "Dataset"
	LabelDatasetVersion  Label = "DatasetVersion"
	LabelField           Label = "Field"
	LabelFeatureGroup    Label = "FeatureGroup"
	LabelJob             Label = "Job"
	LabelRun             Label = "Run"
	LabelModelVersion    Label = "ModelVersion"
	LabelRegisteredModel Label = "RegisteredModel"
	LabelDeployment      Label = "Deployment"
	LabelArtifact        Label = "Artifact"
	LabelImage           Label = "Image"
	LabelCommit          Label = "Commit"
	LabelIdentity        Label = "Identity"
)

// Labels lists every label, in a stable order.
var Labels = []Label{
	LabelCorrelation, LabelDataset, LabelDatasetVersion, LabelField, LabelFeatureGroup,
	LabelJob, LabelRun, LabelModelVersion, LabelRegisteredModel, LabelDeployment,
	LabelArtifact, LabelImage, LabelCommit, LabelIdentity,
}

// Valid reports whether l is one of the known labels.
func (l Label) Valid() bool {
	for _, k := range Labels {
		if k == l {
			return true
		}
	}
	return false
}

// EdgeType is the kind of a relationship. Lineage edges point downstream,
// from cause to effect: impact follows outgoing edges, provenance incoming ones.
type EdgeType string

// The edge types of the graph model.
const (
	// Lineage edges.
	EdgeIngestedAs   EdgeType = "INGESTED_AS"   // Correlation → DatasetVersion
	EdgeReadBy       EdgeType = "READ_BY"       // DatasetVersion → Run
	EdgeWrote        EdgeType = "WROTE"         // Run → DatasetVersion
	EdgeProduced     EdgeType = "PRODUCED"      // Run → Artifact
	EdgeRegisteredAs EdgeType = "REGISTERED_AS" // Run → ModelVersion
	EdgeDeployedAs   EdgeType = "DEPLOYED_AS"   // ModelVersion → Deployment
	EdgeDerives      EdgeType = "DERIVES"       // Field → Field (column lineage)

	// Context edges.
	EdgeVersionOf    EdgeType = "VERSION_OF"    // DatasetVersion → Dataset, ModelVersion → RegisteredModel
	EdgeRunOf        EdgeType = "RUN_OF"        // Run → Job
	EdgeChildOf      EdgeType = "CHILD_OF"      // Run → parent Run (OpenLineage parent facet)
	EdgeRebuildOf    EdgeType = "REBUILD_OF"    // Run → Run it rebuilds (seed §7 rebuild_of)
	EdgeUsedFeatures EdgeType = "USED_FEATURES" // Run → FeatureGroup
	EdgeBuiltFrom    EdgeType = "BUILT_FROM"    // Run → Commit
	EdgeRanIn        EdgeType = "RAN_IN"        // Run → Image
	EdgeTriggeredBy  EdgeType = "TRIGGERED_BY"  // Run → Identity
	EdgeHasArtifact  EdgeType = "HAS_ARTIFACT"  // Run or ModelVersion → Artifact
	EdgeSigns        EdgeType = "SIGNS"         // Artifact (signature) → Artifact
	EdgeAttests      EdgeType = "ATTESTS"       // Artifact (attestation) → Artifact
	EdgeSymlinkOf    EdgeType = "SYMLINK_OF"    // Dataset (alias) → Dataset (OpenLineage symlinks facet)
	EdgeRenamedTo    EdgeType = "RENAMED_TO"    // Dataset (old name) → Dataset (new name), lifecycle RENAME
	EdgeHasField     EdgeType = "HAS_FIELD"     // Dataset → Field (schema facet)
)

// EdgeTypes lists every edge type, in a stable order.
var EdgeTypes = []EdgeType{
	EdgeIngestedAs, EdgeReadBy, EdgeWrote, EdgeProduced, EdgeRegisteredAs, EdgeDeployedAs, EdgeDerives,
	EdgeVersionOf, EdgeRunOf, EdgeChildOf, EdgeRebuildOf, EdgeUsedFeatures, EdgeBuiltFrom, EdgeRanIn,
	EdgeTriggeredBy, EdgeHasArtifact, EdgeSigns, EdgeAttests, EdgeSymlinkOf, EdgeRenamedTo, EdgeHasField,
}

// Valid reports whether t is one of the known edge types.
func (t EdgeType) Valid() bool {
	for _, k := range EdgeTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Props are a node's or an edge's properties. Values are scalars (string,
// bool, int64, float64) or lists of one scalar type, so that every store
// (Neo4j included) keeps them identically; anything nested belongs in
// Facets. Stores return integral numbers as int64 and others as float64.
type Props map[string]any

// Facets are OpenLineage-style facets kept verbatim as JSON, by facet name.
type Facets map[string]json.RawMessage

// Provenance says when a node or edge was seen and which log records
// produced it. FirstSeen/LastSeen are event times (the producer's clock);
// FirstOffset/LastOffset are event-log offsets. A zero time or offset means
// "unknown": it never moves the stored values, and a node with no FirstSeen
// is visible as of any time. A mutation whose offsets are zero takes its
// Batch's offset.
type Provenance struct {
	FirstSeen   time.Time
	LastSeen    time.Time
	FirstOffset int64
	LastOffset  int64
}

// Node is a vertex of the provenance graph.
type Node struct {
	Key    string
	Label  Label
	Props  Props
	Facets Facets
	Provenance
}

// Edge is a directed relationship. (From, Type, To) identifies it.
type Edge struct {
	Type   EdgeType
	From   string
	To     string
	Props  Props
	Facets Facets
	Provenance
}

// ID is the edge's identity as one string: From -TYPE-> To.
func (e Edge) ID() string { return e.From + " -" + string(e.Type) + "-> " + e.To }

// MutationKind says what a Mutation does. The graph is append-only in
// spirit: there is no delete; a dropped dataset is a property change.
type MutationKind int

const (
	// UpsertNode creates the node or merges into it.
	UpsertNode MutationKind = iota + 1
	// UpsertEdge creates the edge or merges into it. Both endpoints must
	// exist, or be upserted earlier in the same Batch.
	UpsertEdge
	// UpsertGroup upserts every node, then every edge, of a Group, each
	// with the mutation's provenance: exactly what those mutations would
	// do one by one at its place in the list.
	UpsertGroup
)

// Mutation is one change to the graph. Upserts merge: properties and facets
// are overwritten key by key in log order (a nil property value removes the
// key), the label of an existing node is never changed, FirstSeen/FirstOffset
// keep the minimum and LastSeen/LastOffset the maximum. Applying the same
// mutation twice leaves the graph as applying it once.
type Mutation struct {
	Kind  MutationKind
	Node  Node         // for UpsertNode
	Edge  Edge         // for UpsertEdge
	Group *GroupUpsert // for UpsertGroup
}

// A Group is a list of node and edge upserts that many events repeat
// whole, such as the fields a dataset's schema declares, which every event
// naming the dataset brings again. A mapper builds it once and hands the
// same *Group to every mutation that repeats it, so that a store merges a
// repeat by its provenance alone instead of node by node. Its nodes and
// edges carry no provenance (the GroupUpsert brings it); their props and
// facets may be shared with other groups and mutations. A Group is never
// modified once a mutation names it.
type Group struct {
	Nodes []Node
	Edges []Edge
}

// GroupUpsert is an UpsertGroup mutation's group and the provenance that
// each of its nodes and edges takes.
type GroupUpsert struct {
	Group *Group
	Provenance
}

// GroupMutation is a convenience constructor for an UpsertGroup mutation.
func GroupMutation(g *Group, prov Provenance) Mutation {
	return Mutation{Kind: UpsertGroup, Group: &GroupUpsert{Group: g, Provenance: prov}}
}

// Expand returns muts with every group upsert replaced by its nodes and
// then its edges, each with the upsert's provenance: the list of single
// upserts that muts stands for. It returns muts itself when it holds no
// group, and never modifies it.
func Expand(muts []Mutation) []Mutation {
	n, groups := 0, false
	for i := range muts {
		if gu := expandable(&muts[i]); gu != nil {
			n += len(gu.Group.Nodes) + len(gu.Group.Edges)
			groups = true
		} else {
			n++
		}
	}
	if !groups {
		return muts
	}
	out := make([]Mutation, 0, n)
	for i := range muts {
		gu := expandable(&muts[i])
		if gu == nil {
			out = append(out, muts[i])
			continue
		}
		for _, nd := range gu.Group.Nodes {
			nd.Provenance = gu.Provenance
			out = append(out, NodeMutation(nd))
		}
		for _, e := range gu.Group.Edges {
			e.Provenance = gu.Provenance
			out = append(out, EdgeMutation(e))
		}
	}
	return out
}

// expandable returns m's group upsert when m is one that names a group,
// and nil otherwise (Expand keeps a malformed one as it is, for the store
// to refuse).
func expandable(m *Mutation) *GroupUpsert {
	if m.Kind == UpsertGroup && m.Group != nil && m.Group.Group != nil {
		return m.Group
	}
	return nil
}

// NodeMutation is a convenience constructor for an UpsertNode mutation.
func NodeMutation(n Node) Mutation { return Mutation{Kind: UpsertNode, Node: n} }

// EdgeMutation is a convenience constructor for an UpsertEdge mutation.
func EdgeMutation(e Edge) Mutation { return Mutation{Kind: UpsertEdge, Edge: e} }

// Batch is the projection of one event-log record: the mutations it
// produced and the offset it came from. A store records the highest offset it
// has applied, atomically with the mutations, so projection can resume.
type Batch struct {
	Offset    int64
	Mutations []Mutation
}

// Merge folds q into p by the merge rules of Mutation: the earliest
// FirstSeen and FirstOffset, the latest LastSeen and LastOffset. Zero
// values are unknown: they never win and never erase a known value.
func (p *Provenance) Merge(q Provenance) {
	if !q.FirstSeen.IsZero() && (p.FirstSeen.IsZero() || q.FirstSeen.Before(p.FirstSeen)) {
		p.FirstSeen = q.FirstSeen
	}
	if !q.LastSeen.IsZero() && (p.LastSeen.IsZero() || q.LastSeen.After(p.LastSeen)) {
		p.LastSeen = q.LastSeen
	}
	if q.FirstOffset != 0 && (p.FirstOffset == 0 || q.FirstOffset < p.FirstOffset) {
		p.FirstOffset = q.FirstOffset
	}
	if q.LastOffset != 0 && (p.LastOffset == 0 || q.LastOffset > p.LastOffset) {
		p.LastOffset = q.LastOffset
	}
}

// WithBatchOffset returns p with the offsets it leaves at zero taken from
// its batch, the log record the mutation came from.
func (p Provenance) WithBatchOffset(offset int64) Provenance {
	if p.FirstOffset == 0 {
		p.FirstOffset = offset
	}
	if p.LastOffset == 0 {
		p.LastOffset = offset
	}
	return p
}

// The stores keep times as int64 nanoseconds since the Unix epoch, so that
// min/max merges and as-of filters are integer comparisons and both stores
// agree to the nanosecond.
var (
	minNanosTime = time.Unix(0, math.MinInt64)
	maxNanosTime = time.Unix(0, math.MaxInt64)
)

// UnixNanos returns t as nanoseconds since the epoch; ok is false for the
// zero time ("unknown"). Times outside what int64 nanoseconds hold (years
// 1677–2262) are clamped: a producer clock that far off is wrong either
// way, and clamping keeps the event.
func UnixNanos(t time.Time) (n int64, ok bool) {
	switch {
	case t.IsZero():
		return 0, false
	case t.Before(minNanosTime):
		return math.MinInt64, true
	case t.After(maxNanosTime):
		return math.MaxInt64, true
	}
	return t.UnixNano(), true
}

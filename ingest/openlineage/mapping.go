package openlineage

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redthread/redthread/graph"
)

// Limits that keep the projection of a hostile event proportionate to its
// size; real producers stay far below them. Decode warns when an event
// exceeds one.
const (
	// MaxFieldDepth is how deep schema fields nest before the deeper ones
	// are not mapped.
	MaxFieldDepth = 64
	// MaxDatasetLineageEdges bounds the DERIVES edges one output's
	// dataset-level column lineage may produce (input fields × output
	// fields); beyond it those edges are not mapped.
	MaxDatasetLineageEdges = 100_000
	// MaxTransformationsPerEdge bounds the distinct transformations kept on
	// one DERIVES edge.
	MaxTransformationsPerEdge = 64
)

// Map projects a decoded event onto graph mutations, by the rules in the
// package documentation and MAPPING.md. It is pure and deterministic: the
// same event and offset always give the same list. Every node and edge is
// stamped with Provenance{FirstSeen, LastSeen: the event time; FirstOffset,
// LastOffset: offset}. The list holds every node upsert first, sorted by
// key, then every edge upsert, sorted by (From, Type, To), so each edge's
// endpoints are upserted earlier in the same list. A nil event maps to nil.
//
// A dataset's schema fields (Field nodes and their HAS_FIELD edges) and
// its column lineage edges (DERIVES) come as UpsertGroup mutations between
// the nodes and the edges, each shared with every other event that sends
// the same facet for the dataset (see schema and lineage); graph.Expand
// spells them out.
func Map(ev *Event, offset int64) []graph.Mutation {
	return mapEvent(ev, offset, true)
}

// mapEvent is Map, with schema groups or (groups false) every field
// upserted on its own.
func mapEvent(ev *Event, offset int64, groups bool) []graph.Mutation {
	if ev == nil {
		return nil
	}
	b := builders.Get().(*builder)
	defer b.release()
	b.noGroups = !groups
	b.prov = graph.Provenance{FirstSeen: ev.EventTime(), LastSeen: ev.EventTime(), FirstOffset: offset, LastOffset: offset}
	switch {
	case ev.RunEvent != nil:
		b.runEvent(ev)
	case ev.JobEvent != nil:
		b.jobEvent(ev.JobEvent)
	case ev.DatasetEvent != nil:
		d := ev.DatasetEvent.Dataset
		b.dataset(d, facetVersion(d), VersionFromFacet)
	}
	return b.mutations()
}

type edgeID struct {
	from string
	typ  graph.EdgeType
	to   string
}

// builder collects the nodes and edges of one event, merging repeats (a
// dataset that is both input and output, a field named by both the schema
// and the column lineage) the way the store merges upserts: later
// properties and facets win key by key.
type builder struct {
	prov    graph.Provenance
	nodes   map[string]*graph.Node
	edges   map[edgeID]*graph.Edge
	derives map[edgeID][]Transformation

	// Nodes and edges are carved out of chunks that the builder keeps, so
	// that mapping an event allocates little beyond what it returns.
	nodeArena arena[graph.Node]
	edgeArena arena[graph.Edge]
	nodeRefs  []nodeRef
	edgeRefs  []edgeRef

	// groups are the schema and column lineage groups this event upserts
	// whole (see schema and lineage), in the order it names them; groupKey
	// is a buffer for their cache keys.
	groups   []*schemaGroup
	groupKey []byte
	noGroups bool // map every field on its own (tests compare the two)

	// lineageOf is, by dataset key, the column lineage group the event
	// added, or nil when it mapped the dataset's lineage edge by edge.
	lineageOf map[string]*schemaGroup
}

// builders holds builders between events: their maps, chunks and sort
// buffers were a fifth of the bytes that ingest allocated per event.
var builders = sync.Pool{New: func() any {
	return &builder{
		nodes:   make(map[string]*graph.Node, 32),
		edges:   make(map[edgeID]*graph.Edge, 32),
		derives: make(map[edgeID][]Transformation),
	}
}}

// maxPooledEntries is the most nodes or edges a builder may have held to
// go back to the pool: the maps keep their size when cleared, and one
// huge event should not keep a huge builder alive.
const maxPooledEntries = 1024

// release clears b, so that it holds nothing of the event it mapped (the
// returned mutations own copies of its nodes and edges), and puts it back
// in the pool unless it grew large.
func (b *builder) release() {
	if len(b.nodes) > maxPooledEntries || len(b.edges) > maxPooledEntries {
		return
	}
	clear(b.nodes)
	clear(b.edges)
	clear(b.derives)
	b.nodeArena.reset()
	b.edgeArena.reset()
	clear(b.nodeRefs)
	clear(b.edgeRefs)
	b.nodeRefs, b.edgeRefs = b.nodeRefs[:0], b.edgeRefs[:0]
	clear(b.groups)
	b.groups = b.groups[:0]
	clear(b.lineageOf)
	b.prov = graph.Provenance{}
	b.noGroups = false
	builders.Put(b)
}

const chunkSize = 32

// An arena hands out pointers to zeroed values of T from chunks of
// chunkSize, which it keeps for reuse: a pointer stays valid until reset.
type arena[T any] struct {
	chunks [][]T
	used   int // values handed out since the last reset
}

func (a *arena[T]) new() *T {
	c, i := a.used/chunkSize, a.used%chunkSize
	if c == len(a.chunks) {
		a.chunks = append(a.chunks, make([]T, chunkSize))
	}
	a.used++
	return &a.chunks[c][i]
}

// reset zeroes the values handed out, dropping what they referenced.
func (a *arena[T]) reset() {
	for c := 0; c*chunkSize < a.used; c++ {
		clear(a.chunks[c])
	}
	a.used = 0
}

// nodeRef and edgeRef are what mutations sorts: small pairs, so that no
// mutation needs a second map lookup.
type nodeRef struct {
	key string
	n   *graph.Node
}

type edgeRef struct {
	id edgeID
	e  *graph.Edge
}

// node upserts a node. It takes ownership of props (callers pass a fresh
// map). Facets are shared, since one event's facets feed several nodes
// (a dataset and its version): a node's Facets are never modified, and a
// second set of facets merges into a new map.
func (b *builder) node(key string, label graph.Label, props graph.Props, facets graph.Facets) {
	n := b.nodes[key]
	if n == nil {
		n = b.nodeArena.new()
		*n = graph.Node{Key: key, Label: label, Provenance: b.prov}
		b.nodes[key] = n
	}
	if len(props) > 0 {
		if n.Props == nil {
			n.Props = props
		} else {
			maps.Copy(n.Props, props)
		}
	}
	n.Facets = mergeFacets(n.Facets, facets)
}

// mergeFacets returns facets over old: facets itself when old is empty
// (shared, not copied), else a new map. Neither argument is modified.
func mergeFacets(old, facets graph.Facets) graph.Facets {
	switch {
	case len(facets) == 0:
		return old
	case len(old) == 0:
		return facets
	}
	merged := make(graph.Facets, len(old)+len(facets))
	maps.Copy(merged, old)
	maps.Copy(merged, facets)
	return merged
}

// edge upserts an edge, with the same ownership rules as node.
func (b *builder) edge(typ graph.EdgeType, from, to string, props graph.Props, facets graph.Facets) {
	id := edgeID{from, typ, to}
	e := b.edges[id]
	if e == nil {
		e = b.edgeArena.new()
		*e = graph.Edge{Type: typ, From: from, To: to, Provenance: b.prov}
		b.edges[id] = e
	}
	if len(props) > 0 {
		if e.Props == nil {
			e.Props = props
		} else {
			maps.Copy(e.Props, props)
		}
	}
	e.Facets = mergeFacets(e.Facets, facets)
}

func (b *builder) mutations() []graph.Mutation {
	for id, ts := range b.derives {
		if p := transformationProps(ts); p != nil {
			b.edge(id.typ, id.from, id.to, p, nil)
		}
	}
	nodes := slices.Grow(b.nodeRefs[:0], len(b.nodes))
	for k, n := range b.nodes {
		nodes = append(nodes, nodeRef{k, n})
	}
	b.nodeRefs = nodes
	slices.SortFunc(nodes, func(x, y nodeRef) int { return strings.Compare(x.key, y.key) })
	edges := slices.Grow(b.edgeRefs[:0], len(b.edges))
	for id, e := range b.edges {
		edges = append(edges, edgeRef{id, e})
	}
	b.edgeRefs = edges
	slices.SortFunc(edges, func(x, y edgeRef) int {
		if c := strings.Compare(x.id.from, y.id.from); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.id.typ), string(y.id.typ)); c != 0 {
			return c
		}
		return strings.Compare(x.id.to, y.id.to)
	})
	// Fields are set one by one into the zeroed slice: a composite literal
	// would build each 256-byte mutation aside and copy it in. Groups come
	// between the nodes and the edges: their edges start at a dataset
	// upserted before them, and column lineage's edges end at their fields.
	muts := make([]graph.Mutation, len(nodes)+len(b.groups)+len(edges))
	for j, r := range nodes {
		muts[j].Kind, muts[j].Node = graph.UpsertNode, *r.n
	}
	for j, g := range b.groups {
		muts[len(nodes)+j] = graph.GroupMutation(g.group, b.prov)
	}
	for j, r := range edges {
		m := &muts[len(nodes)+len(b.groups)+j]
		m.Kind, m.Edge = graph.UpsertEdge, *r.e
	}
	return muts
}

// set puts a non-empty string property.
func set(p graph.Props, k, v string) {
	if v != "" {
		p[k] = v
	}
}

func setInt(p graph.Props, k string, v *int64) {
	if v != nil {
		p[k] = *v
	}
}

func (b *builder) runEvent(ev *Event) {
	re := ev.RunEvent
	jobKey := b.job(re.Job)
	runKey := graph.RunKey(re.Run.RunID)
	f := re.Run.Facets

	p := graph.Props{}
	if et := re.EventType; et != "" {
		p["last_event_type"] = string(et)
		at := ev.EventTime().Format(time.RFC3339Nano)
		switch {
		case et == EventStart:
			p["started_at"] = at
		case et.Terminal():
			p["terminal_state"] = string(et)
			p["ended_at"] = at
		}
	}
	if nt := f.NominalTime; nt != nil {
		set(p, "nominal_start_time", normTime(nt.NominalStartTime))
		set(p, "nominal_end_time", normTime(nt.NominalEndTime))
	}
	if em := f.ErrorMessage; em != nil {
		set(p, "error_message", em.Message)
		set(p, "error_language", em.ProgrammingLanguage)
	}
	set(p, "z1_correlation_id", ev.CorrelationID())
	if pr := f.Parent; pr != nil && pr.Root != nil {
		p["root_run"] = graph.RunKey(pr.Root.Run.RunID)
	}
	b.node(runKey, graph.LabelRun, p, f.Raw)
	b.edge(graph.EdgeRunOf, runKey, jobKey, nil, nil)

	if pr := f.Parent; pr != nil {
		pk := graph.RunKey(pr.Run.RunID)
		if pk != runKey {
			b.node(pk, graph.LabelRun, nil, nil)
			b.edge(graph.EdgeChildOf, runKey, pk, nil, nil)
			b.edge(graph.EdgeRunOf, pk, b.jobStub(pr.Job.Namespace, pr.Job.Name), nil, nil)
		}
		if rt := pr.Root; rt != nil {
			if rk := graph.RunKey(rt.Run.RunID); rk != runKey {
				b.node(rk, graph.LabelRun, nil, nil)
				b.edge(graph.EdgeRunOf, rk, b.jobStub(rt.Job.Namespace, rt.Job.Name), nil, nil)
			}
		}
	}
	if ck := b.commit(re.Job.Facets.SourceCodeLocation); ck != "" {
		b.edge(graph.EdgeBuiltFrom, runKey, ck, nil, nil)
	}

	for _, in := range re.Inputs {
		dk, vk := b.dataset(in.Dataset, facetVersion(in.Dataset), VersionFromFacet)
		from := dk
		if vk != "" {
			from = vk
		}
		b.edge(graph.EdgeReadBy, from, runKey, statsProps(in.InputFacets.InputStatistics), in.InputFacets.Raw)
	}
	var written []string
	for _, out := range re.Outputs {
		version, source := OutputVersion(out, re.Run.RunID)
		_, vk := b.dataset(out.Dataset, version, source)
		b.edge(graph.EdgeWrote, runKey, vk, statsProps(out.OutputFacets.OutputStatistics), out.OutputFacets.Raw)
		written = append(written, vk)
	}
	if id := ev.CorrelationID(); id != "" {
		ck := graph.CorrelationKey(id)
		b.node(ck, graph.LabelCorrelation, graph.Props{"id": id}, nil)
		for _, vk := range written {
			b.edge(graph.EdgeIngestedAs, ck, vk, nil, nil)
		}
	}
}

// jobEvent maps design-time metadata: the job, its commit, and its
// datasets as nodes. The datasets it declares are recorded on the job as
// declared_inputs/declared_outputs rather than as READ_BY/WROTE edges,
// which are reserved for what runs actually did.
func (b *builder) jobEvent(je *JobEvent) {
	jobKey := b.job(je.Job)
	if ck := b.commit(je.Job.Facets.SourceCodeLocation); ck != "" {
		b.edge(graph.EdgeBuiltFrom, jobKey, ck, nil, nil)
	}
	var ins, outs []string
	for _, in := range je.Inputs {
		dk, _ := b.dataset(in.Dataset, facetVersion(in.Dataset), VersionFromFacet)
		ins = appendUnique(ins, dk)
	}
	for _, out := range je.Outputs {
		dk, _ := b.dataset(out.Dataset, facetVersion(out.Dataset), VersionFromFacet)
		outs = appendUnique(outs, dk)
	}
	p := graph.Props{}
	if len(ins) > 0 {
		p["declared_inputs"] = ins
	}
	if len(outs) > 0 {
		p["declared_outputs"] = outs
	}
	b.node(jobKey, graph.LabelJob, p, nil)
}

func (b *builder) job(j Job) string {
	key := graph.JobKey(j.Namespace, j.Name)
	p := graph.Props{"namespace": j.Namespace, "name": j.Name}
	f := j.Facets
	if t := f.JobType; t != nil {
		set(p, "job_type", t.JobType)
		set(p, "processing_type", t.ProcessingType)
		set(p, "integration", t.Integration)
	}
	if s := f.SQL; s != nil {
		set(p, "sql_query", s.Query)
		set(p, "sql_dialect", s.Dialect)
	}
	if o := f.Ownership; o != nil {
		if owners := ownerNames(o); len(owners) > 0 {
			p["owners"] = owners
		}
	}
	if d := f.Documentation; d != nil {
		set(p, "description", d.Description)
	}
	if s := f.SourceCodeLocation; s != nil {
		set(p, "source_type", s.Type)
		set(p, "source_url", s.URL)
		set(p, "source_repo_url", s.RepoURL)
		set(p, "source_path", s.Path)
		set(p, "source_version", s.Version)
		set(p, "source_branch", s.Branch)
		set(p, "source_tag", s.Tag)
	}
	b.node(key, graph.LabelJob, p, f.Raw)
	return key
}

func (b *builder) jobStub(namespace, name string) string {
	key := graph.JobKey(namespace, name)
	b.node(key, graph.LabelJob, graph.Props{"namespace": namespace, "name": name}, nil)
	return key
}

func ownerNames(o *OwnershipFacet) []string {
	var names []string
	for _, ow := range o.Owners {
		if ow.Name != "" {
			names = append(names, ow.Name)
		}
	}
	return names
}

// commit upserts the Commit a sourceCodeLocation facet names and returns
// its key, or "" when the facet names no repository and version.
func (b *builder) commit(s *SourceCodeLocationJobFacet) string {
	if s == nil || s.Version == "" {
		return ""
	}
	repo := s.RepoURL
	if repo == "" {
		repo = repoFromURL(s.URL, s.Version)
	}
	if repo == "" {
		return ""
	}
	key := graph.CommitKey(repo, s.Version)
	p := graph.Props{"repo_url": repo, "sha": s.Version}
	set(p, "vcs", s.Type)
	set(p, "branch", s.Branch)
	set(p, "tag", s.Tag)
	b.node(key, graph.LabelCommit, p, nil)
	return key
}

// repoFromURL strips the file part of a web URL into a repository at a
// version, such as https://github.com/o/r/blob/<version>/path →
// https://github.com/o/r; any other URL is taken as the repository.
func repoFromURL(u, version string) string {
	for _, marker := range []string{"/-/blob/", "/-/tree/", "/blob/", "/tree/", "/src/", "/commit/"} {
		if i := strings.Index(u, marker+version); i > 0 {
			return u[:i]
		}
	}
	return u
}

func facetVersion(d Dataset) string {
	if v := d.Facets.Version; v != nil {
		return v.DatasetVersion
	}
	return ""
}

// dataset upserts a dataset with what its facets say, and its version when
// version is not empty. It returns the keys of the Dataset and of the
// DatasetVersion ("" when no version).
func (b *builder) dataset(d Dataset, version, source string) (dk, vk string) {
	dk = graph.DatasetKey(d.Namespace, d.Name)
	f := d.Facets
	p := graph.Props{"namespace": d.Namespace, "name": d.Name}
	if t := f.DatasetType; t != nil {
		set(p, "dataset_type", t.DatasetType)
		set(p, "dataset_subtype", t.SubType)
	}
	if s := f.Storage; s != nil {
		set(p, "storage_layer", s.StorageLayer)
		set(p, "file_format", s.FileFormat)
	}
	if s := f.DataSource; s != nil {
		set(p, "datasource_name", s.Name)
		set(p, "datasource_uri", s.URI)
	}
	if o := f.Ownership; o != nil {
		if owners := ownerNames(o); len(owners) > 0 {
			p["owners"] = owners
		}
	}
	if doc := f.Documentation; doc != nil {
		set(p, "description", doc.Description)
	}
	if l := f.LifecycleStateChange; l != nil {
		set(p, "lifecycle_state", l.LifecycleStateChange)
	}
	b.node(dk, graph.LabelDataset, p, f.Raw)

	if version != "" {
		vk = graph.DatasetVersionKey(d.Namespace, d.Name, version)
		b.node(vk, graph.LabelDatasetVersion, graph.Props{
			"namespace": d.Namespace, "name": d.Name, "version": version, "version_source": source,
		}, f.Raw)
		b.edge(graph.EdgeVersionOf, vk, dk, nil, nil)
	}
	if s := f.Schema; s != nil {
		b.schema(d.Namespace, d.Name, dk, s.Fields, f.Raw["schema"])
	}
	if s := f.Symlinks; s != nil {
		for _, id := range s.Identifiers {
			if id.Namespace == "" || id.Name == "" {
				continue
			}
			ak := graph.DatasetKey(id.Namespace, id.Name)
			if ak == dk {
				continue
			}
			ap := graph.Props{"namespace": id.Namespace, "name": id.Name}
			set(ap, "symlink_type", id.Type)
			b.node(ak, graph.LabelDataset, ap, nil)
			b.edge(graph.EdgeSymlinkOf, ak, dk, nil, nil)
		}
	}
	if l := f.LifecycleStateChange; l != nil && l.LifecycleStateChange == "RENAME" {
		if prev := l.PreviousIdentifier; prev != nil && prev.Namespace != "" && prev.Name != "" {
			if pk := b.datasetStub(prev.Namespace, prev.Name); pk != dk {
				b.edge(graph.EdgeRenamedTo, pk, dk, nil, nil)
			}
		}
	}
	if c := f.ColumnLineage; c != nil {
		b.lineage(d.Namespace, d.Name, dk, c, f.Raw["columnLineage"])
	}
	return dk, vk
}

func (b *builder) datasetStub(namespace, name string) string {
	key := graph.DatasetKey(namespace, name)
	b.datasetStubKey(key, namespace, name)
	return key
}

// datasetStubKey is datasetStub for a dataset whose key is known.
func (b *builder) datasetStubKey(key, namespace, name string) {
	if b.nodes[key] == nil {
		b.node(key, graph.LabelDataset, graph.Props{"namespace": namespace, "name": name}, nil)
	}
}

// schemaFields upserts the fields of a schema, nested fields under their
// dotted path, each with a HAS_FIELD edge from the dataset.
func (b *builder) schemaFields(ns, name, dk string, fields []SchemaField, prefix string, depth int) {
	if depth > MaxFieldDepth {
		return
	}
	for _, f := range fields {
		if f.Name == "" {
			continue
		}
		path := f.Name
		if prefix != "" {
			path = prefix + "." + f.Name
		}
		p := graph.Props{"name": path}
		set(p, "type", f.Type)
		set(p, "description", f.Description)
		setInt(p, "ordinal_position", f.OrdinalPosition)
		fk := graph.FieldKey(ns, name, path)
		b.node(fk, graph.LabelField, p, nil)
		b.edge(graph.EdgeHasField, dk, fk, nil, nil)
		b.schemaFields(ns, name, dk, f.Fields, path, depth+1)
	}
}

// fieldStub upserts a field known only by name, with its HAS_FIELD edge,
// unless the event upserts it already. (A field of a schema group has the
// same name and the same edge: its key holds the dataset and the name.)
func (b *builder) fieldStub(ns, name, dk, field string) string {
	fk := graph.FieldKey(ns, name, field)
	b.fieldStubKey(fk, dk, field)
	return fk
}

// fieldStubKey is fieldStub for a field whose key fk is known.
func (b *builder) fieldStubKey(fk, dk, field string) {
	if b.nodes[fk] == nil && b.groupOf(fk) == nil {
		b.node(fk, graph.LabelField, graph.Props{"name": field}, nil)
		b.edge(graph.EdgeHasField, dk, fk, nil, nil)
	}
}

// columnLineage adds Field -DERIVES-> Field edges from each input field to
// the output field it feeds, creating fields (and input datasets) on
// demand. Input fields that affect the whole dataset (the facet's
// "dataset" list) derive every output field the facet names.
func (b *builder) columnLineage(ns, name, dk string, c *ColumnLineageDatasetFacet) {
	p := planLineage(ns, name, dk, c)
	b.lineageStubs(p)
	b.lineageDerives(p)
}

// A lineagePlan is what a column lineage facet upserts: the fields it
// names (and, for input fields, their datasets), created when the event
// has not upserted them, and its DERIVES edges, in the facet's order.
type lineagePlan struct {
	stubs   []lineageStub
	derives []deriveCall
}

// lineageStub is a field that column lineage names, of dataset dk: the
// output dataset, or an input dataset (input), whose node it may create
// too.
type lineageStub struct {
	ns, name, dk, field, key string
	input                    bool
}

type deriveCall struct {
	from, to string
	ts       []Transformation
}

// planLineage works out what columnLineage upserts for facet c of
// dataset dk.
func planLineage(ns, name, dk string, c *ColumnLineageDatasetFacet) *lineagePlan {
	p := &lineagePlan{}
	outs := make([]string, 0, len(c.Fields))
	for of := range c.Fields {
		if of != "" {
			outs = append(outs, of)
		}
	}
	slices.Sort(outs)
	type fieldID struct{ ns, name, field string }
	seen := make(map[fieldID]string)
	inputField := func(in InputField) string {
		if in.Namespace == "" || in.Name == "" || in.Field == "" {
			return ""
		}
		id := fieldID{in.Namespace, in.Name, in.Field}
		fk, ok := seen[id]
		if !ok {
			fk = graph.FieldKey(in.Namespace, in.Name, in.Field)
			p.stubs = append(p.stubs, lineageStub{ns: in.Namespace, name: in.Name, dk: graph.DatasetKey(in.Namespace, in.Name),
				field: in.Field, key: fk, input: true})
			seen[id] = fk
		}
		return fk
	}
	outKeys := make([]string, len(outs))
	for i, of := range outs {
		to := graph.FieldKey(ns, name, of)
		p.stubs = append(p.stubs, lineageStub{ns: ns, name: name, dk: dk, field: of, key: to})
		outKeys[i] = to
		entry := c.Fields[of]
		for _, in := range entry.InputFields {
			from := inputField(in)
			if from == "" {
				continue
			}
			ts := in.Transformations
			if len(ts) == 0 && (entry.TransformationType != "" || entry.TransformationDescription != "") {
				ts = []Transformation{{Type: entry.TransformationType, Description: entry.TransformationDescription}}
			}
			p.derives = append(p.derives, deriveCall{from, to, ts})
		}
	}
	if datasetLineageEdges(c) > MaxDatasetLineageEdges {
		return p
	}
	for _, in := range c.Dataset {
		from := inputField(in)
		if from == "" {
			continue
		}
		for _, to := range outKeys {
			p.derives = append(p.derives, deriveCall{from, to, in.Transformations})
		}
	}
	return p
}

// lineageStubs upserts the fields (and input datasets) that p names and
// the event does not upsert already.
func (b *builder) lineageStubs(p *lineagePlan) {
	for _, s := range p.stubs {
		if s.input {
			b.datasetStubKey(s.dk, s.ns, s.name)
		}
		b.fieldStubKey(s.key, s.dk, s.field)
	}
}

// lineageDerives adds p's DERIVES edges.
func (b *builder) lineageDerives(p *lineagePlan) {
	for _, d := range p.derives {
		b.derive(d.from, d.to, d.ts)
	}
}

// datasetLineageEdges is how many DERIVES edges the dataset-level lineage
// of c would produce.
func datasetLineageEdges(c *ColumnLineageDatasetFacet) int {
	outs := 0
	for of := range c.Fields {
		if of != "" {
			outs++
		}
	}
	return len(c.Dataset) * outs
}

func (b *builder) derive(from, to string, ts []Transformation) {
	id := edgeID{from, graph.EdgeDerives, to}
	b.edge(id.typ, from, to, nil, nil)
	for _, t := range ts {
		if cur := b.derives[id]; len(cur) < MaxTransformationsPerEdge && !slices.Contains(cur, t) {
			b.derives[id] = append(cur, t)
		}
	}
}

// transformationProps renders transformations as parallel lists, one entry
// per transformation ("" or false where the producer gave none).
func transformationProps(ts []Transformation) graph.Props {
	if len(ts) == 0 {
		return nil
	}
	n := len(ts)
	strs := make([]string, 3*n) // one allocation for the three string lists
	types, subtypes, descs := strs[:n:n], strs[n:2*n:2*n], strs[2*n:]
	masking := make([]bool, n)
	for i, t := range ts {
		types[i], subtypes[i], descs[i], masking[i] = t.Type, t.Subtype, t.Description, t.Masking
	}
	return graph.Props{
		"transformation_types":        types,
		"transformation_subtypes":     subtypes,
		"transformation_descriptions": descs,
		"transformation_masking":      masking,
	}
}

func statsProps(s *StatisticsFacet) graph.Props {
	if s == nil {
		return nil
	}
	p := graph.Props{}
	setInt(p, "row_count", s.RowCount)
	setInt(p, "size_bytes", s.Size)
	setInt(p, "file_count", s.FileCount)
	return p
}

// normTime renders a facet's date-time in UTC RFC 3339 when it parses, and
// keeps it as sent otherwise.
func normTime(s string) string {
	if s == "" {
		return ""
	}
	t, err := parseTime(s, "", nil)
	if err != nil {
		return s
	}
	return t.Format(time.RFC3339Nano)
}

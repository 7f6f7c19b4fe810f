package neo4j

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redthread/redthread/graph"
)

// How the graph is laid out in Neo4j.
//
// Every node carries the generic label Node and one label of graph.Labels,
// given when the node is created and never changed. MERGE matches on
// (:Node {key}), which a uniqueness constraint makes race-free, so a key
// upserted later under another label still finds its node. Each label has
// its own uniqueness constraint on key too: it is the index a search
// restricted to one label walks in key order.
//
// A node's or relationship's own properties are stored under names of
// their own, so that none of them can collide with a property of the
// graph model's: props under "prop.<name>", facets under "facet.<name>"
// (each the facet's JSON text, kept verbatim), provenance in first_seen,
// last_seen (integer nanoseconds since the Unix epoch, absent when
// unknown), first_offset and last_offset, and for Search the key and the
// "name" prop folded to lower case in Go (key_fold, absent when the key
// is its own folding; name_fold, absent unless name is a string).
//
// The applied offset lives on one node labelled RedthreadState, which
// carries no Node label, so counts and searches never see it.
const (
	nodeLabel  = "Node"
	stateLabel = "RedthreadState"
	stateID    = "projection"

	propPrefix  = "prop."
	facetPrefix = "facet."

	keyProp         = "key"
	keyFoldProp     = "key_fold"
	nameFoldProp    = "name_fold"
	firstSeenProp   = "first_seen"
	lastSeenProp    = "last_seen"
	firstOffsetProp = "first_offset"
	lastOffsetProp  = "last_offset"
)

// identPattern is what a label or relationship type must look like before
// it is written into Cypher text. Labels and types come only from the
// closed sets graph.Labels and graph.EdgeTypes (validated by the caller);
// this is the second lock on that door.
var identPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// ident returns name for use as a label or relationship type in Cypher
// text. It panics on anything that is not a plain identifier: reaching it
// with user text would be a bug, never an input error.
func ident[S ~string](name S) string {
	s := string(name)
	if !identPattern.MatchString(s) {
		panic(fmt.Sprintf("neo4j: %q is not a safe Cypher identifier", s))
	}
	return s
}

// schemaStatements are the constraints Open creates when they are missing,
// by name. Schema changes cannot share a transaction with anything, so
// each runs on its own.
func schemaStatements() map[string]string {
	out := map[string]string{
		"redthread_node_key": fmt.Sprintf("CREATE CONSTRAINT redthread_node_key IF NOT EXISTS FOR (n:%s) REQUIRE n.%s IS UNIQUE",
			ident(nodeLabel), keyProp),
		"redthread_state_id": fmt.Sprintf("CREATE CONSTRAINT redthread_state_id IF NOT EXISTS FOR (s:%s) REQUIRE s.id IS UNIQUE",
			ident(stateLabel)),
	}
	for _, l := range graph.Labels {
		name := "redthread_" + strings.ToLower(ident(l)) + "_key"
		out[name] = fmt.Sprintf("CREATE CONSTRAINT %s IF NOT EXISTS FOR (n:%s) REQUIRE n.%s IS UNIQUE", name, ident(l), keyProp)
	}
	return out
}

// writeOptions prefixes the statements of an Apply. They find nodes by
// unique key or internal id and relationships between two known nodes, so
// their plans do not depend on the graph's statistics. Neo4j would still
// plan them again each time the statistics drift (every few seconds while
// ingest grows the graph, 48 times in one 100k-node benchmark), a cost
// that replan=skip avoids: 6% of Neo4j's CPU per event in alternating runs.
const writeOptions = "CYPHER replan=skip "

// initStateCypher creates the applied-offset node if it is missing.
const initStateCypher = `MERGE (s:` + stateLabel + ` {id: $id}) ON CREATE SET s.applied_offset = 0`

// setAppliedCypher raises the applied offset to $offset, never lowers it.
const setAppliedCypher = writeOptions + `MERGE (s:` + stateLabel + ` {id: $id})
SET s.applied_offset = CASE WHEN s.applied_offset IS NULL OR s.applied_offset < $offset THEN $offset ELSE s.applied_offset END`

// appliedCypher reads the applied offset.
const appliedCypher = `MATCH (s:` + stateLabel + ` {id: $id}) RETURN s.applied_offset AS offset`

// The columns of the rows the apply statements UNWIND. A row is a list,
// not a map: Neo4j reads a list item by position, where it looks each
// map field up by name, and a map carries its field names over Bolt in
// every row. A relationship row names its endpoints by internal id (a,
// b); their keys stay in Go (statement.ends).
var (
	nodeColumns = []string{"key", "set", "keyFold", "nameSet", "nameFold", "fs", "ls", "fo", "lo"}
	edgeColumns = []string{"a", "b", "set", "fs", "ls", "fo", "lo"}
)

// column is the Cypher expression of the named column of a row with
// columns; it panics on a name that is not one of them (a bug).
func column(columns []string, name string) string {
	i := slices.Index(columns, name)
	if i < 0 {
		panic("neo4j: no row column " + name)
	}
	return fmt.Sprintf("row[%d]", i)
}

// provenanceSet is the SET items that merge a row's provenance into the
// element bound to v: first seen and first offset keep the minimum, last
// seen and last offset the maximum, and a null (unknown) value on either
// side never wins. (A comparison with null is null, so the CASE keeps the
// stored value, and coalesce falls back to the row's when none is stored.)
func provenanceSet(v string, columns []string) string {
	item := func(prop, field, op string) string {
		return fmt.Sprintf("%[1]s.%[2]s = coalesce(CASE WHEN %[3]s %[4]s %[1]s.%[2]s THEN %[3]s ELSE %[1]s.%[2]s END, %[3]s)",
			v, prop, column(columns, field), op)
	}
	return strings.Join([]string{
		item(firstSeenProp, "fs", "<"),
		item(lastSeenProp, "ls", ">"),
		item(firstOffsetProp, "fo", "<"),
		item(lastOffsetProp, "lo", ">"),
	}, ",\n    ")
}

// upsertNodesCypher merges $rows into nodes, creating missing ones with
// label. Each row is one key (the plan coalesces a key's mutations), with
// set: the props and facets patch, whose nulls remove properties. It
// returns each key's internal node id, for the relationship statements of
// the same transaction.
func upsertNodesCypher(label graph.Label) string {
	c := func(name string) string { return column(nodeColumns, name) }
	return fmt.Sprintf(writeOptions+`UNWIND $rows AS row
MERGE (n:%s {%s: %s})
ON CREATE SET n:%s
SET n += %s,
    n.%s = %s,
    n.%[8]s = CASE WHEN %[9]s THEN %[10]s ELSE n.%[8]s END,
    %[11]s
RETURN collect([%[3]s, id(n)]) AS ids`,
		ident(nodeLabel), keyProp, c("key"), ident(label), c("set"), keyFoldProp, c("keyFold"),
		nameFoldProp, c("nameSet"), c("nameFold"), provenanceSet("n", nodeColumns))
}

// upsertEdgesCypher merges $rows into relationships of type typ between
// existing nodes, and returns how many rows found both endpoints.
//
// Rows name their endpoints by internal node id (a, b), which the node
// statements and existingKeysCypher of the same transaction returned:
// finding a node by id is a direct lookup, where matching on the key seeks
// the key index twice per row, a sixth of the server's time per
// relationship. Ids are never kept beyond their transaction (Neo4j may
// reuse the id of a deleted node), and an unknown one is null, which
// matches nothing, so the count then tells.
func upsertEdgesCypher(typ graph.EdgeType) string {
	c := func(name string) string { return column(edgeColumns, name) }
	return fmt.Sprintf(writeOptions+`UNWIND $rows AS row
MATCH (a) WHERE id(a) = %[3]s
MATCH (b) WHERE id(b) = %[4]s
MERGE (a)-[r:%[1]s]->(b)
SET r += %[5]s,
    %[2]s
RETURN count(r) AS n`,
		ident(typ), provenanceSet("r", edgeColumns), c("a"), c("b"), c("set"))
}

// existingKeysCypher returns which of $keys are nodes, with their
// internal ids.
const existingKeysCypher = writeOptions + `UNWIND $keys AS k
MATCH (n:` + nodeLabel + ` {key: k})
RETURN n.key AS key, id(n) AS id`

// nodesCypher returns the nodes with $keys (those that exist).
const nodesCypher = `UNWIND $keys AS k
MATCH (n:` + nodeLabel + ` {key: k})
RETURN labels(n) AS labels, properties(n) AS props`

// stepCypher returns one breadth-first step from the nodes with $keys:
// every relationship of types (all when empty) in direction dir, first
// seen no later than $asOf (when not null), grouped by the node at its far
// end, so that each far node comes back once with all the relationships
// that reach it. Types are validated by the caller and pass through ident.
// A skeleton step returns of each node and relationship only its key and
// provenance properties (a map projection), not its props and facets,
// which are most of the bytes Neo4j serialises and the driver decodes.
func stepCypher(dir graph.Direction, types []graph.EdgeType, skeleton bool) string {
	rel := "r"
	if len(types) > 0 {
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = ident(t)
		}
		rel += ":" + strings.Join(names, "|")
	}
	var pattern, from, to string
	switch dir {
	case graph.Upstream:
		pattern, from, to = "(a)<-["+rel+"]-(b)", "b.key", "a.key"
	case graph.Both:
		pattern, from, to = "(a)-["+rel+"]-(b)", "startNode(r).key", "endNode(r).key"
	default:
		pattern, from, to = "(a)-["+rel+"]->(b)", "a.key", "b.key"
	}
	nodeProps, relProps := "properties(b)", "properties(r)"
	if skeleton {
		prov := fmt.Sprintf(".%s, .%s, .%s, .%s", firstSeenProp, lastSeenProp, firstOffsetProp, lastOffsetProp)
		nodeProps, relProps = "b{."+keyProp+", "+prov+"}", "r{"+prov+"}"
	}
	return fmt.Sprintf(`UNWIND $keys AS k
MATCH (a:%[1]s {key: k})
MATCH %[2]s
WHERE b:%[1]s AND ($asOf IS NULL OR r.%[3]s IS NULL OR r.%[3]s <= $asOf)
WITH b, collect({from: %[4]s, type: type(r), to: %[5]s, props: %[7]s}) AS rels
RETURN labels(b) AS labels, %[6]s AS props, rels`,
		ident(nodeLabel), pattern, firstSeenProp, from, to, nodeProps, relProps)
}

// searchCypher returns the query of a search. Which conditions it has
// depends only on which of the query's parts are set; their values are
// parameters ($after, $prefix, $upper, $text, $limit). One label is
// matched directly, so the planner walks that label's key index in order.
//
// A key prefix is the range [$prefix, $upper) rather than STARTS WITH:
// the planner folds it with "n.key > $after" into one index range, where
// it would otherwise seek on one condition and filter on the other,
// reading on past the prefix's last key to the end of the index.
// Without an upper bound (see prefixUpperBound) it is STARTS WITH.
func searchCypher(labels []graph.Label, prefix prefixKind, hasText bool) string {
	match := "(n:" + ident(nodeLabel) + ")"
	where := []string{"n.key > $after"}
	switch len(labels) {
	case 0:
	case 1:
		match = "(n:" + ident(labels[0]) + ")"
	default:
		alts := make([]string, len(labels))
		for i, l := range labels {
			alts[i] = "n:" + ident(l)
		}
		where = append(where, "("+strings.Join(alts, " OR ")+")")
	}
	switch prefix {
	case prefixRange:
		where = append(where, "n.key >= $prefix AND n.key < $upper")
	case prefixStartsWith:
		where = append(where, "n.key STARTS WITH $prefix")
	}
	if hasText {
		where = append(where, fmt.Sprintf("(coalesce(n.%s, n.key) CONTAINS $text OR n.%s CONTAINS $text)", keyFoldProp, nameFoldProp))
	}
	return fmt.Sprintf(`MATCH %s
WHERE %s
RETURN labels(n) AS labels, properties(n) AS props
ORDER BY n.key
LIMIT $limit`, match, strings.Join(where, " AND "))
}

// prefixKind says how searchCypher tests a key prefix.
type prefixKind int

const (
	noPrefix         prefixKind = iota
	prefixRange                 // n.key in [$prefix, $upper)
	prefixStartsWith            // n.key STARTS WITH $prefix
)

// prefixUpperBound returns the smallest string greater than every string
// that starts with prefix, in Neo4j's string order (code points, as Go
// compares UTF-8 bytes), and false when there is none. It steps the last
// code point that can be stepped and drops those after it, so that the
// bound stays valid UTF-8, which a Bolt string must be.
func prefixUpperBound(prefix string) (string, bool) {
	runes := []rune(prefix)
	for i := len(runes) - 1; i >= 0; i-- {
		next := runes[i] + 1
		if next == 0xD800 { // surrogates are not code points of a string
			next = 0xE000
		}
		if next <= utf8.MaxRune {
			runes[i] = next
			return string(runes[:i+1]), true
		}
	}
	return "", false
}

// countsCypher counts nodes per label and relationships per type, one
// count-store lookup each (no scan), as rows (kind, name, n).
func countsCypher() string {
	parts := make([]string, 0, len(graph.Labels)+len(graph.EdgeTypes))
	for _, l := range graph.Labels {
		parts = append(parts, fmt.Sprintf("MATCH (n:%[1]s) RETURN 'node' AS kind, '%[1]s' AS name, count(n) AS n", ident(l)))
	}
	for _, t := range graph.EdgeTypes {
		parts = append(parts, fmt.Sprintf("MATCH ()-[r:%[1]s]->() RETURN 'edge' AS kind, '%[1]s' AS name, count(r) AS n", ident(t)))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

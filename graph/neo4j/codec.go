package neo4j

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redthread/redthread/graph"
)

// Times are stored as integer nanoseconds since the Unix epoch
// (graph.UnixNanos), as the SQLite store keeps them: min/max merges and
// as-of filters are integer comparisons, and nanoseconds survive (a Neo4j
// DateTime would keep them too, but compares more slowly and reads back in
// the server's zone). A zero time.Time means unknown: no property.

// nanos returns t as a Cypher parameter: int64 nanoseconds, or nil for the
// zero time.
func nanos(t time.Time) any {
	if n, ok := graph.UnixNanos(t); ok {
		return n
	}
	return nil
}

// offsetParam returns an offset as a Cypher parameter, nil for unknown (0).
func offsetParam(o int64) any {
	if o == 0 {
		return nil
	}
	return o
}

// fold is Search's case folding, done in Go on both the stored and the
// searched text so that it is exactly the SQLite store's (Cypher's
// toLower is Java's, which differs for some scripts).
func fold(s string) string { return strings.ToLower(s) }

// decoded is what a stored node or relationship's property map holds.
type decoded struct {
	key    string
	props  graph.Props
	facets graph.Facets
	prov   graph.Provenance
}

// decodeProperties splits a property map read from Neo4j into the graph
// model's parts.
func decodeProperties(m map[string]any) (decoded, error) {
	d := decoded{props: graph.Props{}, facets: graph.Facets{}}
	for name, v := range m {
		switch {
		case strings.HasPrefix(name, propPrefix):
			nv, err := graph.NormalizePropValue(v)
			if err != nil {
				return d, fmt.Errorf("property %q: %w", name, err)
			}
			d.props[name[len(propPrefix):]] = nv
		case strings.HasPrefix(name, facetPrefix):
			text, ok := v.(string)
			if !ok {
				return d, fmt.Errorf("facet property %q is a %T, not JSON text", name, v)
			}
			d.facets[name[len(facetPrefix):]] = json.RawMessage(text)
		case name == keyProp:
			s, ok := v.(string)
			if !ok {
				return d, fmt.Errorf("key is a %T", v)
			}
			d.key = s
		case name == firstSeenProp:
			d.prov.FirstSeen = timeOf(v)
		case name == lastSeenProp:
			d.prov.LastSeen = timeOf(v)
		case name == firstOffsetProp:
			d.prov.FirstOffset, _ = v.(int64)
		case name == lastOffsetProp:
			d.prov.LastOffset, _ = v.(int64)
		}
	}
	return d, nil
}

// timeOf is the inverse of nanos.
func timeOf(v any) time.Time {
	n, ok := v.(int64)
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeNode builds a node from labels(n) and properties(n).
func decodeNode(labels, props any) (graph.Node, error) {
	m, ok := props.(map[string]any)
	if !ok {
		return graph.Node{}, fmt.Errorf("node properties are a %T", props)
	}
	d, err := decodeProperties(m)
	if err != nil {
		return graph.Node{}, fmt.Errorf("node %q: %w", d.key, err)
	}
	n := graph.Node{Key: d.key, Props: d.props, Facets: d.facets, Provenance: d.prov}
	list, _ := labels.([]any)
	for _, l := range list {
		if s, ok := l.(string); ok && graph.Label(s).Valid() {
			n.Label = graph.Label(s)
			break
		}
	}
	if n.Key == "" || n.Label == "" {
		return graph.Node{}, fmt.Errorf("node %q with labels %v is not one of Redthread's", n.Key, labels)
	}
	return n, nil
}

// decodeRel builds an edge from a map {from, type, to, props} of stepCypher.
func decodeRel(v any) (graph.Edge, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return graph.Edge{}, fmt.Errorf("relationship row is a %T", v)
	}
	from, _ := m["from"].(string)
	to, _ := m["to"].(string)
	typ, _ := m["type"].(string)
	props, _ := m["props"].(map[string]any)
	e := graph.Edge{From: from, Type: graph.EdgeType(typ), To: to}
	d, err := decodeProperties(props)
	if err != nil {
		return graph.Edge{}, fmt.Errorf("edge %s: %w", e.ID(), err)
	}
	e.Props, e.Facets, e.Provenance = d.props, d.facets, d.prov
	return e, nil
}

package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
)

// A StoreDump is what a store holds, as its interface shows it, in a
// form that compares with cmp.Diff: two stores given the same batches
// must dump alike.
type StoreDump struct {
	Keys         []string // every node's, in key order
	Nodes, Edges []string
	Counts       string
	Found        map[string][]string // search text: the keys found
	Applied      int64
}

// Dump reads everything s holds through graph.Store:
// every node with its label, props, facets and provenance, every edge
// likewise, the counts, the nodes that searches on folded names find,
// and the applied offset.
func Dump(t *testing.T, s graph.Store) StoreDump {
	t.Helper()
	ctx := t.Context()
	d := StoreDump{Found: map[string][]string{}}
	var keys []string
	for after := ""; ; after = keys[len(keys)-1] {
		page, err := s.Search(ctx, graph.SearchQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		keys = append(keys, nodeKeys(page)...)
	}
	d.Keys = keys
	var nodes []graph.Node
	for chunk := range slices.Chunk(keys, 1000) {
		got, err := s.Nodes(ctx, chunk...)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, got...)
	}
	for _, n := range nodes {
		d.Nodes = append(d.Nodes, fmt.Sprintf("%s %s props=%v facets=%v %s",
			n.Key, n.Label, n.Props, facetTexts(n.Facets), provenanceText(n.Provenance)))
	}
	if len(keys) > 0 {
		sg, err := s.Traverse(ctx, graph.Traversal{Start: keys, Direction: graph.Both, Depth: 1, MaxNodes: graph.MaxNodesLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range sg.Edges {
			d.Edges = append(d.Edges, fmt.Sprintf("%s props=%v facets=%v %s",
				e.ID(), e.Props, facetTexts(e.Facets), provenanceText(e.Provenance)))
		}
		slices.Sort(d.Edges)
	}
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.Counts = fmt.Sprintf("%v %v", c.Nodes, c.Edges)
	// Names are folded when written, and merged like any prop (the first
	// 1,000 keys found).
	for _, text := range []string{"v", "ünïcödé", "ns"} {
		found, err := s.Search(ctx, graph.SearchQuery{Text: text, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		d.Found[text] = nodeKeys(found)
	}
	if d.Applied, err = s.AppliedOffset(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// facetTexts returns facets as text, for printing.
func facetTexts(f graph.Facets) map[string]string {
	out := make(map[string]string, len(f))
	for k, v := range f {
		out[k] = string(v)
	}
	return out
}

// provenanceText prints p with its times in UTC, so that two readings
// of the same instant print alike.
func provenanceText(p graph.Provenance) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("seen=%s..%s offsets=%d..%d", ts(p.FirstSeen), ts(p.LastSeen), p.FirstOffset, p.LastOffset)
}

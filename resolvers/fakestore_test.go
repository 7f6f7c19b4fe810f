package resolvers_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/redthread/redthread/graph"
)

// fakeStore is an in-memory graph.Store, enough to drive the resolvers:
// it follows the Store contract (order, ENOTFOUND on a missing start,
// as-of filtering, MaxNodes truncation) without trying to be fast.
type fakeStore struct {
	mu    sync.Mutex
	nodes map[string]graph.Node
	edges []graph.Edge

	// fail, when set, is returned by every read, to test error mapping.
	fail error
	// lastTraversal and lastSearch record what the resolvers asked.
	lastTraversal graph.Traversal
	lastSearch    graph.SearchQuery
}

var _ graph.Store = (*fakeStore)(nil)

func newFakeStore(nodes []graph.Node, edges []graph.Edge) *fakeStore {
	s := &fakeStore{nodes: map[string]graph.Node{}}
	for _, n := range nodes {
		s.nodes[n.Key] = n
	}
	s.edges = edges
	return s
}

func (s *fakeStore) Apply(context.Context, ...graph.Batch) error {
	return errors.New("fakeStore: Apply is not used by the resolvers")
}

func (s *fakeStore) AppliedOffset(context.Context) (int64, error) { return 0, nil }

func (s *fakeStore) Nodes(ctx context.Context, keys ...string) ([]graph.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	var out []graph.Node
	for _, k := range keys {
		if n, ok := s.nodes[k]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *fakeStore) Traverse(ctx context.Context, t graph.Traversal) (graph.Subgraph, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastTraversal = t
	if s.fail != nil {
		return graph.Subgraph{}, s.fail
	}
	visible := func(p graph.Provenance) bool { return t.AsOf.IsZero() || !p.FirstSeen.After(t.AsOf) }
	follows := func(e graph.Edge) bool {
		if len(t.EdgeTypes) == 0 {
			return true
		}
		for _, et := range t.EdgeTypes {
			if et == e.Type {
				return true
			}
		}
		return false
	}
	maxNodes := t.MaxNodes
	if maxNodes == 0 {
		maxNodes = graph.DefaultMaxNodes
	}
	seen := map[string]bool{}
	var frontier []string
	for _, k := range t.Start {
		n, ok := s.nodes[k]
		if !ok || !visible(n.Provenance) {
			return graph.Subgraph{}, graph.FieldErrorf(graph.ENOTFOUND, "start", "no node %q", k) // as the real stores name it
		}
		seen[k] = true
		frontier = append(frontier, k)
	}
	var sg graph.Subgraph
	edgeSeen := map[string]bool{}
	for depth := 0; depth < graph.ClampDepth(t.Depth) && len(frontier) > 0; depth++ {
		var next []string
		for _, k := range frontier {
			for _, e := range s.edges {
				if !follows(e) || !visible(e.Provenance) {
					continue
				}
				var other string
				switch {
				case t.Direction != graph.Upstream && e.From == k:
					other = e.To
				case t.Direction != graph.Downstream && e.To == k:
					other = e.From
				default:
					continue
				}
				n, ok := s.nodes[other]
				if !ok || !visible(n.Provenance) {
					continue
				}
				if !seen[other] {
					if len(seen) >= maxNodes {
						sg.Truncated = true
						continue
					}
					seen[other] = true
					next = append(next, other)
				}
				if !edgeSeen[e.ID()] {
					edgeSeen[e.ID()] = true
					sg.Edges = append(sg.Edges, e)
				}
			}
		}
		frontier = next
	}
	for k := range seen {
		sg.Nodes = append(sg.Nodes, s.nodes[k])
	}
	sort.Slice(sg.Nodes, func(i, j int) bool { return sg.Nodes[i].Key < sg.Nodes[j].Key })
	sort.Slice(sg.Edges, func(i, j int) bool {
		a, b := sg.Edges[i], sg.Edges[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.To < b.To
	})
	return sg, nil
}

func (s *fakeStore) Search(ctx context.Context, q graph.SearchQuery) ([]graph.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSearch = q
	if s.fail != nil {
		return nil, s.fail
	}
	limit := q.Limit
	if limit == 0 {
		limit = graph.DefaultSearchLimit
	}
	limit = min(limit, graph.MaxSearchLimit)
	keys := make([]string, 0, len(s.nodes))
	for k := range s.nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	text := strings.ToLower(q.Text)
	var out []graph.Node
	for _, k := range keys {
		n := s.nodes[k]
		name, _ := n.Props["name"].(string)
		switch {
		case k <= q.After && q.After != "":
		case !strings.HasPrefix(k, q.KeyPrefix):
		case text != "" && !strings.Contains(strings.ToLower(k), text) && !strings.Contains(strings.ToLower(name), text):
		case len(q.Labels) > 0 && !containsLabel(q.Labels, n.Label):
		default:
			out = append(out, n)
		}
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func containsLabel(ls []graph.Label, l graph.Label) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func (s *fakeStore) Counts(ctx context.Context) (graph.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return graph.Counts{}, s.fail
	}
	c := graph.Counts{Nodes: map[graph.Label]int64{}, Edges: map[graph.EdgeType]int64{}}
	for _, n := range s.nodes {
		c.Nodes[n.Label]++
	}
	for _, e := range s.edges {
		c.Edges[e.Type]++
	}
	return c, nil
}

func (s *fakeStore) Close() error { return nil }

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *fakeStore) traversal() graph.Traversal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastTraversal
}

func (s *fakeStore) search() graph.SearchQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSearch
}

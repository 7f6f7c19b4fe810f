package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/redthread/redthread/graph"
)

// testConcurrentReads runs readers of every kind while a writer grows a
// chain of runs, as GraphQL queries do while the pipeline applies. Every
// read must succeed and see a consistent graph: a traversal sees a prefix
// of the chain with all its edges, and what a reader sees never shrinks.
// Run it with -race.
func testConcurrentReads(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const writes = 40 // the chain stays shorter than MaxDepth, so a traversal sees all of it
	key := func(i int) string { return graph.RunKey(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)) }
	apply(t, s, batch(1, nodeMut(key(0), graph.LabelRun, at(0), graph.Props{"name": "run 0"})))

	done := make(chan struct{})
	var wg sync.WaitGroup
	ctx := t.Context()

	wg.Go(func() {
		defer close(done)
		for i := 1; i <= writes; i++ {
			err := s.Apply(ctx, batch(int64(i+1),
				nodeMut(key(i), graph.LabelRun, at(i), graph.Props{"name": fmt.Sprintf("run %d", i)}),
				edgeMut(key(i-1), graph.EdgeChildOf, key(i), at(i)),
			))
			if err != nil {
				t.Errorf("writer: Apply %d: %v", i, err)
				return
			}
		}
	})

	readers := []func() (int, error){
		func() (int, error) { // traversal along the chain
			sg, err := s.Traverse(ctx, graph.Traversal{Start: []string{key(0)}, Depth: graph.MaxDepth})
			if err != nil {
				return 0, err
			}
			if len(sg.Edges) != len(sg.Nodes)-1 {
				return 0, fmt.Errorf("traversal saw %d nodes but %d edges: not one snapshot", len(sg.Nodes), len(sg.Edges))
			}
			for i, n := range sg.Nodes {
				if n.Key != key(i) {
					return 0, fmt.Errorf("traversal node %d is %q, want %q", i, n.Key, key(i))
				}
			}
			return len(sg.Nodes), nil
		},
		func() (int, error) { // search
			res, err := s.Search(ctx, graph.SearchQuery{Text: "RUN ", Limit: graph.MaxSearchLimit})
			return len(res), err
		},
		func() (int, error) { // counts
			c, err := s.Counts(ctx)
			return int(c.Nodes[graph.LabelRun]), err
		},
		func() (int, error) { // nodes, newest first
			keys := make([]string, writes+1)
			for i := range keys {
				keys[i] = key(writes - i)
			}
			ns, err := s.Nodes(ctx, keys...)
			if err != nil {
				return 0, err
			}
			for i := 1; i < len(ns); i++ {
				if ns[i-1].Key <= ns[i].Key {
					return 0, fmt.Errorf("Nodes out of the order asked: %q before %q", ns[i-1].Key, ns[i].Key)
				}
			}
			return len(ns), nil
		},
		func() (int, error) { // applied offset
			off, err := s.AppliedOffset(ctx)
			return int(off), err
		},
	}
	for r, read := range readers {
		wg.Go(func() {
			last := 0
			for finished := false; !finished; {
				select {
				case <-done:
					finished = true // one more read after the writer is done
				default:
				}
				n, err := read()
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				if n < last {
					t.Errorf("reader %d: saw %d, then %d: the graph shrank", r, last, n)
					return
				}
				last = n
			}
			if last != writes+1 {
				t.Errorf("reader %d: last saw %d, want %d once the writer is done", r, last, writes+1)
			}
		})
	}
	wg.Wait()
}

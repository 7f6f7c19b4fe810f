package sqlite

import "strings"

// nodeIDCacheSize is how many keys each generation of the store's id cache
// holds: the cache keeps between one and two generations, about 25–50 MB
// at the key lengths Redthread's keys have.
const nodeIDCacheSize = 1 << 17

// edgeCacheSize is how many edges each generation of the store's edge
// cache holds, about 10–20 MB in all.
const edgeCacheSize = 1 << 17

// A generations cache remembers what Apply has seen committed: node keys
// with their ids (nodeIDCache), and edges that exist (edgeCache), each with
// the sum of the content last merged into its row when Apply knows it.
// Nodes and edges are never deleted and ids never change, so an entry never
// goes stale as long as Apply, the only writer, sets the sum with every
// content it merges; the cache only has to forget what was never
// committed, which is why Apply updates its entries only after its commit.
//
// It is bounded with two generations, an approximation of LRU that costs
// nothing per hit: new entries go to the current generation; a hit in the
// previous one is copied forward; when the current one is full it becomes
// the previous one, and the old previous one is dropped.
//
// It is not safe for concurrent use; the Store guards it with applyMu.
type generations[K comparable, V any] struct {
	size      int
	own       func(K) K // a copy of a key that pins no caller's memory
	cur, prev map[K]V
}

func newGenerations[K comparable, V any](size int, own func(K) K) *generations[K, V] {
	return &generations[K, V]{size: max(size, 1), own: own, cur: map[K]V{}}
}

// get returns the value of key, if cached.
func (c *generations[K, V]) get(key K) (V, bool) {
	if v, ok := c.cur[key]; ok {
		return v, true
	}
	v, ok := c.prev[key]
	if ok {
		c.add(key, v)
	}
	return v, ok
}

// put records the value of key, unless the current generation has one.
func (c *generations[K, V]) put(key K, v V) {
	if _, ok := c.cur[key]; !ok {
		c.add(key, v)
	}
}

// set records the value of key, replacing any it has.
func (c *generations[K, V]) set(key K, v V) {
	if _, ok := c.cur[key]; ok {
		// Assigning to a present key also stores the given key, so give it
		// a copy, as add does.
		c.cur[c.own(key)] = v
		return
	}
	c.add(key, v)
}

// add puts a copy of key in the current generation.
func (c *generations[K, V]) add(key K, v V) {
	if len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, make(map[K]V, c.size)
	}
	c.cur[c.own(key)] = v
}

// nodeIDCache maps node keys to their ids and content sums. Keys are
// copied, so that the cache does not pin the memory of whatever a key was
// sliced from.
type nodeIDCache = generations[string, cachedNode]

// cachedNode is what the store knows of a committed node.
type cachedNode struct {
	id  int64
	sum contentSum // of the content last merged into its row; zero if not known
}

func newNodeIDCache(size int) *nodeIDCache {
	return newGenerations[string, cachedNode](size, strings.Clone)
}

// edgeRow identifies a row of the edges table.
type edgeRow struct {
	from, to int64
	typ      string
}

// edgeCache holds edges known to exist, so that an upsert of one goes
// straight to its update instead of first trying an insert that the
// primary key refuses, with the sum of the content last merged into each
// (zero if not known).
type edgeCache = generations[edgeRow, contentSum]

func newEdgeCache(size int) *edgeCache {
	return newGenerations[edgeRow, contentSum](size, func(r edgeRow) edgeRow {
		r.typ = strings.Clone(r.typ)
		return r
	})
}

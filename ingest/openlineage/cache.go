package openlineage

import "sync"

// A textCache maps facet texts (or keys built from them) to what they
// decode or map to, for every decoder and mapper in the process: a
// producer sends the same schema and column lineage with every event that
// names a dataset. It keeps two generations, each of at most limit
// estimated bytes: a lookup that misses the current one but hits the
// previous moves the entry back, and the previous generation is dropped
// when the current one fills, so what is still sent stays and what is no
// longer sent goes. It is safe for concurrent use.
type textCache[V any] struct {
	limit int

	mu        sync.Mutex
	cur, prev map[string]textCacheEntry[V]
	curBytes  int
}

type textCacheEntry[V any] struct {
	v    V
	size int
}

func newTextCache[V any](limit int) *textCache[V] {
	return &textCache[V]{limit: limit, cur: map[string]textCacheEntry[V]{}}
}

// get returns the value stored under key, if any.
func (c *textCache[V]) get(key []byte) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[string(key)]; ok {
		return e.v, true
	}
	if e, ok := c.prev[string(key)]; ok {
		c.putLocked(string(key), e)
		return e.v, true
	}
	var zero V
	return zero, false
}

// put stores v under key; size is an estimate of the bytes v holds.
func (c *textCache[V]) put(key []byte, v V, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(string(key), textCacheEntry[V]{v, size + len(key)})
}

func (c *textCache[V]) putLocked(key string, e textCacheEntry[V]) {
	if c.curBytes+e.size > c.limit {
		c.prev, c.cur, c.curBytes = c.cur, map[string]textCacheEntry[V]{}, 0
	}
	c.cur[key] = e
	c.curBytes += e.size
}

package sqlite

import "strings"

// nodeIDCacheSize is how many keys each generation of the store's id cache
// holds: the cache keeps between one and two generations, about 25–50 MB
// at the key lengths Redthread's keys have.
const nodeIDCacheSize = 1 << 17

// nodeIDCache maps node keys to their ids, for the nodes that Apply has
// seen committed. Nodes are never deleted and ids never change, so an entry
// never goes stale; the cache only has to forget ids that were never
// committed, which is why Apply adds its new ids only after its commit.
//
// It is bounded with two generations, an approximation of LRU that costs
// nothing per hit: new entries go to the current generation; a hit in the
// previous one is copied forward; when the current one is full it becomes
// the previous one, and the old previous one is dropped.
//
// It is not safe for concurrent use; the Store guards it with applyMu.
type nodeIDCache struct {
	size      int
	cur, prev map[string]int64
}

func newNodeIDCache(size int) *nodeIDCache {
	return &nodeIDCache{size: max(size, 1), cur: map[string]int64{}}
}

// get returns the id of key, if cached.
func (c *nodeIDCache) get(key string) (int64, bool) {
	if id, ok := c.cur[key]; ok {
		return id, true
	}
	id, ok := c.prev[key]
	if ok {
		c.add(key, id)
	}
	return id, ok
}

// put records the id of key. The key is copied, so that the cache does not
// pin the memory of whatever the key was sliced from.
func (c *nodeIDCache) put(key string, id int64) {
	if _, ok := c.cur[key]; !ok {
		c.add(key, id)
	}
}

// add puts a copy of key in the current generation.
func (c *nodeIDCache) add(key string, id int64) {
	if len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, make(map[string]int64, c.size)
	}
	c.cur[strings.Clone(key)] = id
}

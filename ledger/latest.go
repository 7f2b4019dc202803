package ledger

import "sync"

// latestCache holds values as of the last committed height, absent keys
// included, for reads that would otherwise walk an IAVL tree from the root:
// the working set's reads of keys the current block has not written, and
// Views of the latest height. Commit applies the block's writes to it, so an
// entry stays valid across heights until its key is written; it is bounded
// by dropping the older of two generations when the newer one fills.
type latestCache struct {
	mu       sync.Mutex
	height   int64 // the committed height the entries describe
	cur, old map[string][]byte
	max      int
}

func newLatestCache(height int64, max int) *latestCache {
	return &latestCache{height: height, cur: map[string][]byte{}, max: max}
}

// latestKey names key of ledger; ledger names never contain '/'.
func latestKeyOf(ledger string, key []byte) string { return ledger + "/" + string(key) }

// get returns the value of k at height, if known.
func (c *latestCache) get(height int64, k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height != c.height {
		return nil, false
	}
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
}

// fill records the value of k read from the trees at height; it is
// ignored once the cache has moved past that height.
func (c *latestCache) fill(height int64, k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height == c.height {
		c.putLocked(k, cloneValue(v))
	}
}

// advance applies the writes of the block committed as height.
func (c *latestCache) advance(height int64, writes map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range writes {
		c.putLocked(k, v)
	}
	c.height = height
}

func (c *latestCache) putLocked(k string, v []byte) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string][]byte, c.max/4)
	}
	c.cur[k] = v
}

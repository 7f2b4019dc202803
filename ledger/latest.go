package ledger

import (
	"sync"

	"github.com/jinlian-ledger/jinlian/internal/memo"
)

// latestCache holds values as of the last committed height, absent keys
// included, for reads that would otherwise walk an IAVL tree from the root:
// the working set's reads of keys the current block has not written, and
// Views of the latest height. Commit applies the block's writes to it, so an
// entry stays valid across heights until its key is written. The entries
// live in a bounded memo.Map; mu makes "is this still the height the entry
// describes" and the map operation one step.
type latestCache struct {
	mu     sync.Mutex
	height int64 // the committed height the entries describe
	m      *memo.Map[string, []byte]
}

func newLatestCache(height int64, max int) *latestCache {
	return &latestCache{height: height, m: memo.NewMap[string, []byte](max)}
}

// latestKeyOf names key of ledger; ledger names never contain '/'.
func latestKeyOf(ledger string, key []byte) string { return ledger + "/" + string(key) }

// appendLatestKey appends latestKeyOf(ledger, key) to b: lookups build the
// name in a buffer on the stack and allocate nothing.
func appendLatestKey(b []byte, ledger string, key []byte) []byte {
	return append(append(append(b, ledger...), '/'), key...)
}

// get returns the value of k (latestKeyOf's form) at height, if known.
func (c *latestCache) get(height int64, k []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height != c.height {
		return nil, false
	}
	return memo.GetBytes(c.m, k)
}

// fill records the value of k read from the trees at height; it is
// ignored once the cache has moved past that height.
func (c *latestCache) fill(height int64, k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height == c.height {
		c.m.Put(k, cloneValue(v))
	}
}

// advance applies the writes of the block committed as height.
func (c *latestCache) advance(height int64, writes map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range writes {
		c.m.Put(k, v)
	}
	c.height = height
}

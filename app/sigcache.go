package app

import (
	"crypto/sha256"
	"sync"
)

// sigCache remembers transactions whose signature this node has verified,
// keyed by a digest of their bytes, so FinalizeBlock and rechecks do not
// verify them again. It is a node-local optimisation: a miss only costs a
// verification, so it may forget entries at any time.
type sigCache struct {
	mu  sync.Mutex
	m   map[[32]byte]*Tx
	max int
}

func newSigCache(max int) *sigCache { return &sigCache{m: make(map[[32]byte]*Tx), max: max} }

func txKeyOf(b []byte) [32]byte { return sha256.Sum256(b) }

func (c *sigCache) get(k [32]byte) *Tx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *sigCache) put(k [32]byte, tx *Tx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // crude bound; entries are cheap to recompute
	}
	c.m[k] = tx
}

func (c *sigCache) remove(k [32]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

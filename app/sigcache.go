package app

import (
	"crypto/sha256"
	"sync"

	"github.com/jinlian-ledger/jinlian/wire"
)

// SigCache remembers transactions whose signature has been verified, keyed
// by a digest of their bytes, so FinalizeBlock and rechecks do not verify
// them again. It is a node-local optimisation: a miss only costs a
// verification, so it may forget entries at any time.
//
// Several apps in one process (the validators of a localnet) may share one
// cache: verification is a pure function of the bytes, so a signature that
// one of them verified is valid for all, and co-located validators verify
// each transaction once instead of once each. An entry is dropped once every
// sharer has delivered its transaction in a block.
type SigCache struct {
	mu      sync.Mutex
	cur     map[[32]byte]*sigEntry
	old     map[[32]byte]*sigEntry // previous generation, dropped as a whole
	max     int                    // entries per generation
	sharers int
}

type sigEntry struct {
	tx        *wire.Tx
	delivered int
}

// NewSigCache returns a cache for the given number of apps sharing it (1
// for a node on its own), holding about size transactions at most.
func NewSigCache(size, sharers int) *SigCache {
	return &SigCache{cur: make(map[[32]byte]*sigEntry), max: size/2 + 1, sharers: max(sharers, 1)}
}

func txKeyOf(b []byte) [32]byte { return sha256.Sum256(b) }

func (c *SigCache) get(k [32]byte) *wire.Tx {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cur[k]; e != nil {
		return e.tx
	}
	if e := c.old[k]; e != nil {
		return e.tx
	}
	return nil
}

func (c *SigCache) put(k [32]byte, tx *wire.Tx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur[k] != nil {
		return
	}
	if e := c.old[k]; e != nil {
		c.cur[k] = e
		delete(c.old, k)
		return
	}
	if len(c.cur) >= c.max {
		// Entries are cheap to recompute; dropping a whole generation
		// keeps the recently verified ones.
		c.old, c.cur = c.cur, make(map[[32]byte]*sigEntry)
	}
	c.cur[k] = &sigEntry{tx: tx}
}

// delivered notes that one sharer executed the transaction in a block; once
// all have, it will not be checked again (the replay check refuses it).
func (c *SigCache) delivered(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[[32]byte]*sigEntry{c.cur, c.old} {
		if e := m[k]; e != nil {
			if e.delivered++; e.delivered >= c.sharers {
				delete(m, k)
			}
			return
		}
	}
}

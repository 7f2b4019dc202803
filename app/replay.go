package app

import (
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// replaySet answers the replay check from memory for ids that were never
// spent, the common case, so that CheckTx, rechecks and deliveries do not
// each look the id up in the spent-id index on disk (state.go).
//
// A transaction passes the timestamp check only within ±window of a block
// time, and block times only grow, so an id committed in a block of time T
// can be presented again only while the last block time is at most
// T + 2·window. The set keeps (64-bit prefixes of) the ids of the blocks
// committed in the last 2·window of block time; a miss proves "never
// spent" once the set has seen every block of that span. Until then (after
// a restart, after the cap evicted blocks early, after the window grew),
// and on every hit, the caller asks the index, which stays the record. So
// the set never changes an answer, only how fast it comes.
type replaySet struct {
	// mu: Commit writes while FinalizeBlock reads, and CometBFT's /check_tx
	// RPC reaches CheckTx (which reads) without the mempool lock.
	mu      sync.RWMutex
	ids     map[uint64]int // id prefix → count among the blocks held
	blocks  []replayBlock  // in commit order
	size    int            // ids held
	max     int            // ids held at most
	window  time.Duration  // the window of the last commit
	horizon time.Time      // ids of blocks at or before this time may be missing
}

type replayBlock struct {
	time time.Time
	ids  []uint64
}

// newReplaySet returns a set that has seen no block after the block time
// last; complete means nothing was committed before (a chain at height 0).
func newReplaySet(last time.Time, complete bool, max int) *replaySet {
	r := &replaySet{ids: map[uint64]int{}, max: max, horizon: last}
	if complete {
		r.horizon = time.Time{}
	}
	return r
}

func idPrefix(id string) uint64 {
	var b [8]byte
	_, _ = hex.Decode(b[:], []byte(id[:16])) // decoding checked the id: 64 hex digits
	return binary.BigEndian.Uint64(b[:])
}

// neverCommitted reports whether id is certainly not committed, for a
// transaction that passes the timestamp check at a block time ≥ last. False
// means: ask the state.
func (r *replaySet) neverCommitted(id string, last time.Time, window time.Duration) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.ids[idPrefix(id)] > 0 {
		return false
	}
	if r.window != 0 && window > r.window {
		return false // a grown window reaches back past what was evicted
	}
	return r.horizon.IsZero() || last.Sub(r.horizon) > 2*window
}

// commit records the ids a block committed at block time at, then evicts
// the blocks that no longer matter, and the oldest ones while over the cap.
func (r *replaySet) commit(at time.Time, ids []string, window time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.window != 0 && window > r.window {
		r.horizon = at // what was evicted may matter again: start over
	}
	r.window = window
	if len(ids) > 0 {
		b := replayBlock{time: at, ids: make([]uint64, len(ids))}
		for i, id := range ids {
			b.ids[i] = idPrefix(id)
			r.ids[b.ids[i]]++
		}
		r.blocks = append(r.blocks, b)
		r.size += len(ids)
	}
	n := 0
	for ; n < len(r.blocks); n++ {
		b := r.blocks[n]
		if at.Sub(b.time) <= 2*window {
			if r.size <= r.max {
				break
			}
			if b.time.After(r.horizon) {
				r.horizon = b.time
			}
		}
		for _, p := range b.ids {
			if r.ids[p]--; r.ids[p] == 0 {
				delete(r.ids, p)
			}
		}
		r.size -= len(b.ids)
	}
	r.blocks = r.blocks[n:]
}

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
// Under the replay rule (state.go) a transaction presented at block time
// now under the window w is refused as a replay only by an id spent by a
// transaction stamped at or after now − w. Block times only grow, so a
// block whose latest stamp is before now − w can never refuse anything
// again while the window does not grow. The set keeps (32-bit prefixes of)
// the ids of the blocks that still can; a miss proves "never spent" once
// the set has seen every such block. Until then (after a restart, after the
// cap evicted blocks early, after the window grew), and on every hit, the
// caller asks the index, which stays the record. So the set never changes
// an answer, only how fast it comes.
type replaySet struct {
	// mu: Commit writes while FinalizeBlock reads, and CometBFT's /check_tx
	// RPC reaches CheckTx (which reads) without the mempool lock.
	mu     sync.RWMutex
	ids    map[uint32]uint32 // id prefix → count among the blocks held
	blocks []replayBlock     // in commit order
	size   int               // ids held
	max    int               // ids held at most
	window time.Duration     // the window of the last commit
	// horizon: ids stamped at or before it may be missing (zero: none).
	horizon time.Time
}

type replayBlock struct {
	latest time.Time // the latest stamp of the block's transactions
	ids    []uint32
}

// newReplaySet returns a set that has seen no block committed so far;
// latest is the latest stamp of any transaction they spent (zero when
// nothing was committed, or spent).
func newReplaySet(latest time.Time, max int) *replaySet {
	return &replaySet{ids: map[uint32]uint32{}, max: max, horizon: latest}
}

// idPrefix is the first 32 bits of id. Two ids that share it only send
// the second to the index (a prefix held is a "maybe"): with the set full,
// one new id in a thousand. 32 bits rather than 64 halve the set's memory
// (BenchmarkReplaySet).
func idPrefix(id string) uint32 {
	var b [4]byte
	_, _ = hex.Decode(b[:], []byte(id[:8])) // decoding checked the id: 64 hex digits
	return binary.BigEndian.Uint32(b[:])
}

// neverCommitted reports whether id is certainly not refused as a replay
// at block time now under window. False means: ask the state.
func (r *replaySet) neverCommitted(id string, now time.Time, window time.Duration) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.ids[idPrefix(id)] > 0 {
		return false
	}
	if r.window != 0 && window > r.window {
		return false // a grown window reaches back past what was evicted
	}
	return r.horizon.IsZero() || r.horizon.Before(now.Add(-window))
}

// commit records the ids a block committed at block time at, whose
// latest stamp is latest, then evicts the blocks that no longer matter,
// and the oldest ones while over the cap.
func (r *replaySet) commit(at time.Time, ids []string, latest time.Time, window time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.window != 0 && window > r.window && at.After(r.horizon) {
		r.horizon = at // what was evicted may matter again: start over
	}
	r.window = window
	if len(ids) > 0 {
		b := replayBlock{latest: latest, ids: make([]uint32, len(ids))}
		for i, id := range ids {
			b.ids[i] = idPrefix(id)
			r.ids[b.ids[i]]++
		}
		r.blocks = append(r.blocks, b)
		r.size += len(ids)
	}
	// Blocks are evicted in commit order: one whose stamps no longer
	// matter waits behind an older one that still does (a transaction
	// stamped ahead), which costs memory, never an answer.
	n := 0
	for ; n < len(r.blocks); n++ {
		b := r.blocks[n]
		if !b.latest.Before(at.Add(-window)) {
			if r.size <= r.max {
				break
			}
			if b.latest.After(r.horizon) {
				r.horizon = b.latest
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

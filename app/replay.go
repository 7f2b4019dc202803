package app

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/ledger"
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
// an answer, only how fast it comes. Its journal (below) lets a restarted
// node start with the set its last commit left.
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
	gone    []int64 // heights of the blocks let go since the last journal
}

type replayBlock struct {
	height int64
	latest time.Time // the latest stamp of the block's transactions
	ids    []uint32
}

// newReplayBlock is the block of height that spent ids (none: a block the
// set does not hold), whose latest stamp is latest.
func newReplayBlock(height int64, ids []string, latest time.Time) replayBlock {
	b := replayBlock{height: height, latest: latest}
	if len(ids) > 0 {
		b.ids = make([]uint32, len(ids))
		for i, id := range ids {
			b.ids[i] = idPrefix(id)
		}
	}
	return b
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

// commit records block b, committed at block time at, then evicts the
// blocks that no longer matter, and the oldest ones while over the cap.
func (r *replaySet) commit(at time.Time, b replayBlock, window time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.window != 0 && window > r.window && at.After(r.horizon) {
		r.horizon = at // what was evicted may matter again: start over
	}
	r.window = window
	r.add(b)
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
		r.gone = append(r.gone, b.height)
	}
	r.blocks = r.blocks[n:]
}

// add holds block b (none: no ids).
func (r *replaySet) add(b replayBlock) {
	if len(b.ids) == 0 {
		return
	}
	for _, p := range b.ids {
		r.ids[p]++
	}
	r.blocks = append(r.blocks, b)
	r.size += len(b.ids)
}

// The replay set's journal, in the aside index beside the spent-id index:
// one record for each block the set holds (rpb/<height>: the block's
// latest stamp, then its id prefixes, 4 bytes each) and the set's horizon
// and window (rps: the height of the block whose Commit wrote it, the
// horizon, the window). Without it a restarted node would defer every
// check to the index on disk for a window (5-6 % of a validator's CPU under
// load, docs/performance.md). Like the set, the journal changes no answer:
// a record missing sends more checks to the index, and one that cannot be
// trusted is dropped at start. Snapshots do not carry it; a node that
// joined by state sync starts from the latest stamp, as before it.
var (
	replayBlockPrefix = []byte("rpb/")
	keyReplayState    = []byte("rps")
)

func replayBlockKey(height int64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(replayBlockPrefix), uint64(height))
}

// journal returns what Commit writes to the aside index with the block b
// it commits, in one batch with b's spent ids: b's record, the set's
// horizon and window as the last commit left them, and the deletion of
// the records of the blocks it let go. On disk the set is then the one of
// the last commit plus b, which is what it is in memory after b commits,
// less the blocks b's commit lets go: a superset, which is sound.
func (r *replaySet) journal(b replayBlock) (sets []ledger.AsidePair, deletes [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	state := binary.BigEndian.AppendUint64(make([]byte, 0, 24), uint64(b.height))
	state = binary.BigEndian.AppendUint64(state, uint64(unixNano(r.horizon)))
	state = binary.BigEndian.AppendUint64(state, uint64(r.window))
	sets = append(sets, ledger.AsidePair{Key: keyReplayState, Value: state})
	if len(b.ids) > 0 {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+4*len(b.ids)), uint64(unixNano(b.latest)))
		for _, p := range b.ids {
			v = binary.BigEndian.AppendUint32(v, p)
		}
		sets = append(sets, ledger.AsidePair{Key: replayBlockKey(b.height), Value: v})
	}
	for _, h := range r.gone {
		deletes = append(deletes, replayBlockKey(h))
	}
	r.gone = r.gone[:0]
	return sets, deletes
}

// loadReplaySet returns the set the journal of s recorded for its last
// commit, of height last, or, when there is none to trust (a store that never wrote one,
// a restored snapshot, one rolled back past it), an empty set that sends
// everything stamped up to latest to the index. It deletes the records it
// does not use.
func loadReplaySet(s *ledger.Store, last int64, latest time.Time, max int) (*replaySet, error) {
	r := newReplaySet(latest, max)
	state, err := s.GetAside(keyReplayState)
	if err != nil {
		return nil, err
	}
	// A crash between the journal's batch and the commit leaves the
	// journal of the next height, which recorded the set of this one.
	trusted := len(state) == 24 && last > 0
	if trusted {
		h := int64(binary.BigEndian.Uint64(state))
		trusted = h == last || h == last+1
	}
	if trusted {
		r.horizon = fromUnixNano(int64(binary.BigEndian.Uint64(state[8:])))
		r.window = time.Duration(binary.BigEndian.Uint64(state[16:]))
	}
	var drop [][]byte
	if err := s.ScanAside(replayBlockPrefix, ledger.PrefixEnd(replayBlockPrefix), func(k, v []byte) bool {
		ok := trusted && len(k) == len(replayBlockPrefix)+8 && len(v) >= 8 && (len(v)-8)%4 == 0
		h := int64(0)
		if ok {
			h = int64(binary.BigEndian.Uint64(k[len(replayBlockPrefix):]))
			ok = h <= last
		}
		if !ok {
			drop = append(drop, k)
			return true
		}
		b := replayBlock{height: h, latest: fromUnixNano(int64(binary.BigEndian.Uint64(v))), ids: make([]uint32, (len(v)-8)/4)}
		for i := range b.ids {
			b.ids[i] = binary.BigEndian.Uint32(v[8+4*i:])
		}
		r.add(b)
		return true
	}); err != nil {
		return nil, err
	}
	if len(drop) > 0 {
		if err := s.DeleteAside(drop); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano reverses unixNano.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

package app

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
)

// The spent-id commitment. The spent-id index lies beside the trees
// (ADR 0006), so the app hash does not cover it; a node that joins by state
// sync would take the serving peer's word for it. Every block that spends
// ids therefore records in the system ledger an SM3 digest of them, each
// with its stamp (meta/spent/<height>), and deletes the records of blocks
// older than SpentIDRetention, whose ids can refuse nothing any more (the
// replay rule, state.go). A joiner checks the index a snapshot brought
// against these records, which the app hash covers (verifySpentIndex).
// ADR 0011.

var spentCommitPrefix = []byte("meta/spent/")

func spentCommitKey(height int64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(spentCommitPrefix), uint64(height))
}

// spentRecord is what a block's spent-id commitment holds.
type spentRecord struct {
	Time   int64  `json:"time"`   // the block's time, Unix nanoseconds
	Count  uint64 `json:"count"`  // ids the block spent
	Digest []byte `json:"digest"` // spentDigest of them
}

// spentDigest is SM3 over the ids in ascending order, each as its 32 bytes
// followed by its stamp (Unix nanoseconds, 8 bytes big-endian).
func spentDigest(ids []string, stamp func(i int) int64) ([]byte, error) {
	buf := make([]byte, 0, len(ids)*(gmcrypto.HashSize+8))
	for i, id := range ids {
		b, err := hex.DecodeString(id)
		if err != nil || len(b) != gmcrypto.HashSize {
			return nil, fmt.Errorf("spent id %q: want %d hex digits", id, 2*gmcrypto.HashSize)
		}
		buf = binary.BigEndian.AppendUint64(append(buf, b...), uint64(stamp(i)))
	}
	d := gmcrypto.SM3(buf)
	return d[:], nil
}

// commitSpent records the commitment of the ids the block of height spent
// (ids sorted; none: no record) and deletes the records of blocks older
// than SpentIDRetention before at.
func commitSpent(kv ledger.KV, height int64, at time.Time, ids []string, spent map[string]spend) error {
	cutoff := at.Add(-SpentIDRetention).UnixNano()
	var old [][]byte
	end := spentCommitKey(height)
	if err := kv.Iterate(permission.SystemLedger, spentCommitPrefix, end, func(k, v []byte) bool {
		var r spentRecord
		if ledger.Decode(v, &r) != nil || r.Time >= cutoff {
			return false // a record is never unreadable; records are in time order
		}
		old = append(old, bytes.Clone(k))
		return true
	}); err != nil {
		return err
	}
	for _, k := range old {
		if err := kv.Delete(permission.SystemLedger, k); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	d, err := spentDigest(ids, func(i int) int64 { return spent[ids[i]].stamp.UnixNano() })
	if err != nil {
		return err
	}
	b, err := ledger.Encode(spentRecord{Time: at.UnixNano(), Count: uint64(len(ids)), Digest: d})
	if err != nil {
		return err
	}
	return kv.Set(permission.SystemLedger, end, b)
}

// ErrSpentIndex: the spent-id records a snapshot brought do not match the
// commitments in its state.
var ErrSpentIndex = fmt.Errorf("the snapshot's spent-id index does not match its state's commitments")

// verifySpentIndex checks, on a store just restored from a snapshot, the
// spent-id index the snapshot brought against the commitments in its
// state: every committed block's ids and stamps must be there, exactly.
// Records of blocks with no commitment (older than the retention, so
// deciding nothing) are deleted, as is the time index the peer kept; byTime
// rebuilds it from the commitments' block times. The latest stamp is
// recomputed from what was verified.
func verifySpentIndex(s *ledger.Store, byTime bool) error {
	v, err := s.View(0)
	if err != nil {
		return err
	}
	committed := map[int64]spentRecord{}
	var heights []int64
	var decodeErr error
	if err := v.Iterate(permission.SystemLedger, spentCommitPrefix, ledger.PrefixEnd(spentCommitPrefix), func(k, val []byte) bool {
		var r spentRecord
		if len(k) != len(spentCommitPrefix)+8 {
			decodeErr = fmt.Errorf("spent-id commitment key %x", k)
			return false
		}
		if decodeErr = ledger.Decode(val, &r); decodeErr != nil {
			return false
		}
		h := int64(binary.BigEndian.Uint64(k[len(spentCommitPrefix):]))
		committed[h] = r
		heights = append(heights, h)
		return true
	}); err != nil {
		return err
	}
	if decodeErr != nil {
		return decodeErr
	}
	type rec struct {
		id    string
		stamp int64
	}
	byHeight := map[int64][]rec{}
	var drop [][]byte
	if err := s.ScanAside(txKey(""), ledger.PrefixEnd(txKey("")), func(k, val []byte) bool {
		id := string(k[len(txKey("")):])
		if len(val) == 16 && validTxID(id) {
			h := int64(binary.BigEndian.Uint64(val))
			if _, ok := committed[h]; ok {
				byHeight[h] = append(byHeight[h], rec{id, int64(binary.BigEndian.Uint64(val[8:]))})
				return true
			}
		}
		drop = append(drop, bytes.Clone(k))
		return true
	}); err != nil {
		return err
	}
	if err := s.ScanAside(spentTimePrefix, ledger.PrefixEnd(spentTimePrefix), func(k, _ []byte) bool {
		drop = append(drop, bytes.Clone(k))
		return true
	}); err != nil {
		return err
	}
	var latest int64
	var pairs []ledger.AsidePair
	for _, h := range heights {
		r, recs := committed[h], byHeight[h]
		if uint64(len(recs)) != r.Count {
			return fmt.Errorf("%w: height %d spent %d ids, the snapshot lists %d", ErrSpentIndex, h, r.Count, len(recs))
		}
		slices.SortFunc(recs, func(a, b rec) int { return strings.Compare(a.id, b.id) })
		ids := make([]string, len(recs))
		for i, x := range recs {
			ids[i] = x.id
			latest = max(latest, x.stamp)
			if byTime {
				pairs = append(pairs, ledger.AsidePair{Key: spentTimeKey(time.Unix(0, r.Time), x.id)})
			}
		}
		d, err := spentDigest(ids, func(i int) int64 { return recs[i].stamp })
		if err != nil {
			return err
		}
		if !bytes.Equal(d, r.Digest) {
			return fmt.Errorf("%w: the ids or stamps of height %d differ", ErrSpentIndex, h)
		}
	}
	// A replay set's journal is its node's own: without its state record
	// any the snapshot brought is untrusted, and loadReplaySet drops it.
	if err := s.DeleteAside(append(drop, keyLatestStamp, keyReplayState)); err != nil {
		return err
	}
	if latest != 0 {
		pairs = append(pairs, ledger.AsidePair{Key: keyLatestStamp, Value: binary.BigEndian.AppendUint64(nil, uint64(latest))})
	}
	if len(pairs) == 0 {
		return nil
	}
	return s.WriteAside(pairs)
}

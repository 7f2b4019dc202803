package regulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	badger "github.com/dgraph-io/badger/v4"
)

// How a block's index reaches Badger.
//
// Badger refuses a transaction beyond ~15% of a memtable (ErrTxnTooBig:
// about 9.6 MB or 100k entries at 64 MB), and a full 4 MiB block of
// transfers writes more than that. A block whose writes fit in one
// transaction is committed in one, with its height, as before. A larger
// block goes through a redo log:
//
//  1. its whole write set is stored, encoded, under rd/ (in transactions
//     that each fit), then the marker m/redo = height ‖ pieces;
//  2. the writes are applied in chunks that each fit;
//  3. one last transaction sets m/last to the height and deletes the redo
//     log and its marker.
//
// A crash before the marker leaves the index as it was (the rd/ pieces are
// dropped on open and the block is indexed again); a crash after it leaves
// a complete redo log, which OpenIndexWith (or the next ApplyBlock) applies
// again — applying writes is idempotent — before it finishes step 3. So
// the index is never left holding part of a block, and the result is the
// same as a one-transaction commit. Readers of the API may see a large
// block's entries while its chunks are applied, before m/last moves.

// writeSet is a block's writes: key → value, nil for a delete.
type writeSet map[string][]byte

type writeOp struct {
	key, val []byte
	del      bool
}

// ops returns the writes in key order (so chunks and redo logs are the
// same on every observer).
func (w writeSet) ops() []writeOp {
	out := make([]writeOp, 0, len(w))
	for k, v := range w {
		out = append(out, writeOp{key: []byte(k), val: v, del: v == nil})
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].key) < string(out[j].key) })
	return out
}

// opSize is what Badger counts for one write (txn.checkSize), rounded up.
func opSize(o writeOp) int64 { return int64(len(o.key)+len(o.val)) + 16 }

// redoPiece bounds one stored piece of a redo log, below Badger's value
// threshold so that in-memory and on-disk indexes store it alike.
const redoPiece = 256 << 10

// chunkLimits are the most writes and bytes one of our transactions
// holds: half of what Badger allows, for headroom.
func (ix *Index) chunkLimits() (count int, size int64) {
	count, size = int(ix.db.MaxBatchCount()/2), ix.db.MaxBatchSize()/2
	if ix.chunkOps > 0 {
		count = ix.chunkOps
	}
	if ix.chunkBytes > 0 {
		size = ix.chunkBytes
	}
	return count, size
}

// chunks splits ops into runs that each fit one transaction, leaving room
// for reserve more writes in the last one.
func (ix *Index) chunks(ops []writeOp) [][]writeOp {
	maxCount, maxSize := ix.chunkLimits()
	var out [][]writeOp
	start, size := 0, int64(0)
	for i, o := range ops {
		if i > start && (i-start >= maxCount || size+opSize(o) > maxSize) {
			out = append(out, ops[start:i])
			start, size = i, 0
		}
		size += opSize(o)
	}
	return append(out, ops[start:])
}

// failpoint lets tests stop a chunked commit at a stage, as a crash would.
func (ix *Index) failpoint(stage string, n int) error {
	if ix.fail == nil {
		return nil
	}
	return ix.fail(stage, n)
}

func writeOps(txn *badger.Txn, ops []writeOp) error {
	for _, o := range ops {
		var err error
		if o.del {
			err = txn.Delete(o.key)
		} else {
			err = txn.Set(o.key, o.val)
		}
		if err != nil {
			return fmt.Errorf("write %q: %w", o.key, err)
		}
	}
	return nil
}

// commitBlock stores a block's writes and then its height.
func (ix *Index) commitBlock(height int64, ops []writeOp) error {
	setLast := writeOp{key: []byte(keyLast), val: u64(uint64(height))}
	if cs := ix.chunks(append(ops, setLast)); len(cs) == 1 {
		return ix.db.Update(func(txn *badger.Txn) error { return writeOps(txn, cs[0]) })
	}
	// 1. The redo log, then its marker.
	enc := encodeOps(ops)
	var pieces []writeOp
	for i := 0; len(enc) > 0; i++ {
		n := min(redoPiece, len(enc))
		pieces = append(pieces, writeOp{key: cat(prefixRedo, binary.BigEndian.AppendUint32(nil, uint32(i))), val: enc[:n]})
		enc = enc[n:]
	}
	for i, c := range ix.chunks(pieces) {
		if err := ix.db.Update(func(txn *badger.Txn) error { return writeOps(txn, c) }); err != nil {
			return fmt.Errorf("redo log: %w", err)
		}
		if err := ix.failpoint("redo", i); err != nil {
			return err
		}
	}
	marker := binary.BigEndian.AppendUint32(u64(uint64(height)), uint32(len(pieces)))
	if err := ix.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyRedo), marker) }); err != nil {
		return fmt.Errorf("redo marker: %w", err)
	}
	if err := ix.failpoint("marker", 0); err != nil {
		return err
	}
	// 2 and 3.
	return ix.applyRedo(height, len(pieces), ops)
}

// applyRedo writes ops in chunks, then the height, dropping the redo log.
func (ix *Index) applyRedo(height int64, pieces int, ops []writeOp) error {
	for i, c := range ix.chunks(ops) {
		if err := ix.db.Update(func(txn *badger.Txn) error { return writeOps(txn, c) }); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		if err := ix.failpoint("apply", i); err != nil {
			return err
		}
	}
	return ix.db.Update(func(txn *badger.Txn) error {
		for i := range pieces {
			if err := txn.Delete(cat(prefixRedo, binary.BigEndian.AppendUint32(nil, uint32(i)))); err != nil {
				return err
			}
		}
		if err := txn.Delete([]byte(keyRedo)); err != nil {
			return err
		}
		return txn.Set([]byte(keyLast), u64(uint64(height)))
	})
}

// recoverRedo finishes a block whose chunked commit stopped after its
// redo log was complete, and drops the pieces of one that stopped before.
func (ix *Index) recoverRedo() error {
	var marker []byte
	var stray [][]byte
	err := ix.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyRedo))
		if err == nil {
			marker, err = it.ValueCopy(nil)
			return err
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		iter := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixRedo)})
		defer iter.Close()
		for iter.Rewind(); iter.Valid(); iter.Next() {
			stray = append(stray, iter.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("regulator index: read redo log: %w", err)
	}
	if marker == nil {
		if len(stray) == 0 {
			return nil
		}
		return ix.db.Update(func(txn *badger.Txn) error {
			for _, k := range stray {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if len(marker) != 12 {
		return fmt.Errorf("regulator index: corrupt redo marker (%d bytes)", len(marker))
	}
	height, pieces := int64(binary.BigEndian.Uint64(marker)), int(binary.BigEndian.Uint32(marker[8:]))
	var enc []byte
	err = ix.db.View(func(txn *badger.Txn) error {
		if last, _, err := getU64(txn, []byte(keyLast)); err != nil || int64(last) != height-1 {
			return fmt.Errorf("redo log of block %d over an index at height %d: %v", height, last, err)
		}
		for i := range pieces {
			it, err := txn.Get(cat(prefixRedo, binary.BigEndian.AppendUint32(nil, uint32(i))))
			if err != nil {
				return fmt.Errorf("redo piece %d of %d: %w", i, pieces, err)
			}
			if err := it.Value(func(v []byte) error { enc = append(enc, v...); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("regulator index: %w", err)
	}
	ops, err := decodeOps(enc)
	if err != nil {
		return fmt.Errorf("regulator index: redo log of block %d: %w", height, err)
	}
	if err := ix.applyRedo(height, pieces, ops); err != nil {
		return fmt.Errorf("regulator index: finish block %d from its redo log: %w", height, err)
	}
	return nil
}

// encodeOps: per write, uvarint(len key) ‖ key ‖ kind (0 set, 1 delete)
// ‖ uvarint(len value) ‖ value.
func encodeOps(ops []writeOp) []byte {
	var b []byte
	for _, o := range ops {
		b = binary.AppendUvarint(b, uint64(len(o.key)))
		b = append(b, o.key...)
		if o.del {
			b = append(b, 1)
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(o.val)))
		b = append(b, o.val...)
	}
	return b
}

func decodeOps(b []byte) ([]writeOp, error) {
	var out []writeOp
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errors.New("truncated")
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	for len(b) > 0 {
		key, err := field()
		if err != nil || len(b) == 0 || b[0] > 1 {
			return nil, fmt.Errorf("write %d: bad encoding", len(out))
		}
		del := b[0] == 1
		b = b[1:]
		val, err := field()
		if err != nil {
			return nil, fmt.Errorf("write %d: %w", len(out), err)
		}
		o := writeOp{key: key, del: del}
		if !del {
			o.val = val
		}
		out = append(out, o)
	}
	return out, nil
}

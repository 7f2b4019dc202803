package regulator

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// What the SQL sink reads from the index: every reader here sees one
// snapshot and only heights up to LastHeight (a large block's chunks may
// be in the index before its height is).

// BlockTime is the consensus time of indexed block h; ok is false for a
// block indexed before the index kept block times (the sink then asks the
// node).
func (ix *Index) BlockTime(h int64) (t time.Time, ok bool, err error) {
	err = ix.db.View(func(txn *badger.Txn) error {
		var v uint64
		v, ok, err = getU64(txn, cat(prefixBlockT, u64(uint64(h))))
		t = time.Unix(0, int64(v)).UTC()
		return err
	})
	return t, ok, err
}

// heightOfPos is the height in a pos key.
func heightOfPos(pos []byte) int64 { return int64(binary.BigEndian.Uint64(pos[:8])) }

// movementCounts calls fn with the number of movements of each height in
// [from, to] that has any, in height order, until fn returns false. It
// reads keys only.
func (ix *Index) movementCounts(from, to int64, fn func(h int64, n int) bool) error {
	return ix.db.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixMove)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		cur, n := int64(-1), 0
		for it.Seek(cat(prefix, posKey(from, 0, 0))); it.Valid(); it.Next() {
			h := heightOfPos(it.Item().Key()[len(prefix):])
			if h > to {
				break
			}
			if h != cur && n > 0 {
				if !fn(cur, n) {
					return nil
				}
				n = 0
			}
			cur = h
			n++
		}
		if n > 0 {
			fn(cur, n)
		}
		return nil
	})
}

// eachMovement calls fn with every movement of heights [from, to], in
// block order, and the memo of its transaction.
func (ix *Index) eachMovement(from, to int64, fn func(e *Entry, memo string) error) error {
	return ix.db.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixMove)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		var memoOf, memo string
		for it.Seek(cat(prefix, posKey(from, 0, 0))); it.Valid(); it.Next() {
			if heightOfPos(it.Item().Key()[len(prefix):]) > to {
				break
			}
			var e Entry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("movement %x: %w", it.Item().Key(), err)
			}
			if e.TxID != memoOf {
				var tx Tx
				if _, err := getJSON(txn, cat(prefixTx, e.TxID), &tx); err != nil {
					return fmt.Errorf("tx %s: %w", e.TxID, err)
				}
				memoOf, memo = e.TxID, tx.Memo
			}
			if err := fn(&e, memo); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachAlert calls fn with every alert raised at heights [from, to], in
// raise order (seq order, which is height order).
func (ix *Index) eachAlert(from, to int64, fn func(a *Alert) error) error {
	return ix.db.View(func(txn *badger.Txn) error {
		top, _, err := getU64(txn, []byte(keyAlertSeq))
		if err != nil {
			return err
		}
		// The first seq raised at from or later.
		lo, hi := uint64(1), top+1
		for lo < hi {
			mid := lo + (hi-lo)/2
			var a Alert
			ok, err := getJSON(txn, cat(prefixAlert, u64(mid)), &a)
			if err != nil {
				return err
			}
			if ok && a.Height < from {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		prefix := []byte(prefixAlert)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(cat(prefix, u64(lo))); it.Valid() && bytes.HasPrefix(it.Item().Key(), prefix); it.Next() {
			var a Alert
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return fmt.Errorf("alert %x: %w", it.Item().Key(), err)
			}
			if a.Height > to {
				break
			}
			if err := fn(&a); err != nil {
				return err
			}
		}
		return nil
	})
}

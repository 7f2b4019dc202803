package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// asidePrefix holds the aside index: node-local records beside the trees,
// in the same database but outside the Merkle trees and so outside the app
// hash. The app keeps there what every node derives alike from the blocks
// but that would cost too much to hash into a tree, such as the height at
// which each transaction id was spent.
var asidePrefix = []byte("a/")

func asideKey(key []byte) []byte { return append(slices.Clone(asidePrefix), key...) }

// AsidePair is one record of the aside index.
type AsidePair struct{ Key, Value []byte }

// UpdateAside writes and deletes records of the aside index at once (one
// batch), outside the working set: Rollback does not undo them and they
// are durable with the next Commit's sync. Callers that need them to
// follow commits put the height in the value and ignore records of
// heights past LastCommit, which a crash between UpdateAside and Commit
// can leave behind.
func (s *Store) UpdateAside(pairs []AsidePair, deletes [][]byte) error {
	sets := make([]AsidePair, len(pairs))
	for i, p := range pairs {
		if len(p.Key) == 0 {
			return fmt.Errorf("aside index: %w", ErrEmptyKey)
		}
		sets[i] = AsidePair{Key: asideKey(p.Key), Value: slices.Clone(p.Value)}
	}
	raw := make([][]byte, len(deletes))
	for i, k := range deletes {
		raw[i] = asideKey(k)
	}
	if err := s.writeBatch(sets, raw); err != nil {
		return fmt.Errorf("aside index: %w", err)
	}
	return nil
}

// WriteAside writes records to the aside index (UpdateAside).
func (s *Store) WriteAside(pairs []AsidePair) error { return s.UpdateAside(pairs, nil) }

// GetAside returns the aside record of key, or nil.
func (s *Store) GetAside(key []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(asideKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = valueOf(item)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("aside index: %w", err)
	}
	return out, nil
}

// DeleteAside deletes the aside records of keys (UpdateAside).
func (s *Store) DeleteAside(keys [][]byte) error { return s.UpdateAside(nil, keys) }

// writeBatch sets and deletes Badger keys (not tree keys) in one batch,
// outside the working set.
func (s *Store) writeBatch(sets []AsidePair, deletes [][]byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	return s.writeBatchLocked(sets, deletes)
}

// writeBatchLocked is writeBatch for a caller that holds s.mu.
func (s *Store) writeBatchLocked(sets []AsidePair, deletes [][]byte) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, p := range sets {
		if err := wb.Set(p.Key, p.Value); err != nil {
			return err
		}
	}
	for _, k := range deletes {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// ScanAside calls fn with the keys (without the aside prefix) and values
// of the records in [start, end), in key order, until fn returns false.
func (s *Store) ScanAside(start, end []byte, fn func(key, value []byte) bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	lo, hi := asideKey(start), asideKey(end)
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Seek(lo); it.Valid() && bytes.Compare(it.Item().Key(), hi) < 0; it.Next() {
			v, err := valueOf(it.Item())
			if err != nil {
				return err
			}
			if !fn(it.Item().KeyCopy(nil)[len(asidePrefix):], v) {
				return nil
			}
		}
		return nil
	})
}

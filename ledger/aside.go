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

// WriteAside writes records to the aside index at once, outside the
// working set: Rollback does not undo them and they are durable with the
// next Commit's sync. Callers that need them to follow commits put the
// height in the value and ignore records of heights past LastCommit, which a
// crash between WriteAside and Commit can leave behind.
func (s *Store) WriteAside(pairs []AsidePair) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, p := range pairs {
		if len(p.Key) == 0 {
			return fmt.Errorf("aside index: %w", ErrEmptyKey)
		}
		if err := wb.Set(asideKey(p.Key), slices.Clone(p.Value)); err != nil {
			return fmt.Errorf("aside index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("aside index: %w", err)
	}
	return nil
}

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
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("aside index: %w", err)
	}
	return out, nil
}

// DeleteAsideRange deletes the aside records whose keys lie in
// [start, end) and returns how many it deleted. Like WriteAside it is
// outside the working set and durable with the next Commit's sync.
func (s *Store) DeleteAsideRange(start, end []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	lo, hi := asideKey(start), asideKey(end)
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(lo); it.Valid() && bytes.Compare(it.Item().Key(), hi) < 0; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("aside index: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return 0, fmt.Errorf("aside index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("aside index: %w", err)
	}
	return len(keys), nil
}

// DeleteAside deletes the aside records of keys.
func (s *Store) DeleteAside(keys [][]byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(asideKey(k)); err != nil {
			return fmt.Errorf("aside index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("aside index: %w", err)
	}
	return nil
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
			v, err := it.Item().ValueCopy(nil)
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

package ledger

import (
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

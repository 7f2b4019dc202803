package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// PruneTo deletes every tree's versions up to and including height, and
// their commit records, so that View of those heights fails with
// ErrHeightNotAvailable. Only the node's storage changes: the trees'
// later versions, and so every app hash, are untouched. The last commit
// always stays. It returns the lowest height still available.
//
// IAVL v1 deletes versions only as a prefix (MutableTree.DeleteVersionsTo),
// so a store keeps a contiguous range of recent heights. A version that a
// View is reading cannot be deleted: PruneTo then fails, changing nothing
// of that tree, and a later call deletes it.
func (s *Store) PruneTo(height int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	if height >= s.last.Height {
		return 0, fmt.Errorf("prune to height %d: the last commit (%d) must stay", height, s.last.Height)
	}
	if height < 1 {
		return s.firstAvailable()
	}
	for _, name := range s.names {
		// A tree whose first version is later (a ledger created since)
		// has nothing to delete.
		if err := s.trees[name].DeleteVersionsTo(height); err != nil {
			return 0, fmt.Errorf("prune ledger %s to height %d: %w", name, height, err)
		}
	}
	// The commit records of the pruned heights go last: a crash before
	// leaves records whose trees are gone, which View reports as not
	// available, and the next PruneTo deletes them.
	if err := s.deleteCommitRecordsTo(height); err != nil {
		return 0, err
	}
	s.kickValueLogGC()
	return s.firstAvailable()
}

// deleteCommitRecordsTo deletes the commit records of heights ≤ height.
func (s *Store) deleteCommitRecordsTo(height int64) error {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		end := commitKey(height + 1)
		for it.Seek(commitKeyPrefix); it.ValidForPrefix(commitKeyPrefix) && bytes.Compare(it.Item().Key(), end) < 0; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err == nil {
		err = s.writeBatchLocked(nil, keys)
	}
	if err != nil {
		return fmt.Errorf("prune commit records: %w", err)
	}
	return nil
}

// firstAvailable is the lowest height with a commit record.
func (s *Store) firstAvailable() (int64, error) {
	first := s.last.Height
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(commitKeyPrefix)
		if it.ValidForPrefix(commitKeyPrefix) {
			k := it.Item().Key()[len(commitKeyPrefix):]
			if len(k) == 8 {
				first = int64(binary.BigEndian.Uint64(k))
			}
		}
		return nil
	})
	return first, err
}

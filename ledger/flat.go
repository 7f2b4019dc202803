package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
)

// The flat index holds every key's value as of the last committed height,
// one Badger record per key, so that a read of the latest state is one
// Badger get instead of a walk of an IAVL tree from its root (about 20
// node fetches past the node cache at a million keys). It is outside the
// trees and so outside the app hash, like the aside index; it serves the
// working set's reads of keys the current block has not written and Views
// of the latest height. Iteration and Views of older heights read the trees.
//
//	f/<ledger>/<key>   key's value at the height m/flat names
//	m/flat             the committed height the index describes (8 bytes BE)
//
// The index is valid when m/flat equals m/latest. Commit keeps it so:
//
//  1. the trees are saved (IAVL's batches);
//  2. one WriteBatch deletes m/flat and writes m/flatwriting (the height
//     being committed), then applies the block's writes to f/ (it may
//     commit as several Badger transactions, in order);
//  3. one transaction writes the commit record, m/latest and m/flat, and
//     deletes m/flatwriting.
//
// Badger applies transactions in commit order and recovers a prefix of them
// after a crash, each whole or not at all. A crash before 2 leaves m/flat =
// m/latest = the previous height and the index untouched; a crash during or
// after 2 and before 3 leaves m/flat absent and m/flatwriting = m/latest + 1;
// after 3 both name the new height. Open trusts the index only when m/flat
// equals m/latest. After a crash in 2 it repairs it: every tree holds the
// unfinished height (step 1 was over), so the keys that height changed are
// the difference of the trees' last two versions, and only those records
// are written again, from the committed trees (a block's keys, not the
// state's). In every other case (no m/flat and no m/flatwriting of the next
// height: a database from before the index, or one whose index was turned
// off) Open rebuilds the index from the trees. So a stale index is never
// read. At height 0 the index is empty: Open clears any record a first
// Commit that did not finish left.
//
// Views read the index without the Store's lock while Commit writes it.
// flatHeight is the height the index describes, or -1 while Commit
// rewrites it: a reader checks it before and after its Badger get, and a
// value read while a Commit was writing fails the second check (flatHeight
// never returns to a height once it moved past it).
var (
	flatKeyPrefix  = []byte("f/")
	flatMarkerKey  = []byte("m/flat")
	flatWritingKey = []byte("m/flatwriting")
)

// flatMaxKeyLen: longer keys are not in the index (Badger refuses keys of
// more than 65,000 bytes, and long keys bloat its table indexes); their
// reads walk the tree, so they are answered right, only not faster.
const flatMaxKeyLen = 1024

func flatKey(ledger string, key []byte) []byte {
	k := make([]byte, 0, len(flatKeyPrefix)+len(ledger)+1+len(key))
	k = append(k, flatKeyPrefix...)
	k = append(k, ledger...)
	k = append(k, '/')
	return append(k, key...)
}

// flatGet reads key from the flat index if it describes height: ok is
// false when it does not (or the key is too long to be indexed), and the
// caller reads the tree. A nil value with ok is an absent key.
func (s *Store) flatGet(height int64, ledger string, key []byte) (value []byte, ok bool, err error) {
	if len(key) > flatMaxKeyLen || s.flatHeight.Load() != height {
		return nil, false, nil
	}
	if s.testHookFlatRead != nil {
		s.testHookFlatRead()
	}
	value, err = s.readFlatRecord(ledger, key)
	if err != nil {
		return nil, false, damaged(s.dir, fmt.Errorf("flat index: get from ledger %s: %w", ledger, err))
	}
	if s.flatHeight.Load() != height {
		return nil, false, nil // a Commit rewrote the index meanwhile
	}
	return value, true, nil
}

// readFlatRecord reads key's record f/<ledger>/<key> (the flat index's,
// or a bulk load's): nil when there is none, an empty slice for an empty
// value.
func (s *Store) readFlatRecord(ledger string, key []byte) (value []byte, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(flatKey(ledger, key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		value, err = valueOf(item)
		if value == nil {
			value = []byte{}
		}
		return err
	})
	return value, err
}

// writeFlat applies the block's writes (latestKeyOf → value, nil =
// deleted) to the flat index after deleting its marker (step 2 above).
// The writes' keys are distinct, so the map's order does not matter.
func (s *Store) writeFlat(height int64, writes map[string][]byte) error {
	s.flatHeight.Store(-1)
	if len(writes) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	if err := wb.Delete(flatMarkerKey); err != nil {
		return err
	}
	if err := wb.Set(flatWritingKey, binary.BigEndian.AppendUint64(nil, uint64(height))); err != nil {
		return err
	}
	for k, v := range writes {
		if len(k)-strings.IndexByte(k, '/')-1 > flatMaxKeyLen {
			continue
		}
		fk := append(append([]byte(nil), flatKeyPrefix...), k...)
		var err error
		if v == nil {
			err = wb.Delete(fk)
		} else {
			err = wb.Set(fk, v)
		}
		if err != nil {
			return err
		}
	}
	return wb.Flush()
}

// readFlatMarker returns the height m/flat names, 0 when absent.
func (s *Store) readFlatMarker() (int64, error) {
	return s.readHeightRecord(flatMarkerKey, "flat-index marker")
}

// unfinishedFlatWrite returns, when a Commit of the height after the
// committed one crashed while it wrote the flat index (step 2 above), the
// keys that height changed in each tree on disk; nil when there was no
// such crash, or when the changes cannot be read (Open then rebuilds the
// whole index). Called by load before it rolls the trees back to the
// committed height or drops the trees of ledgers that height created.
func (s *Store) unfinishedFlatWrite(height int64, names []string) (map[string][][]byte, error) {
	if s.opts.NoFlatIndex || height == 0 {
		return nil, nil
	}
	marker, err := s.readFlatMarker()
	if err != nil || marker != 0 {
		return nil, err
	}
	writing, err := s.readHeightRecord(flatWritingKey, "flat-index write marker")
	if err != nil || writing != height+1 {
		return nil, err
	}
	changed := map[string][][]byte{}
	for _, name := range names {
		tree := s.newTree(name)
		latest, err := tree.GetLatestVersion()
		if err != nil {
			return nil, fmt.Errorf("ledger %s: %w", name, err)
		}
		if latest != writing {
			return nil, nil // not what step 2 leaves: rebuild
		}
		var keys [][]byte
		err = tree.TraverseStateChanges(writing, writing, func(_ int64, cs *iavl.ChangeSet) error {
			for _, p := range cs.Pairs {
				keys = append(keys, p.Key)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("ledger %s: changes of version %d: %w", name, writing, err)
		}
		changed[name] = keys
	}
	return changed, nil
}

// repairFlat writes again, from the loaded trees, the index records of
// the keys an unfinished Commit changed (unfinishedFlatWrite), then the
// marker. A ledger that Commit created has no tree now: its records go.
func (s *Store) repairFlat(height int64, changed map[string][][]byte) error {
	start, n := time.Now(), 0
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	names := slices.Sorted(maps.Keys(changed)) // the order of the writes does not matter; the log's does
	for _, name := range names {
		tree := s.trees[name]
		for _, k := range changed[name] {
			if len(k) > flatMaxKeyLen {
				continue
			}
			var v []byte
			present := false
			if tree != nil {
				var err error
				if v, err = tree.Get(k); err != nil {
					return fmt.Errorf("ledger %s: %w", name, err)
				}
				if present = v != nil; !present {
					if present, err = tree.Has(k); err != nil {
						return fmt.Errorf("ledger %s: %w", name, err)
					}
				}
			}
			var err error
			if present {
				err = wb.Set(flatKey(name, k), append([]byte{}, v...))
			} else {
				err = wb.Delete(flatKey(name, k))
			}
			if err != nil {
				return err
			}
			n++
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(flatWritingKey); err != nil {
			return err
		}
		return txn.Set(flatMarkerKey, binary.BigEndian.AppendUint64(nil, uint64(height)))
	})
	if err == nil {
		s.flatRebuilt = FlatRebuild{Height: height, Keys: n, Took: time.Since(start), Repaired: true}
	}
	return err
}

// loadFlat makes the flat index describe the loaded height: as it is when
// its marker says so, repaired when changed (unfinishedFlatWrite) is not
// nil, else rebuilt from the trees; with the index off it removes a
// left-over one. Called by load, before the Store is shared.
func (s *Store) loadFlat(changed map[string][][]byte) error {
	s.flatHeight.Store(-1)
	height := s.last.Height
	marker, err := s.readFlatMarker()
	if err != nil {
		return fmt.Errorf("flat index: %w", err)
	}
	if !s.opts.NoFlatIndex && height > 0 && marker == height {
		s.flatHeight.Store(height)
		return nil
	}
	if changed != nil && !s.opts.NoFlatIndex && height > 0 {
		if err := s.repairFlat(height, changed); err != nil {
			return fmt.Errorf("flat index: repair at height %d: %w", height, err)
		}
		s.flatHeight.Store(height)
		return nil
	}
	if err := s.clearFlat(); err != nil {
		return fmt.Errorf("flat index: clear: %w", err)
	}
	if s.opts.NoFlatIndex {
		return nil
	}
	if height > 0 {
		if err := s.rebuildFlat(height); err != nil {
			return fmt.Errorf("flat index: rebuild at height %d: %w", height, err)
		}
	}
	s.flatHeight.Store(height)
	return nil
}

// clearFlat deletes the marker, then every record of the index.
func (s *Store) clearFlat() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(flatWritingKey); err != nil {
			return err
		}
		return txn.Delete(flatMarkerKey)
	})
	if err != nil {
		return err
	}
	found := false
	err = s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = flatKeyPrefix
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(flatKeyPrefix)
		found = it.ValidForPrefix(flatKeyPrefix)
		return nil
	})
	if err != nil || !found {
		return err
	}
	return s.db.DropPrefix(flatKeyPrefix)
}

// rebuildFlat writes every key of every tree at height (the loaded working
// trees, which hold no writes yet) into the cleared index, then its marker.
func (s *Store) rebuildFlat(height int64) error {
	start, keys := time.Now(), 0
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, name := range s.names {
		it, err := s.trees[name].Iterator(nil, nil, true)
		if err != nil {
			return fmt.Errorf("ledger %s: %w", name, err)
		}
		for ; it.Valid(); it.Next() {
			if len(it.Key()) > flatMaxKeyLen {
				continue
			}
			if err := wb.Set(flatKey(name, it.Key()), it.Value()); err != nil {
				_ = it.Close()
				return err
			}
			keys++
		}
		err = it.Error()
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("ledger %s: %w", name, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(flatMarkerKey, binary.BigEndian.AppendUint64(nil, uint64(height)))
	})
	if err == nil {
		s.flatRebuilt = FlatRebuild{Height: height, Keys: keys, Took: time.Since(start)}
	}
	return err
}

// FlatRebuild says that opening (or restoring) the store rebuilt the flat
// index from the trees (docs/operations.md): at its first start after the
// upgrade that added it, or when its index had been turned off; or that
// it repaired the index (Repaired), writing again the Keys of a Commit
// that a crash interrupted while it wrote the index.
type FlatRebuild struct {
	Height   int64
	Keys     int
	Took     time.Duration
	Repaired bool
}

// FlatRebuilt is the last rebuild of the flat index since the store was
// opened; Keys is 0 when there was none.
func (s *Store) FlatRebuilt() FlatRebuild { return s.flatRebuilt }

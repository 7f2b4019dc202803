package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
)

// A bulk load writes a large genesis (millions of generated accounts) to
// Badger instead of holding it in the working trees, whose nodes stay in
// memory until the first Commit saves them: about 1.7 KB an account, 17 GB
// for ten million (docs/adr/0021-bulk-genesis.md).
//
// While BulkLoad runs, before the first commit, a Set of a key that the
// working set does not hold writes the key's record of the flat index
// (f/<ledger>/<key>, flat.go) instead of the working tree, through a
// bounded buffer; the ledger becomes a bulk ledger. Until the first Commit
// the working state of a bulk ledger is its bulk records overlaid with the
// working set's writes (pending; they win, a delete included). Reads,
// iteration and WorkingHash read that overlay from Badger. The first Commit
// saves a bulk ledger as version 1 through IAVL's importer: the balanced
// tree of its keys in order (bulkBuilder), left half rounded up. Its flat
// index records are already in place; Commit applies the block's writes
// over them as for any height. Every other ledger is saved as always.
//
// Crash safety is the flat index's: before the first commit record, m/flat
// is absent and m/latest is 0, so Open clears every f/ record (and drops
// the trees of ledgers no commit record names); InitChain runs again and
// writes them again.
//
// A bulk ledger's shape at height 1 is a pure function of its keys and
// values, so every node that applies the same genesis gets the same root.
// It is not the shape the same writes get through the working tree, so a
// genesis that uses a bulk load has another app hash than it had before.

// bulkBufferMax bounds the bulk records held in memory before they are
// written to Badger (with their keys and values, a few tens of MB).
const bulkBufferMax = 1 << 17

// ErrBulkLoad: BulkLoad was called after the first commit or inside
// another bulk load, or a bulk ledger was iterated during one.
var ErrBulkLoad = errors.New("bulk load")

// BulkLoad runs fn with the Store in bulk mode (see above): fn's Sets of
// keys the working set does not hold go to Badger, not to the working
// trees. It may only run before the first commit. When fn fails, the
// caller rolls the store back (Rollback drops the bulk records).
func (s *Store) BulkLoad(fn func() error) error {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.last.Height != 0 || s.bulk {
		h := s.last.Height
		s.mu.Unlock()
		return fmt.Errorf("%w: only one at a time, before the first commit (height %d)", ErrBulkLoad, h)
	}
	s.bulk, s.bulkBuf = true, map[string][]byte{}
	if s.bulkLedgers == nil {
		s.bulkLedgers, s.bulkRoots = map[string]bool{}, map[string][]byte{}
	}
	s.mu.Unlock()

	err := fn()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulk = false
	if s.closed.Load() {
		return errors.Join(err, ErrClosed)
	}
	if ferr := s.flushBulk(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("write bulk records: %w", ferr))
	}
	s.bulkBuf = nil
	return err
}

// BulkLoaded reports whether the working set holds bulk records (a bulk
// load ran and the first commit has not yet saved it). Written does not
// list them: a cache that follows the state by its writes must start over.
func (s *Store) BulkLoaded() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.bulkLedgers) > 0
}

// setBulk writes key=value as a bulk record when the Store is in bulk mode
// and the working set does not hold the key; ok is false otherwise (the
// caller writes the working tree). Under s.mu.
func (s *Store) setBulk(ledger string, key, value []byte) (ok bool, err error) {
	if !s.bulk || len(key) > flatMaxKeyLen {
		return false, nil
	}
	k := latestKeyOf(ledger, key)
	if _, held := s.pending[k]; held {
		return false, nil
	}
	if _, err := s.tree(ledger); err != nil {
		return true, err
	}
	s.bulkBuf[k] = append([]byte{}, value...)
	s.bulkLedgers[ledger] = true
	delete(s.bulkRoots, ledger)
	if len(s.bulkBuf) >= bulkBufferMax {
		return true, s.flushBulk()
	}
	return true, nil
}

// flushBulk writes the buffered bulk records to Badger (distinct keys, so
// the map's order does not matter). Under s.mu.
func (s *Store) flushBulk() error {
	if len(s.bulkBuf) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for k, v := range s.bulkBuf {
		if err := wb.Set(append(append([]byte(nil), flatKeyPrefix...), k...), v); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	clear(s.bulkBuf)
	return nil
}

// getBulk reads key of a bulk ledger that the working set has not
// written: the buffer, then Badger. Under s.mu (read).
func (s *Store) getBulk(ledger string, key []byte) ([]byte, error) {
	if v, ok := s.bulkBuf[latestKeyOf(ledger, key)]; ok {
		return v, nil
	}
	value, err := s.readFlatRecord(ledger, key)
	if err != nil {
		return nil, damaged(s.dir, fmt.Errorf("bulk records: get from ledger %s: %w", ledger, err))
	}
	return value, nil
}

// dropBulk forgets the bulk records and deletes them (with the rest of the
// flat index, which holds nothing else before the first commit).
func (s *Store) dropBulk() error {
	had := len(s.bulkLedgers) > 0
	s.bulk, s.bulkBuf, s.bulkLedgers, s.bulkRoots = false, nil, nil, nil
	if !had {
		return nil
	}
	return s.clearFlat()
}

// bulkIter iterates the working state of a bulk ledger in [start, end):
// the working tree (which holds exactly the working set's live writes to
// the ledger, since the ledger was created in this block) merged with the
// ledger's bulk records that the working set did not write.
type bulkIter struct {
	s      *Store
	ledger string
	tree   corestore.Iterator
	txn    *badger.Txn
	it     *badger.Iterator
	prefix []byte // f/<ledger>/
	end    []byte // full Badger key bound, nil: the prefix's end
	k, v   []byte
	valid  bool
	err    error
	read   int // records read through the current Badger transaction
}

func (s *Store) newBulkIter(ledger string, start, end []byte) (*bulkIter, error) {
	if s.bulk {
		return nil, fmt.Errorf("%w: ledger %s cannot be iterated during one", ErrBulkLoad, ledger)
	}
	t, err := s.tree(ledger)
	if err != nil {
		return nil, err
	}
	ti, err := t.Iterator(start, end, true)
	if err != nil {
		return nil, err
	}
	b := &bulkIter{s: s, ledger: ledger, tree: ti, prefix: flatKey(ledger, nil)}
	if end != nil {
		b.end = flatKey(ledger, end)
	}
	b.open(flatKey(ledger, start))
	b.skipWritten()
	b.next()
	return b, nil
}

// bulkIterChunk is how many records one Badger transaction of a bulkIter
// reads before the iterator moves to a new one. Badger keeps the conflict
// keys of every transaction committed after the oldest read transaction
// still open: one transaction open for a whole import (millions of node
// writes) held gigabytes of them.
var bulkIterChunk = 1 << 14 // a variable for tests

// open starts a Badger transaction and iterator at key.
func (b *bulkIter) open(key []byte) {
	b.txn = b.s.db.NewTransaction(false)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = b.prefix
	b.it = b.txn.NewIterator(opts)
	b.it.Seek(key)
	b.read = 0
}

// advance moves the Badger iterator to the next record, through a new
// transaction every bulkIterChunk records.
func (b *bulkIter) advance() {
	b.it.Next()
	if b.read++; b.read < bulkIterChunk || !b.it.Valid() {
		return
	}
	at := b.it.Item().KeyCopy(nil)
	b.it.Close()
	b.txn.Discard()
	b.open(at)
}

// badgerValid reports whether the Badger iterator is on a bulk record in range.
func (b *bulkIter) badgerValid() bool {
	if !b.it.ValidForPrefix(b.prefix) {
		return false
	}
	return b.end == nil || bytes.Compare(b.it.Item().Key(), b.end) < 0
}

// skipWritten moves the Badger iterator past records the working set wrote
// (set or deleted): the working tree has the live ones.
func (b *bulkIter) skipWritten() {
	for b.badgerValid() {
		k := b.it.Item().Key()[len(flatKeyPrefix):]
		if _, ok := b.s.pending[string(k)]; !ok {
			return
		}
		b.advance()
	}
}

// next moves to the smaller of the two sources' keys.
func (b *bulkIter) next() {
	tv, bv := b.tree.Valid(), b.badgerValid()
	switch {
	case !tv && !bv:
		b.valid = false
		if b.err == nil {
			b.err = b.tree.Error()
		}
		return
	case tv && bv:
		bk := b.it.Item().Key()[len(b.prefix):]
		if c := bytes.Compare(b.tree.Key(), bk); c <= 0 {
			b.k, b.v = b.tree.Key(), b.tree.Value()
			b.tree.Next()
			if c == 0 { // cannot happen: written keys are skipped
				b.advance()
				b.skipWritten()
			}
		} else {
			b.fromBadger()
		}
	case tv:
		b.k, b.v = b.tree.Key(), b.tree.Value()
		b.tree.Next()
	default:
		b.fromBadger()
	}
	b.valid = b.err == nil
}

func (b *bulkIter) fromBadger() {
	item := b.it.Item()
	b.k = item.KeyCopy(nil)[len(b.prefix):]
	v, err := valueOf(item)
	if err != nil {
		b.err = damaged(b.s.dir, fmt.Errorf("bulk records: iterate ledger %s: %w", b.ledger, err))
	}
	if v == nil {
		v = []byte{}
	}
	b.v = v
	b.advance()
	b.skipWritten()
}

func (b *bulkIter) close() error {
	b.it.Close()
	b.txn.Discard()
	return b.tree.Close()
}

// bulkCount counts the keys of a bulk ledger's working state.
func (s *Store) bulkCount(ledger string) (int64, error) {
	it, err := s.newBulkIter(ledger, nil, nil)
	if err != nil {
		return 0, err
	}
	var n int64
	for ; it.valid; it.next() {
		n++
	}
	err = it.err
	return n, errors.Join(err, it.close())
}

// bulkBuilder builds the balanced IAVL tree of n sorted leaves, all of one
// version, in the post-order IAVL's importer reads: the left subtree of n
// leaves holds ceil(n/2), so the heights of two siblings differ by at most
// one (an AVL tree, which later versions rebalance as any). An inner node's
// key is the first key of its right subtree, as IAVL's. It hashes each
// node as IAVL does (node.writeHashBytes), so WorkingHash needs no import,
// and hands each node to add when set (the importer, which hashes again).
type bulkBuilder struct {
	src     *bulkIter
	version int64
	add     func(*iavl.ExportNode) error
	h       hash.Hash
	buf     []byte
}

type builtNode struct {
	hash     []byte
	height   int8
	firstKey []byte
}

func (b *bulkBuilder) build(n int64) (builtNode, error) {
	if n == 1 {
		if !b.src.valid {
			return builtNode{}, fmt.Errorf("bulk ledger %s: fewer keys than counted", b.src.ledger)
		}
		k, v := b.src.k, b.src.v
		b.src.next()
		if b.src.err != nil {
			return builtNode{}, b.src.err
		}
		vh := sha256.Sum256(v)
		b.buf = binary.AppendVarint(b.buf[:0], 0)
		b.buf = binary.AppendVarint(b.buf, 1)
		b.buf = binary.AppendVarint(b.buf, b.version)
		b.buf = binary.AppendUvarint(b.buf, uint64(len(k)))
		b.buf = append(b.buf, k...)
		b.buf = binary.AppendUvarint(b.buf, sha256.Size)
		b.buf = append(b.buf, vh[:]...)
		if b.add != nil {
			if err := b.add(&iavl.ExportNode{Key: k, Value: v, Version: b.version, Height: 0}); err != nil {
				return builtNode{}, err
			}
		}
		return builtNode{hash: b.sum(), firstKey: k}, nil
	}
	left, err := b.build((n + 1) / 2)
	if err != nil {
		return builtNode{}, err
	}
	right, err := b.build(n / 2)
	if err != nil {
		return builtNode{}, err
	}
	height := max(left.height, right.height) + 1
	b.buf = binary.AppendVarint(b.buf[:0], int64(height))
	b.buf = binary.AppendVarint(b.buf, n)
	b.buf = binary.AppendVarint(b.buf, b.version)
	b.buf = binary.AppendUvarint(b.buf, sha256.Size)
	b.buf = append(b.buf, left.hash...)
	b.buf = binary.AppendUvarint(b.buf, sha256.Size)
	b.buf = append(b.buf, right.hash...)
	if b.add != nil {
		if err := b.add(&iavl.ExportNode{Key: right.firstKey, Version: b.version, Height: height}); err != nil {
			return builtNode{}, err
		}
	}
	return builtNode{hash: b.sum(), height: height, firstKey: left.firstKey}, nil
}

func (b *bulkBuilder) sum() []byte {
	b.h.Reset()
	b.h.Write(b.buf)
	return b.h.Sum(nil)
}

// buildBulk counts a bulk ledger's keys and builds its tree as version,
// handing the nodes to add when set. It returns the root hash.
func (s *Store) buildBulk(ledger string, version int64, add func(*iavl.ExportNode) error) ([]byte, error) {
	n, err := s.bulkCount(ledger)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		empty := sha256.Sum256(nil)
		return empty[:], nil
	}
	it, err := s.newBulkIter(ledger, nil, nil)
	if err != nil {
		return nil, err
	}
	b := &bulkBuilder{src: it, version: version, add: add, h: sha256.New()}
	root, err := b.build(n)
	if err == nil && it.valid {
		err = fmt.Errorf("bulk ledger %s: more keys than counted", ledger)
	}
	return root.hash, errors.Join(err, it.close())
}

// bulkRoot is WorkingHash's root of a bulk ledger, memoised until the
// ledger is written. Under s.mu (write).
func (s *Store) bulkRoot(ledger string) ([]byte, error) {
	if r, ok := s.bulkRoots[ledger]; ok {
		return r, nil
	}
	r, err := s.buildBulk(ledger, s.last.Height+1, nil)
	if err != nil {
		return nil, fmt.Errorf("working hash of bulk ledger %s: %w", ledger, err)
	}
	s.bulkRoots[ledger] = r
	return r, nil
}

// importBulk saves a bulk ledger as version height through IAVL's
// importer and makes the imported tree its working tree. Under s.mu.
func (s *Store) importBulk(ledger string, height int64) ([]byte, error) {
	tree := s.newTree(ledger)
	imp, err := tree.Import(height)
	if err != nil {
		return nil, err
	}
	defer imp.Close()
	root, err := s.buildBulk(ledger, height, imp.Add)
	if err != nil {
		return nil, err
	}
	if err := imp.Commit(); err != nil {
		return nil, err
	}
	if got := tree.Hash(); !bytes.Equal(got, root) {
		return nil, fmt.Errorf("bulk ledger %s imports with root %X, built %X", ledger, got, root)
	}
	if want, ok := s.bulkRoots[ledger]; ok && !bytes.Equal(want, root) {
		return nil, fmt.Errorf("bulk ledger %s imports with root %X, working hash was %X", ledger, root, want)
	}
	old := s.trees[ledger]
	s.trees[ledger] = tree
	_ = old.Close() // never saved: its nodes are in memory only
	return root, nil
}

// iterateBulkBatch is iterateBatch for a bulk ledger. Under s.mu (read).
func (s *Store) iterateBulkBatch(ledger string, start, end []byte) ([]kvPair, bool, error) {
	it, err := s.newBulkIter(ledger, start, end)
	if err != nil {
		return nil, false, fmt.Errorf("iterate ledger %s: %w", ledger, err)
	}
	pairs := make([]kvPair, 0, 16)
	for ; it.valid; it.next() {
		if len(pairs) == iterateBatch {
			return pairs, true, it.close()
		}
		pairs = append(pairs, kvPair{append([]byte{}, it.k...), cloneValue(it.v)})
	}
	err = it.err
	return pairs, false, errors.Join(err, it.close())
}

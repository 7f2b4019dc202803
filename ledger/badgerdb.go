package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	corestore "cosmossdk.io/core/store"
	iavldb "github.com/cosmos/iavl/db"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/y"
)

var (
	errBatchClosed = errors.New("batch has been written or closed")
	errKeyEmpty    = errors.New("key cannot be empty")
	errValueNil    = errors.New("value cannot be nil")
)

// prefixDB is the iavl db.DB one tree writes through: every key lives under
// prefix in the shared Badger database, so trees cannot see each other's
// nodes. Close is a no-op; the Store owns the Badger handle. nodes, when
// set, is the tree's cache of encoded inner nodes (nodecache.go), shared by
// every prefixDB of the tree.
type prefixDB struct {
	db     *badger.DB
	prefix []byte
	nodes  *nodeCache
}

var _ iavldb.DB = (*prefixDB)(nil)

func newPrefixDB(db *badger.DB, prefix []byte, nodes *nodeCache) *prefixDB {
	return &prefixDB{db: db, prefix: append([]byte(nil), prefix...), nodes: nodes}
}

func (p *prefixDB) key(k []byte) []byte {
	out := make([]byte, 0, len(p.prefix)+len(k))
	out = append(out, p.prefix...)
	return append(out, k...)
}

// Get returns nil, nil when the key is absent.
func (p *prefixDB) Get(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, errKeyEmpty
	}
	cached := p.nodes != nil && isNodeKey(key)
	var epoch uint64
	if cached {
		var v []byte
		var ok bool
		if v, ok, epoch = p.nodes.get(key); ok {
			return v, nil
		}
	}
	var value []byte
	err := p.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(p.key(key))
		if err != nil {
			return err
		}
		value, err = valueOf(item)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if value == nil {
		value = []byte{}
	}
	if cached {
		p.nodes.fill(key, value, epoch)
	}
	return value, nil
}

func (p *prefixDB) Has(key []byte) (bool, error) {
	if len(key) == 0 {
		return false, errKeyEmpty
	}
	err := p.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(p.key(key))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (p *prefixDB) Iterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIterator(start, end, false)
}

func (p *prefixDB) ReverseIterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIterator(start, end, true)
}

func (p *prefixDB) Close() error { return nil }

func (p *prefixDB) NewBatch() corestore.Batch { return &badgerBatch{p: p} }

func (p *prefixDB) NewBatchWithSize(n int) corestore.Batch {
	b := &badgerBatch{p: p}
	if n > 0 {
		b.ops = make([]batchOp, 0, min(n/64+1, 4096))
	}
	return b
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, or nil when no such key exists (prefix is all 0xFF): the end of a
// prefix's range for Iterate and ScanAside.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// badgerIterator walks [lo, hi) of the raw Badger key space inside one read
// transaction and strips the prefix from the keys it returns.
type badgerIterator struct {
	txn        *badger.Txn
	it         *badger.Iterator
	prefixLen  int
	lo, hi     []byte // raw bounds; hi nil = unbounded
	start, end []byte // domain as given
	reverse    bool
	closed     atomic.Bool
}

func (p *prefixDB) newIterator(start, end []byte, reverse bool) (*badgerIterator, error) {
	if (start != nil && len(start) == 0) || (end != nil && len(end) == 0) {
		return nil, errKeyEmpty
	}
	lo := p.key(start)
	var hi []byte
	if end != nil {
		hi = p.key(end)
	} else {
		hi = PrefixEnd(p.prefix)
	}
	txn := p.db.NewTransaction(false)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Reverse = reverse
	it := txn.NewIterator(opts)
	bi := &badgerIterator{
		txn: txn, it: it, prefixLen: len(p.prefix),
		lo: lo, hi: hi, start: start, end: end, reverse: reverse,
	}
	if !reverse {
		it.Seek(lo)
	} else {
		if hi != nil {
			it.Seek(hi)
			if it.Valid() && bytes.Equal(it.Item().Key(), hi) {
				it.Next()
			}
		} else {
			it.Rewind()
		}
	}
	return bi, nil
}

func (i *badgerIterator) Domain() ([]byte, []byte) { return i.start, i.end }

func (i *badgerIterator) Valid() bool {
	if i.closed.Load() || !i.it.Valid() {
		return false
	}
	k := i.it.Item().Key()
	if i.reverse {
		return bytes.Compare(k, i.lo) >= 0
	}
	return i.hi == nil || bytes.Compare(k, i.hi) < 0
}

func (i *badgerIterator) assertValid() {
	if !i.Valid() {
		panic("ledger: iterator is invalid")
	}
}

func (i *badgerIterator) Next() {
	i.assertValid()
	i.it.Next()
}

func (i *badgerIterator) Key() []byte {
	i.assertValid()
	return append([]byte(nil), i.it.Item().Key()[i.prefixLen:]...)
}

func (i *badgerIterator) Value() []byte {
	i.assertValid()
	v, err := valueOf(i.it.Item())
	if err != nil {
		panic(fmt.Sprintf("ledger: read value: %v", err))
	}
	if v == nil {
		v = []byte{}
	}
	return v
}

func (i *badgerIterator) Error() error { return nil }

func (i *badgerIterator) Close() error {
	if i.closed.Swap(true) {
		return nil
	}
	i.it.Close()
	i.txn.Discard()
	return nil
}

type batchOp struct {
	key, value []byte // value nil = delete
}

// badgerBatch buffers writes and applies them in order with a Badger
// WriteBatch. It follows corestore.Batch: after Write, WriteSync or Close
// only Close may be called.
type badgerBatch struct {
	p      *prefixDB
	ops    []batchOp
	size   int
	closed bool
}

func (b *badgerBatch) Set(key, value []byte) error {
	if b.closed {
		return errBatchClosed
	}
	if len(key) == 0 {
		return errKeyEmpty
	}
	if value == nil {
		return errValueNil
	}
	b.ops = append(b.ops, batchOp{key: b.p.key(key), value: value})
	b.size += len(b.p.prefix) + len(key) + len(value)
	return nil
}

func (b *badgerBatch) Delete(key []byte) error {
	if b.closed {
		return errBatchClosed
	}
	if len(key) == 0 {
		return errKeyEmpty
	}
	b.ops = append(b.ops, batchOp{key: b.p.key(key)})
	b.size += len(b.p.prefix) + len(key)
	return nil
}

func (b *badgerBatch) Write() error { return b.write(false) }

func (b *badgerBatch) WriteSync() error { return b.write(true) }

func (b *badgerBatch) write(sync bool) error {
	if b.closed {
		return errBatchClosed
	}
	b.closed = true
	ops := b.ops
	b.ops = nil
	if len(ops) > 0 {
		wb := b.p.db.NewWriteBatch()
		defer wb.Cancel()
		for _, op := range ops {
			var err error
			if op.value == nil {
				err = wb.Delete(op.key)
			} else {
				err = wb.Set(op.key, op.value)
			}
			if err != nil {
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			if b.p.nodes != nil {
				b.p.nodes.clear() // some of the batch may be in
			}
			return err
		}
		if b.p.nodes != nil {
			b.p.nodes.written(ops, len(b.p.prefix))
		}
	}
	if sync {
		return b.p.db.Sync()
	}
	return nil
}

func (b *badgerBatch) Close() error {
	b.closed = true
	b.ops = nil
	return nil
}

func (b *badgerBatch) GetByteSize() (int, error) {
	if b.closed {
		return 0, errBatchClosed
	}
	return b.size, nil
}

// valueOf reads item's value. Badger v4.9.6 answers a read of the value
// log that fails (an entry that does not match its checksum, a file gone)
// with an empty value and no error (Item.yieldItemValue only logs it), so
// an empty value of an item whose value is in the log (ValueSize above 0:
// only values of Options.ValueThreshold bytes or more go there) is damage.
func valueOf(item *badger.Item) ([]byte, error) {
	v, err := item.ValueCopy(nil)
	if err == nil && len(v) == 0 && item.ValueSize() > 0 {
		err = fmt.Errorf("%w: the value of key %x in the value log cannot be read", y.ErrChecksumMismatch, item.Key())
	}
	return v, err
}

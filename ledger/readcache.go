package ledger

import "sync"

// ReadCache is a write-through KV that remembers what it read from its
// parent, absent keys included, so that state read by many transactions of
// a block (organisations, identities, ledger membership, sanctions) costs
// one IAVL lookup per block instead of one per transaction. Every write to
// the parent must go through the ReadCache while it is in use, or its
// entries go stale; it is meant to live for one block.
type ReadCache struct {
	parent KV
	reads  map[string]map[string][]byte // ledger → key → value (nil = absent)
}

var _ KV = (*ReadCache)(nil)

// NewReadCache wraps parent.
func NewReadCache(parent KV) *ReadCache {
	return &ReadCache{parent: parent, reads: map[string]map[string][]byte{}}
}

// readCaches holds released ReadCaches; see BorrowReadCache.
var readCaches = sync.Pool{New: func() any { return NewReadCache(nil) }}

// BorrowReadCache is NewReadCache for a ReadCache that lives for one block:
// the caller must Release it, and must not use it after that. Its maps
// keep their room from block to block instead of growing again from
// nothing, a block's thousands of reads at a time.
func BorrowReadCache(parent KV) *ReadCache {
	r := readCaches.Get().(*ReadCache)
	r.parent = parent
	return r
}

// Release forgets what r read and hands r back for a later
// BorrowReadCache.
func (r *ReadCache) Release() {
	for _, l := range r.reads {
		clear(l)
	}
	r.parent = nil
	readCaches.Put(r)
}

// HasLedger asks the parent.
func (r *ReadCache) HasLedger(name string) bool {
	if lc, ok := r.parent.(ledgerChecker); ok {
		return lc.HasLedger(name)
	}
	_, err := r.parent.Has(name, []byte{0})
	return err == nil
}

func (r *ReadCache) Get(ledger string, key []byte) ([]byte, error) {
	v, err := r.peek(ledger, key)
	return cloneValue(v), err
}

// peek returns the value it remembers, shared with the parent when it came
// from there (see Peek).
func (r *ReadCache) peek(ledger string, key []byte) ([]byte, error) {
	if l, ok := r.reads[ledger]; ok {
		if v, ok := l[string(key)]; ok {
			return v, nil
		}
	}
	v, err := Peek(r.parent, ledger, key)
	if err != nil {
		return nil, err
	}
	r.remember(ledger, key, v)
	return v, nil
}

func (r *ReadCache) remember(ledger string, key, v []byte) {
	l, ok := r.reads[ledger]
	if !ok {
		l = map[string][]byte{}
		r.reads[ledger] = l
	}
	l[string(key)] = v
}

func (r *ReadCache) Has(ledger string, key []byte) (bool, error) {
	v, err := r.peek(ledger, key) // no copy of a value nobody reads
	return v != nil, err
}

func (r *ReadCache) Set(ledger string, key, value []byte) error {
	if err := r.parent.Set(ledger, key, value); err != nil {
		return err
	}
	r.remember(ledger, key, append([]byte{}, value...))
	return nil
}

// setOwned is Set for a value handed over (see owner): it is passed on and
// remembered without a copy.
func (r *ReadCache) setOwned(ledger string, key, value []byte) error {
	if err := setOwned(r.parent, ledger, key, value); err != nil {
		return err
	}
	r.remember(ledger, key, value)
	return nil
}

func (r *ReadCache) Delete(ledger string, key []byte) error {
	if err := r.parent.Delete(ledger, key); err != nil {
		return err
	}
	r.remember(ledger, key, nil)
	return nil
}

// Iterate reads the parent: iteration is not cached.
func (r *ReadCache) Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error {
	return r.parent.Iterate(ledger, start, end, fn)
}

package ledger

import (
	"fmt"
	"slices"
	"sync"
)

// Reader is the read side of KV, which committed Views satisfy too; the
// state machine's read-only helpers take it.
type Reader interface {
	Get(ledger string, key []byte) ([]byte, error)
	Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error
}

// Peek is r.Get without the copy, for a caller that decodes the value at
// once and neither modifies nor keeps it: the result may be the store's or
// a cache's own bytes. The state machine reads an identity, a ledger's
// membership and two balances this way in every transaction. A Reader of
// another package copies as its Get does.
func Peek(r Reader, ledger string, key []byte) ([]byte, error) {
	if p, ok := r.(peeker); ok {
		return p.peek(ledger, key)
	}
	return r.Get(ledger, key)
}

// peeker is implemented by this package's KVs, which can share their
// values (see Peek).
type peeker interface {
	peek(ledger string, key []byte) ([]byte, error)
}

// owner is implemented by this package's KVs that keep the values they
// are given: setOwned is Set for a value the caller hands over and never
// touches again, so it is kept without the copy Set makes. A Cache's Write
// hands over its buffered values, which Set copied when they were
// written, so that a value is copied once on its way to the Store, not
// three times.
type owner interface {
	setOwned(ledger string, key, value []byte) error
}

// setOwned hands value over to kv where kv keeps it as given, and sets it
// through Set (a copy) elsewhere.
func setOwned(kv KV, ledger string, key, value []byte) error {
	if o, ok := kv.(owner); ok {
		return o.setOwned(ledger, key, value)
	}
	return kv.Set(ledger, key, value)
}

// KV is the read-write view the state machine uses.
type KV interface {
	// Get returns nil, nil if key is absent; an error wrapping
	// ErrUnknownLedger if the ledger does not exist.
	Get(ledger string, key []byte) ([]byte, error)
	Has(ledger string, key []byte) (bool, error)
	// Set fails on an empty key or a nil value.
	Set(ledger string, key, value []byte) error
	Delete(ledger string, key []byte) error
	// Iterate calls fn for keys in [start,end) in ascending order (nil =
	// unbounded) and stops early when fn returns false.
	Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error
}

// ledgerChecker is implemented by KVs that can answer whether a ledger
// exists without a key lookup (Store, Cache).
type ledgerChecker interface {
	HasLedger(name string) bool
}

// Cache buffers writes over a parent KV, so a failing transaction changes
// nothing: Write applies them, Discard drops them. A Cache is meant for one
// goroutine; its Iterate may run fn while the Cache is being written to.
type Cache struct {
	parent  KV
	ledgers map[string]*cacheLedger
	spare   []*cacheLedger // emptied by Discard, for write to take again
}

var _ KV = (*Cache)(nil)

type cacheLedger struct {
	writes map[string][]byte // nil value = deleted
	sorted []string          // keys of writes, sorted; valid when !dirty
	dirty  bool
}

// NewCache returns an empty Cache over parent.
func NewCache(parent KV) *Cache {
	return &Cache{parent: parent, ledgers: map[string]*cacheLedger{}}
}

// HasLedger asks the parent; a Cache cannot create ledgers.
func (c *Cache) HasLedger(name string) bool {
	if lc, ok := c.parent.(ledgerChecker); ok {
		return lc.HasLedger(name)
	}
	_, err := c.parent.Has(name, []byte{0})
	return err == nil
}

func (c *Cache) Get(ledger string, key []byte) ([]byte, error) {
	v, err := c.peek(ledger, key)
	return cloneValue(v), err
}

func (c *Cache) peek(ledger string, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("get from ledger %s: %w", ledger, ErrEmptyKey)
	}
	if l, ok := c.ledgers[ledger]; ok {
		if v, ok := l.writes[string(key)]; ok {
			return v, nil
		}
	}
	return Peek(c.parent, ledger, key)
}

func (c *Cache) Has(ledger string, key []byte) (bool, error) {
	if len(key) == 0 {
		return false, fmt.Errorf("has in ledger %s: %w", ledger, ErrEmptyKey)
	}
	if l, ok := c.ledgers[ledger]; ok {
		if v, ok := l.writes[string(key)]; ok {
			return v != nil, nil
		}
	}
	return c.parent.Has(ledger, key)
}

func (c *Cache) Set(ledger string, key, value []byte) error {
	if err := checkKV(ledger, key, value); err != nil {
		return err
	}
	return c.write(ledger, key, append([]byte{}, value...))
}

func (c *Cache) setOwned(ledger string, key, value []byte) error {
	if err := checkKV(ledger, key, value); err != nil {
		return err
	}
	return c.write(ledger, key, value)
}

func (c *Cache) Delete(ledger string, key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("delete from ledger %s: %w", ledger, ErrEmptyKey)
	}
	return c.write(ledger, key, nil)
}

func (c *Cache) write(ledger string, key, value []byte) error {
	l, ok := c.ledgers[ledger]
	if !ok {
		if !c.HasLedger(ledger) {
			return fmt.Errorf("%w %s", ErrUnknownLedger, ledger)
		}
		if n := len(c.spare); n > 0 {
			l, c.spare = c.spare[n-1], c.spare[:n-1]
		} else {
			l = &cacheLedger{writes: map[string][]byte{}}
		}
		c.ledgers[ledger] = l
	}
	if _, ok := l.writes[string(key)]; !ok {
		l.dirty = true
	}
	l.writes[string(key)] = value
	return nil
}

func (l *cacheLedger) keys() []string {
	if l.dirty {
		l.sorted = l.sorted[:0]
		for k := range l.writes {
			l.sorted = append(l.sorted, k)
		}
		slices.Sort(l.sorted)
		l.dirty = false
	}
	return l.sorted
}

type cacheEntry struct {
	key   string
	value []byte // nil = deleted
}

// entries returns the buffered writes with keys in [start, end), sorted.
func (l *cacheLedger) entries(start, end []byte) []cacheEntry {
	keys := l.keys()
	i := 0
	if start != nil {
		i, _ = slices.BinarySearch(keys, string(start))
	}
	var out []cacheEntry
	for ; i < len(keys); i++ {
		if end != nil && keys[i] >= string(end) {
			break
		}
		out = append(out, cacheEntry{keys[i], l.writes[keys[i]]})
	}
	return out
}

// Iterate merges the parent's pairs with the buffered writes in key order;
// buffered values win and buffered deletes hide the parent's keys. The
// buffered writes are taken as of the call.
func (c *Cache) Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error {
	start, end, _ = normaliseRange(start, end)
	var buf []cacheEntry
	if l, ok := c.ledgers[ledger]; ok {
		buf = l.entries(start, end)
	}
	i, stopped := 0, false
	emit := func(key, value []byte) bool {
		if !fn(key, value) {
			stopped = true
		}
		return !stopped
	}
	err := c.parent.Iterate(ledger, start, end, func(key, value []byte) bool {
		for ; i < len(buf) && buf[i].key < string(key); i++ {
			if buf[i].value != nil && !emit([]byte(buf[i].key), cloneValue(buf[i].value)) {
				return false
			}
		}
		if i < len(buf) && buf[i].key == string(key) {
			e := buf[i]
			i++
			if e.value == nil {
				return true
			}
			return emit(key, cloneValue(e.value))
		}
		return emit(key, value)
	})
	if err != nil || stopped {
		return err
	}
	for ; i < len(buf); i++ {
		if buf[i].value != nil && !emit([]byte(buf[i].key), cloneValue(buf[i].value)) {
			return nil
		}
	}
	return nil
}

// Write applies the buffered writes to the parent, ledger by ledger and key
// by key in sorted order, then empties the Cache.
func (c *Cache) Write() error {
	names := make([]string, 0, len(c.ledgers))
	for name := range c.ledgers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		l := c.ledgers[name]
		for _, k := range l.keys() {
			var err error
			if v := l.writes[k]; v == nil {
				err = c.parent.Delete(name, []byte(k))
			} else {
				err = setOwned(c.parent, name, []byte(k), v) // v is the copy Set made
			}
			if err != nil {
				return fmt.Errorf("write cache to ledger %s: %w", name, err)
			}
		}
	}
	c.Discard()
	return nil
}

// Discard drops the buffered writes. The Cache keeps its maps, emptied,
// for the writes that follow: a transaction's Cache is borrowed
// (BorrowCache) and its maps would otherwise grow again, from nothing, in
// every transaction of every block.
func (c *Cache) Discard() {
	for _, l := range c.ledgers {
		clear(l.writes)
		clear(l.sorted)
		l.sorted, l.dirty = l.sorted[:0], false
		c.spare = append(c.spare, l)
	}
	clear(c.ledgers)
}

// caches holds released Caches; see BorrowCache.
var caches = sync.Pool{New: func() any { return &Cache{ledgers: map[string]*cacheLedger{}} }}

// BorrowCache is NewCache for a Cache that lives for one call: the caller
// must Release it, and must not use it, or anything it returned, after
// that. The state machine borrows one for every transaction.
func BorrowCache(parent KV) *Cache {
	c := caches.Get().(*Cache)
	c.parent = parent
	return c
}

// Release discards c's writes and hands c back for a later BorrowCache.
func (c *Cache) Release() {
	c.Discard()
	c.parent = nil
	caches.Put(c)
}

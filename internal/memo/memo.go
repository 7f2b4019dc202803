// Package memo holds bounded caches of pure functions of bytes: decoding
// the records of the state, parsing signers' certificates. The state
// machine meets the same few records and identities in every transaction of
// every block; remembering a pure function changes no result and spares the
// work.
package memo

import (
	"sync"
)

// Map is a bounded map safe for concurrent use. It keeps two generations of
// at most max entries each and drops the older one when the newer fills, so
// entries in use survive (a hit in the older generation moves the entry to
// the newer) and the rest age out without per-entry bookkeeping.
type Map[K comparable, V any] struct {
	mu       sync.Mutex
	cur, old map[K]V
	max      int
}

// NewMap returns a map of about 2·max entries at most.
func NewMap[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{cur: map[K]V{}, max: max}
}

// Get returns the value of k, if present.
func (m *Map[K, V]) Get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.cur[k]
	if !ok {
		if v, ok = m.old[k]; ok {
			m.putLocked(k, v)
		}
	}
	return v, ok
}

// GetBytes is m.Get(string(k)) without the string: the lookups of a map
// keyed by bytes' strings allocate nothing.
func GetBytes[V any](m *Map[string, V], k []byte) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.cur[string(k)]
	if !ok {
		if v, ok = m.old[string(k)]; ok {
			m.putLocked(string(k), v)
		}
	}
	return v, ok
}

// Put sets the value of k.
func (m *Map[K, V]) Put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLocked(k, v)
}

// Len is the number of entries held.
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.old)
}

func (m *Map[K, V]) putLocked(k K, v V) {
	if len(m.cur) >= m.max {
		m.old, m.cur = m.cur, map[K]V{}
	}
	m.cur[k] = v
}

// Records decodes records of type T through a Map keyed by their bytes.
// The apps of a process (a localnet's validators) may share one.
type Records[T any] struct {
	m      *Map[string, T]
	decode func([]byte, any) error
	clone  func(T) T
}

// NewRecords returns a cache of about 2·max records decoded by decode.
// clone must return a copy that shares nothing a caller could modify (nil
// when T has no slices, maps or pointers).
func NewRecords[T any](max int, decode func([]byte, any) error, clone func(T) T) *Records[T] {
	if clone == nil {
		clone = func(v T) T { return v }
	}
	return &Records[T]{m: NewMap[string, T](max), decode: decode, clone: clone}
}

// Decode decodes b into *v, from the cache when these bytes were decoded
// before. Errors are not cached.
func (c *Records[T]) Decode(b []byte, v *T) error {
	shared, err := c.Peek(b)
	if err == nil {
		*v = c.clone(shared)
	}
	return err
}

// Peek is Decode without the copy: the result shares memory with the
// cache, so the caller must only read it.
func (c *Records[T]) Peek(b []byte) (T, error) {
	if got, ok := GetBytes(c.m, b); ok {
		return got, nil
	}
	var fresh T
	if err := c.decode(b, &fresh); err != nil {
		return fresh, err
	}
	c.m.Put(string(b), fresh)
	return fresh, nil
}

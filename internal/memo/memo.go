// Package memo decodes JSON records of the state through a bounded cache
// keyed by their bytes. The state machine reads the same few records
// (organisations, identities, ledger memberships, assets) for every
// transaction of every block; decoding is a pure function of the bytes, so
// remembering it changes no result and spares the JSON decoder.
package memo

import (
	"encoding/json"
	"sync"
)

// JSON decodes records of type T. It is safe for concurrent use; the apps
// of a process (a localnet's validators) may share one.
type JSON[T any] struct {
	mu       sync.Mutex
	cur, old map[string]T
	max      int
	clone    func(T) T
}

// NewJSON returns a cache of about 2·max records. clone must return a
// copy that shares nothing a caller could modify (nil when T has no
// slices, maps or pointers).
func NewJSON[T any](max int, clone func(T) T) *JSON[T] {
	if clone == nil {
		clone = func(v T) T { return v }
	}
	return &JSON[T]{cur: map[string]T{}, max: max, clone: clone}
}

// Unmarshal decodes b into *v, from the cache when these bytes were
// decoded before. Errors are not cached.
func (c *JSON[T]) Unmarshal(b []byte, v *T) error {
	c.mu.Lock()
	got, ok := c.cur[string(b)]
	if !ok {
		if got, ok = c.old[string(b)]; ok {
			c.putLocked(string(b), got)
		}
	}
	c.mu.Unlock()
	if ok {
		*v = c.clone(got)
		return nil
	}
	var fresh T
	if err := json.Unmarshal(b, &fresh); err != nil {
		return err
	}
	c.mu.Lock()
	c.putLocked(string(b), fresh)
	c.mu.Unlock()
	*v = c.clone(fresh)
	return nil
}

func (c *JSON[T]) putLocked(k string, v T) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, map[string]T{}
	}
	c.cur[k] = v
}

package console

import "sync"

// keep is how many generated files (signed reports, reconciliation
// results) a console keeps for download; the oldest goes first.
const keep = 20

// store keeps the last keep generated files by id, in memory: they are
// the user's own, made on request, and gone with the console.
type store[T any] struct {
	limit int // how many it keeps; 0: keep
	mu    sync.Mutex
	order []string
	byID  map[string]T
}

func (r *store[T]) put(id string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string]T{}
	}
	if _, ok := r.byID[id]; ok {
		r.byID[id] = v
		return
	}
	limit := r.limit
	if limit == 0 {
		limit = keep
	}
	if len(r.order) >= limit {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
	r.order = append(r.order, id)
	r.byID[id] = v
}

func (r *store[T]) get(id string) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.byID[id]
	return v, ok
}

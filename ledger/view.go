package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cosmos/iavl"
)

// View is a read-only snapshot of every ledger at a committed height. It
// reads committed IAVL versions only, so it may be used from any goroutine
// while the working trees change; it becomes unusable when the Store closes.
type View struct {
	s      *Store
	height int64
	names  []string
	trees  map[string]*iavl.ImmutableTree
}

// ErrReadOnly: a write to a View's ReadOnly KV.
var ErrReadOnly = errors.New("write to a read-only view")

// ReadOnly is v as a KV whose writes fail with ErrReadOnly: the parent of
// a cache whose writes are never flushed (the app's check state). Peek
// reads through it without copies, as through v.
func (v *View) ReadOnly() KV { return readOnlyView{v} }

type readOnlyView struct{ *View }

func (readOnlyView) Set(ledger string, _, _ []byte) error {
	return fmt.Errorf("%w: ledger %s", ErrReadOnly, ledger)
}

func (readOnlyView) Delete(ledger string, _ []byte) error {
	return fmt.Errorf("%w: ledger %s", ErrReadOnly, ledger)
}

// View opens the snapshot at height; 0 means the latest commit. Before any
// Commit, View(0) is the empty state at height 0.
func (s *Store) View(height int64) (*View, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	latest := s.last.Height
	if height == 0 {
		height = latest
	}
	if height < 0 || height > latest {
		return nil, ErrHeightNotAvailable{Height: height, Latest: latest}
	}
	ci := s.last
	if height != latest {
		var err error
		if ci, err = s.readCommitInfo(height); err != nil {
			return nil, errors.Join(ErrHeightNotAvailable{Height: height, Latest: latest}, err)
		}
	}
	v := &View{s: s, height: height, names: make([]string, len(ci.Roots)), trees: make(map[string]*iavl.ImmutableTree, len(ci.Roots))}
	for i, r := range ci.Roots {
		t, err := s.readers[r.Name].GetImmutable(height)
		if err != nil {
			return nil, errors.Join(ErrHeightNotAvailable{Height: height, Latest: latest},
				fmt.Errorf("ledger %s: %w", r.Name, err))
		}
		if !bytes.Equal(t.Hash(), r.Root) {
			return nil, damaged(s.dir, fmt.Errorf("ledger %s at height %d: root %X, commit record says %X: %w", r.Name, height, t.Hash(), r.Root, errRootMismatch))
		}
		v.names[i] = r.Name
		v.trees[r.Name] = t
	}
	return v, nil
}

// Height returns the committed height this View reads.
func (v *View) Height() int64 { return v.height }

// HasLedger reports whether the ledger existed at the View's height.
func (v *View) HasLedger(name string) bool {
	_, ok := v.trees[name]
	return ok
}

// Ledgers returns the ledgers that existed at the View's height, sorted.
func (v *View) Ledgers() []string { return slices.Clone(v.names) }

func (v *View) tree(ledger string) (*iavl.ImmutableTree, error) {
	if v.s.closed.Load() {
		return nil, ErrClosed
	}
	t, ok := v.trees[ledger]
	if !ok {
		return nil, fmt.Errorf("%w %s at height %d", ErrUnknownLedger, ledger, v.height)
	}
	return t, nil
}

// Get returns the committed value of key, or nil if absent.
func (v *View) Get(ledger string, key []byte) ([]byte, error) {
	val, err := v.peek(ledger, key)
	return cloneValue(val), err
}

func (v *View) peek(ledger string, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("get from ledger %s: %w", ledger, ErrEmptyKey)
	}
	return v.get(ledger, key)
}

// get reads key through the Store's cache of the latest committed values
// and its flat index while the View is of that height. The result is shared.
func (v *View) get(ledger string, key []byte) ([]byte, error) {
	t, err := v.tree(ledger)
	if err != nil {
		return nil, err
	}
	var buf [128]byte
	k := appendLatestKey(buf[:0], ledger, key)
	if val, ok := v.s.latest.get(v.height, k); ok {
		return val, nil
	}
	val, ok, err := v.s.flatGet(v.height, ledger, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		if val, err = t.Get(key); err != nil {
			return nil, damaged(v.s.dir, fmt.Errorf("get from ledger %s at height %d: %w", ledger, v.height, err))
		}
	}
	v.s.latest.fill(v.height, string(k), val)
	return val, nil
}

// Has reports whether key is set at the View's height.
func (v *View) Has(ledger string, key []byte) (bool, error) {
	if len(key) == 0 {
		return false, fmt.Errorf("has in ledger %s: %w", ledger, ErrEmptyKey)
	}
	val, err := v.get(ledger, key)
	return val != nil, err
}

// Iterate calls fn for the committed keys in [start, end) in ascending order.
func (v *View) Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error {
	t, err := v.tree(ledger)
	if err != nil {
		return err
	}
	start, end, empty := normaliseRange(start, end)
	if empty {
		return nil
	}
	it, err := t.Iterator(start, end, true)
	if err != nil {
		return damaged(v.s.dir, fmt.Errorf("iterate ledger %s at height %d: %w", ledger, v.height, err))
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(slices.Clone(it.Key()), cloneValue(it.Value())) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return damaged(v.s.dir, fmt.Errorf("iterate ledger %s at height %d: %w", ledger, v.height, err))
	}
	return nil
}

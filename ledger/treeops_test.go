package ledger

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
	"pgregory.net/rapid"
)

// immediateTrees is the reference: IAVL trees that take every write at
// once, as the Store's did before it logged them.
type immediateTrees struct {
	db    *badger.DB
	trees map[string]*iavl.MutableTree
}

func (r *immediateTrees) create(name string, height int64) {
	t := iavl.NewMutableTree(newPrefixDB(r.db, treePrefix(name), nil), 50, true, iavl.NewNopLogger())
	t.SetInitialVersion(uint64(height + 1))
	r.trees[name] = t
}

func (r *immediateTrees) hash() []byte {
	names := slices.Sorted(maps.Keys(r.trees))
	roots := make([]LedgerRoot, len(names))
	for i, n := range names {
		roots[i] = LedgerRoot{Name: n, Root: r.trees[n].WorkingHash()}
	}
	return AppHash(roots)
}

// TestDeferredWritesHashAsImmediate: the Store logs writes and applies
// them to its trees late, folding a key's repeated sets into one
// (treeops.go). Over random blocks of sets (new keys, existing keys, the
// same key again), deletes (present and absent, and sets after deletes),
// iterations that write while they run, hashes in the middle of a block,
// commits and rollbacks, its hash must be that of trees that took each
// write at once, and the trees' contents the same.
func TestDeferredWritesHashAsImmediate(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir := t.TempDir()
		// A small node cache, so that writes load nodes from Badger.
		s, err := Open(dir, Options{IAVLCacheSize: 20})
		if err != nil {
			rt.Fatal(err)
		}
		defer s.Close()
		refDB, err := badger.Open(badgerOptions("", Options{InMemory: true}))
		if err != nil {
			rt.Fatal(err)
		}
		defer refDB.Close()
		ref := &immediateTrees{db: refDB, trees: map[string]*iavl.MutableTree{}}
		ledgers := []string{"a", "b"}
		for _, l := range ledgers {
			must(t, s.CreateLedger(l))
			ref.create(l, 0)
		}
		// The ledgers exist at height 1 (a rollback would drop them).
		mustCommit(t, s)
		for _, tr := range ref.trees {
			if _, _, err := tr.SaveVersion(); err != nil {
				rt.Fatal(err)
			}
		}
		keys := rapid.IntRange(4, 64).Draw(rt, "keys")
		key := func(label string) []byte {
			return fmt.Appendf(nil, "k%03d", rapid.IntRange(0, keys-1).Draw(rt, label))
		}
		blocks := rapid.IntRange(1, 6).Draw(rt, "blocks")
		for b := range blocks {
			ops := rapid.IntRange(0, 80).Draw(rt, "ops")
			for range ops {
				l := rapid.SampledFrom(ledgers).Draw(rt, "ledger")
				switch rapid.IntRange(0, 9).Draw(rt, "op") {
				case 0, 1, 2, 3, 4:
					k, v := key("set"), fmt.Appendf(nil, "v%d", rapid.IntRange(0, 9).Draw(rt, "value"))
					must(t, s.Set(l, k, v))
					if _, err := ref.trees[l].Set(k, v); err != nil {
						rt.Fatal(err)
					}
				case 5, 6:
					k := key("delete")
					must(t, s.Delete(l, k))
					if _, _, err := ref.trees[l].Remove(k); err != nil {
						rt.Fatal(err)
					}
				case 7:
					// An iteration that sets keys ahead of it: the Store
					// applies the log batch by batch.
					n := 0
					err := s.Iterate(l, nil, nil, func(k, v []byte) bool {
						if n%5 == 0 {
							nk := append(slices.Clone(k), 'x')
							must(t, s.Set(l, nk, []byte("it")))
							if _, err := ref.trees[l].Set(nk, []byte("it")); err != nil {
								rt.Fatal(err)
							}
						}
						n++
						return n < 300
					})
					must(t, err)
				case 8:
					if got, want := s.WorkingHash(), ref.hash(); !bytes.Equal(got, want) {
						rt.Fatalf("block %d: working hash %X, immediate trees %X", b, got, want)
					}
				case 9:
					k := key("get")
					got, err := s.Get(l, k)
					must(t, err)
					want, err := ref.trees[l].Get(k)
					must(t, err)
					if !bytes.Equal(got, want) {
						rt.Fatalf("get %s/%s = %q, immediate trees %q", l, k, got, want)
					}
				}
			}
			if rapid.IntRange(0, 4).Draw(rt, "end") == 0 {
				s.Rollback()
				for _, tr := range ref.trees {
					tr.Rollback()
				}
				continue
			}
			if got, want := s.WorkingHash(), ref.hash(); !bytes.Equal(got, want) {
				rt.Fatalf("block %d: working hash %X, immediate trees %X", b, got, want)
			}
			ci, err := s.Commit()
			must(t, err)
			for _, tr := range ref.trees {
				if _, _, err := tr.SaveVersion(); err != nil {
					rt.Fatal(err)
				}
			}
			if want := ref.hash(); !bytes.Equal(ci.AppHash, want) {
				rt.Fatalf("block %d: committed %X, immediate trees %X", b, ci.AppHash, want)
			}
		}
	})
}

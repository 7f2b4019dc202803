package reserves

import (
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func builderRoot(t *rapid.T, entries []Entry) (Node, uint64) {
	var b Builder
	for _, e := range entries {
		if err := b.Add(e.Account, e.Balance); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r, b.Len()
}

// TestChunksRootIsTheBuildersRoot: over any sequence of changes to a set
// of balances (balances changed, accounts added and removed, anywhere,
// many or none at a time, from no leaf to a few hundred), the root Chunks
// keeps up to date equals Builder's root over the same leaves, and so
// does a Rebuild; whichever indexes the caller reports as changed beyond
// the ones that did.
func TestChunksRootIsTheBuildersRoot(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		acct := func(i int) gmcrypto.Address {
			var a gmcrypto.Address
			a[0], a[1] = byte(i>>8), byte(i)
			return a
		}
		present := map[int]uint64{}
		for i := range rapid.IntRange(0, 300).Draw(t, "accounts") {
			present[i*2] = rapid.Uint64Range(1, 1<<40).Draw(t, "balance")
		}
		entries := func() []Entry {
			var out []Entry
			for _, i := range slices.Sorted(mapsKeys(present)) {
				out = append(out, Entry{Account: acct(i), Balance: present[i]})
			}
			return out
		}
		var c Chunks
		es := entries()
		got, err := c.Rebuild(es)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := builderRoot(t, es); got != want {
			t.Fatalf("rebuild of %d leaves: %x, builder %x", len(es), got.Hash, want.Hash)
		}
		for range rapid.IntRange(1, 8).Draw(t, "heights") {
			old := es
			for range rapid.IntRange(0, 20).Draw(t, "changes") {
				i := rapid.IntRange(0, 700).Draw(t, "account")
				switch _, ok := present[i]; {
				case ok && rapid.IntRange(0, 4).Draw(t, "remove") == 0:
					delete(present, i)
				case ok:
					present[i] = rapid.Uint64Range(1, 1<<40).Draw(t, "new balance")
				default:
					present[i] = rapid.Uint64Range(1, 1<<40).Draw(t, "balance of a new account")
				}
			}
			es = entries()
			// What a merge reports: the leaves whose balance changed
			// before the first one that moved, and that one.
			from := -1
			var changed []int
			for j := range es {
				if from < 0 && (j >= len(old) || old[j].Account != es[j].Account) {
					from = j
				}
				if from < 0 && old[j].Balance != es[j].Balance {
					changed = append(changed, j)
				}
			}
			if from < 0 && len(old) != len(es) {
				from = len(es)
			}
			// Extra indexes reported as changed change nothing.
			for range rapid.IntRange(0, 2).Draw(t, "extra") {
				if len(es) > 0 {
					changed = append(changed, rapid.IntRange(0, len(es)-1).Draw(t, "extra index"))
				}
			}
			got, err := c.Update(es, changed, from)
			if err != nil {
				t.Fatal(err)
			}
			want, n := builderRoot(t, es)
			if got != want || uint64(c.Len()) != n || c.Root() != want {
				t.Fatalf("update to %d leaves (from %d, changed %v): %x, builder %x", len(es), from, changed, got.Hash, want.Hash)
			}
		}
	})
}

func mapsKeys(m map[int]uint64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Chunks refuses what Builder refuses: a zero balance, accounts out of
// order or repeated, among the leaves it rehashes.
func TestChunksRefuseBadLeaves(t *testing.T) {
	a := func(b byte) gmcrypto.Address { return gmcrypto.Address{b} }
	good := []Entry{{a(1), 5}, {a(2), 6}, {a(3), 7}}
	var c Chunks
	if _, err := c.Rebuild(good); err != nil {
		t.Fatal(err)
	}
	for name, es := range map[string][]Entry{
		"zero":      {{a(1), 5}, {a(2), 0}, {a(3), 7}},
		"order":     {{a(1), 5}, {a(3), 6}, {a(2), 7}},
		"duplicate": {{a(1), 5}, {a(2), 6}, {a(2), 7}},
	} {
		if _, err := (&Chunks{}).Rebuild(es); !errors.Is(err, ErrBadLeaf) {
			t.Errorf("rebuild, %s: %v", name, err)
		}
		if _, err := c.Update(es, []int{1, 2}, -1); !errors.Is(err, ErrBadLeaf) {
			t.Errorf("update, %s: %v", name, err)
		}
	}
}

package app

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// TestMergeLeavesReportsWhatChanged: merging the balances written since a
// reserves height into its leaves gives the positive balances in account
// order, and reports what reserves.Chunks.Update needs: from, the first
// leaf whose account differs from the old leaf at that index (an account
// appeared or emptied before it), and among the leaves before it every
// one whose balance changed; the root updated from the old chunks so is
// the root built whole. When no leaf moves the kept leaves are updated in
// place (no copy of every leaf); when one does they are left as they were.
func TestMergeLeavesReportsWhatChanged(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		acct := func(i int) gmcrypto.Address { return gmcrypto.Address{byte(i >> 8), byte(i)} }
		bal := map[int]uint64{}
		for i := range rapid.IntRange(0, 200).Draw(t, "accounts") {
			bal[i*3] = rapid.Uint64Range(1, 1000).Draw(t, "balance")
		}
		list := func() []reserves.Entry {
			var out []reserves.Entry
			for i := range 700 {
				if b := bal[i]; b > 0 {
					out = append(out, reserves.Entry{Account: acct(i), Balance: b})
				}
			}
			return out
		}
		old := list()
		written := map[gmcrypto.Address]uint64{}
		for range rapid.IntRange(0, 30).Draw(t, "writes") {
			i := rapid.IntRange(0, 699).Draw(t, "account")
			b := rapid.SampledFrom([]uint64{0, 1, 7, bal[i], 999}).Draw(t, "written balance")
			bal[i] = b
			written[acct(i)] = b
		}
		want := list()
		kept := slices.Clone(old)
		out, changed, from := mergeLeaves(old, written)
		switch {
		case from < 0 && len(written) > 0 && len(out) > 0 && &out[0] != &old[0]:
			t.Fatalf("no leaf moved, but the merge copied the leaves")
		case from >= 0 && !slices.Equal(old, kept):
			t.Fatalf("leaves moved, and the merge changed the kept set")
		}
		old = kept
		if !slices.Equal(out, want) && !(len(out) == 0 && len(want) == 0) {
			t.Fatalf("merged %v, want %v", out, want)
		}
		first := -1
		for j := range out {
			if j >= len(old) || old[j].Account != out[j].Account {
				first = j
				break
			}
		}
		if first < 0 && len(old) > len(out) {
			first = len(out)
		}
		if from != first {
			t.Fatalf("from %d, want %d (old %d leaves, new %d)", from, first, len(old), len(out))
		}
		limit := len(out)
		if from >= 0 {
			limit = from
		}
		for j := range limit {
			if old[j].Balance != out[j].Balance && !slices.Contains(changed, j) {
				t.Fatalf("leaf %d changed %d → %d, not reported (%v)", j, old[j].Balance, out[j].Balance, changed)
			}
		}
		var c reserves.Chunks
		if _, err := c.Rebuild(old); err != nil {
			t.Fatal(err)
		}
		got, err := c.Update(out, changed, from)
		if err != nil {
			t.Fatal(err)
		}
		var b reserves.Builder
		for _, e := range out {
			if err := b.Add(e.Account, e.Balance); err != nil {
				t.Fatal(err)
			}
		}
		if root, _ := b.Root(); got != root {
			t.Fatalf("updated root %x, built %x", got.Hash, root.Hash)
		}
	})
}

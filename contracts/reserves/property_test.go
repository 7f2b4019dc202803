package reserves_test

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// TestPropertyEveryAccountProves: for random balances, the streaming root
// (what the state machine commits) is the level tree's, its sum is the
// sum of the balances, and every account's path verifies against it while
// the same path with the balance changed does not.
func TestPropertyEveryAccountProves(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 70).Draw(t, "accounts")
		seen := map[gmcrypto.Address]bool{}
		var es []reserves.Entry
		var sum uint64
		for range n {
			var a gmcrypto.Address
			copy(a[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "account"))
			if seen[a] {
				continue
			}
			seen[a] = true
			b := rapid.Uint64Range(1, 1<<50).Draw(t, "balance")
			es = append(es, reserves.Entry{Account: a, Balance: b})
			sum += b
		}
		slices.SortFunc(es, func(x, y reserves.Entry) int { return slices.Compare(x.Account[:], y.Account[:]) })
		tr, err := reserves.Build(es)
		if err != nil {
			t.Fatal(err)
		}
		var b reserves.Builder
		for _, e := range es {
			if err := b.Add(e.Account, e.Balance); err != nil {
				t.Fatal(err)
			}
		}
		root, err := b.Root()
		if err != nil {
			t.Fatal(err)
		}
		if root != tr.Root() || root.Sum != sum || b.Len() != uint64(len(es)) {
			t.Fatalf("streaming root %x/%d, tree %x/%d, sum %d", root.Hash, root.Sum, tr.Root().Hash, tr.Root().Sum, sum)
		}
		for _, e := range es {
			got, idx, path, err := tr.Prove(e.Account)
			if err != nil || got != e {
				t.Fatalf("Prove %s: %+v %v", e.Account, got, err)
			}
			if err := reserves.VerifyPath(e.Account, e.Balance, idx, tr.Len(), path, root.Hash, root.Sum); err != nil {
				t.Fatalf("account %s: %v", e.Account, err)
			}
			if err := reserves.VerifyPath(e.Account, e.Balance+1, idx, tr.Len(), path, root.Hash, root.Sum); err == nil {
				t.Fatalf("account %s: a raised balance verifies", e.Account)
			}
		}
	})
}

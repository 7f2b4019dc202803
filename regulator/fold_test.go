package regulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRulesFoldAsTheyRead: within a block the rules fold each account's
// window as it grows (windowFold) instead of reading it whole at every
// movement. Split into blocks of one transaction each (same block times),
// every rule reads its windows from the start again; the alerts must be
// the same, in the same order, with the same reasons and transactions.
// The chains mix receipts, payments, PvP fundings and their refunds (a
// refund in mid-block makes fast-in-fast-out fold its window again) and
// amounts in the structuring band.
func TestRulesFoldAsTheyRead(t *testing.T) {
	const rules = "[large_amount]\nenabled = false\n[large_amount.thresholds]\nCNY = 1000\n" +
		"[structuring]\nwindow = \"2h\"\ncount = 3\nmargin = 0.2\nbeneficiary_count = 4\n" +
		"[velocity]\nwindow = \"30m\"\nmax_count = 6\n[velocity.max_amount]\nCNY = 6000\n" +
		"[fast_in_fast_out]\nwindow = \"10m\"\npercent = 80\nnet_of_opening = false\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	eng := onlyRule(t, rules)
	accts := []string{"p", "q", "bankB.r", "bankB.s"}
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 20261204))
		funded := map[string]uint64{} // escrow -> amount paid in, not yet refunded
		var moves []move
		for blk := range 30 {
			at := time.Duration(blk) * 3 * time.Minute
			for range 5 + rng.IntN(15) {
				from, to := accts[rng.IntN(len(accts))], accts[rng.IntN(len(accts))]
				switch r := rng.IntN(10); {
				case r < 3:
					moves = append(moves, mvXfer(at, "src", to, uint64(500+rng.IntN(3000))))
				case r == 3:
					e := fmt.Sprintf("E%d", len(funded))
					amt := uint64(100 + rng.IntN(900))
					funded[e] = amt
					moves = append(moves, mvXfer(at, "p", e, amt))
				case r == 4 && len(funded) > 0:
					for _, e := range slices.Sorted(func(yield func(string) bool) {
						for e := range funded {
							if !yield(e) {
								return
							}
						}
					}) {
						if funded[e] > 0 {
							moves = append(moves, move{at: at, kind: KindTransfer, from: e, to: "p", amount: funded[e], refund: true})
							funded[e] = 0
							break
						}
					}
				case from != to:
					amt := uint64(50 + rng.IntN(400))
					if rng.IntN(3) == 0 {
						amt = uint64(810 + rng.IntN(189)) // just below the 1,000 threshold
					}
					moves = append(moves, mvXfer(at, from, to, amt))
				}
			}
		}
		open := map[string]uint64{"p": 100_000, "q": 100_000, "bankB.r": 100_000, "bankB.s": 100_000}
		g := tableGenesis()
		g.Identities = append(g.Identities, IdentityOrg{Address: "bankB.s", Org: "bankB"})
		for _, a := range accts {
			g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: open[a]})
		}
		whole := balancedChain(t, open, moves)
		var single []*Block
		for _, b := range whole {
			for _, tx := range b.Txs {
				tx.Index = 0
				single = append(single, &Block{Height: int64(len(single) + 1), Time: b.Time, Txs: []Tx{tx}})
			}
		}
		if len(single) < 3*len(whole) {
			t.Fatalf("seed %d: %d transactions in %d blocks: too few per block to fold anything", seed, len(single), len(whole))
		}
		folded, _ := applyAll(t, g, whole, eng)
		read, _ := applyAll(t, g, single, eng)
		show := func(as []Alert) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.Rule+" "+a.Subject+" ["+strings.Join(a.TxIDs, ",")+"] "+a.Reason)
			}
			return out
		}
		got, want := show(folded), show(read)
		if len(want) < 5 {
			t.Fatalf("seed %d: only %d alerts: the chain tests too little", seed, len(want))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: folded in blocks %d alerts, read per transaction %d:\n%s\nwant\n%s", seed, len(got), len(want),
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

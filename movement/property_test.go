package movement

import (
	"fmt"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// genHistory draws an account's movements in chain order with balances
// that follow, starting from an opening balance.
func genHistory(t *rapid.T) (open Commitment, ms []Movement) {
	open = Commitment{Balance: rapid.Uint64Range(0, 1000).Draw(t, "opening")}
	bal := open.Balance
	h, tx := int64(rapid.IntRange(1, 5).Draw(t, "first height")), uint32(0)
	n := rapid.IntRange(0, 24).Draw(t, "movements")
	others := []string{bob, "cc" + alice[2:], ""}
	for i := 0; i < n; i++ {
		if rapid.Bool().Draw(t, "next height") {
			h += int64(rapid.IntRange(1, 3).Draw(t, "gap"))
			tx = 0
		} else {
			tx++
		}
		m := Movement{Height: h, TxIndex: tx, TxID: fmt.Sprintf("%064x", i), Event: uint32(rapid.IntRange(0, 2).Draw(t, "event")),
			Ledger: "payments", Asset: "CNY", Account: alice, Memo: rapid.StringMatching(`[a-zA-Z0-9-]{0,12}`).Draw(t, "memo")}
		amount := rapid.Uint64Range(1, 500).Draw(t, "amount")
		switch k := rapid.IntRange(0, 5).Draw(t, "kind"); {
		case k == 5 && amount <= bal: // to oneself: two movements at one position
			m.Kind, m.Counterparty, m.Amount, m.BalanceAfter = KindTransfer, alice, amount, bal
			d, c := m, m
			d.Direction, c.Direction = Debit, Credit
			ms = append(ms, d, c)
			continue
		case amount <= bal && k%2 == 0:
			m.Direction, bal = Debit, bal-amount
			m.Kind = []string{KindTransfer, KindBurn, KindRedeem}[k/2]
			if m.Kind == KindTransfer {
				m.Counterparty = others[rapid.IntRange(0, 1).Draw(t, "cp")]
			}
			if m.Kind == KindRedeem {
				m.Redemption = uint64(i)
			}
		default:
			m.Direction, bal = Credit, bal+amount
			m.Kind = []string{KindTransfer, KindIssue, KindRedemptionSettled}[k%3]
			m.Counterparty = others[rapid.IntRange(0, 1).Draw(t, "cp")]
		}
		m.Amount, m.BalanceAfter = amount, bal
		ms = append(ms, m)
	}
	return open, ms
}

// TestCommitmentProperty: for random histories and any range of them,
// the range's movements verify against the commitments at its ends; and
// any single change to the list (a movement dropped, added, duplicated,
// swapped with its neighbour, or one field altered) makes Verify fail.
func TestCommitmentProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		open, all := genHistory(t)
		i := rapid.IntRange(0, len(all)).Draw(t, "from")
		j := rapid.IntRange(i, len(all)).Draw(t, "to")
		from, err := Replay(open, all[:i])
		if err != nil {
			t.Fatal(err)
		}
		to, err := Replay(from, all[i:j])
		if err != nil {
			t.Fatal(err)
		}
		// The range is whole heights: from the height after the last
		// movement before it to the height before the first after it.
		h1, h2 := int64(1), int64(200)
		if i > 0 {
			h1 = all[i-1].Height + 1
			if i < len(all) && all[i].Height < h1 {
				t.Skip("the range's start splits a height")
			}
		}
		if j < len(all) {
			h2 = all[j].Height - 1
			if j > 0 && all[j-1].Height > h2 {
				t.Skip("the range's end splits a height")
			}
		}
		if h2 < h1 {
			t.Skip("empty range")
		}
		honest := append([]Movement(nil), all[i:j]...)
		if err := Verify(aliceCNY, h1, h2, from, to, honest); err != nil {
			t.Fatalf("honest list of %d..%d: %v", h1, h2, err)
		}
		ms := append([]Movement(nil), honest...)
		mutations := []string{"drop", "add", "duplicate", "swap", "amount", "balance", "memo", "counterparty", "tx", "event", "kind", "direction", "height"}
		mut := rapid.SampledFrom(mutations).Draw(t, "mutation")
		if len(ms) == 0 && mut != "add" {
			mut = "add"
		}
		k := 0
		if len(ms) > 0 {
			k = rapid.IntRange(0, len(ms)-1).Draw(t, "which")
		}
		switch mut {
		case "drop":
			ms = append(ms[:k], ms[k+1:]...)
		case "add":
			extra := Movement{Height: h2, TxIndex: 99, TxID: fmt.Sprintf("%064x", 999), Ledger: "payments", Asset: "CNY", Account: alice,
				Kind: KindIssue, Direction: Credit, Amount: 1, BalanceAfter: to.Balance + 1}
			ms = append(ms, extra)
		case "duplicate":
			ms = append(ms[:k+1], ms[k:]...)
		case "swap":
			if len(ms) < 2 {
				t.Skip("nothing to swap")
			}
			k = min(k, len(ms)-2)
			ms[k], ms[k+1] = ms[k+1], ms[k]
		case "amount":
			ms[k].Amount++
		case "balance":
			ms[k].BalanceAfter++
		case "memo":
			ms[k].Memo += "x"
		case "counterparty":
			ms[k].Counterparty = map[string]string{"": bob, bob: "", alice: bob, "cc" + alice[2:]: bob}[ms[k].Counterparty]
		case "tx":
			ms[k].TxID = fmt.Sprintf("%064x", 12345)
		case "event":
			ms[k].Event += 7
		case "kind":
			ms[k].Kind = map[string]string{KindIssue: KindTransfer, KindTransfer: KindIssue, KindBurn: KindRedeem, KindRedeem: KindBurn, KindRedemptionSettled: KindIssue}[ms[k].Kind]
		case "direction":
			ms[k].Direction = map[string]string{Debit: Credit, Credit: Debit}[ms[k].Direction]
		case "height":
			ms[k].Height++
		}
		if reflect.DeepEqual(ms, honest) {
			t.Skip("the mutation changed nothing")
		}
		if err := Verify(aliceCNY, h1, h2, from, to, ms); err == nil {
			t.Fatalf("%s of movement %d went unnoticed", mut, k)
		}
	})
}

package pvp_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

type holding struct {
	ledger, asset, addr string
}

// TestPvpProperty drives random sequences of propose, fund, settle,
// refund and passing blocks (many of them invalid: wrong parties, double
// funding, expired trades, amounts beyond balances, same-side legs) and
// checks after every step that
//   - a refused step changes nothing and fails with a registered error
//     (fixture.run);
//   - every balance is what a model moving only whole legs predicts: a
//     funding moves its leg from the funder to the escrow, a settlement
//     moves both legs from the escrows to the receivers in the same step,
//     a refund moves each funded leg back to its funder;
//   - a trade settles only in the step that completes its funding (no
//     value height) or by an explicit settle, and never after expiry;
//   - the pvp invariants (CheckTrades) and both ledgers' supply
//     invariants hold.
func TestPvpProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newFixture(rt)
		defer f.store.Close()
		people := []gmcrypto.Address{f.a, f.a2, f.b, f.c, f.outsider}
		legs := []*txpb.PvpLeg{{Ledger: onshore, Asset: "CNY"}, {Ledger: onshore, Asset: "USD"}, {Ledger: offshore, Asset: "HKD"}, {Ledger: offshore, Asset: "EUR"}}
		model := map[holding]uint64{}
		for _, l := range []struct{ ledger, asset string }{{onshore, "CNY"}, {onshore, "USD"}, {offshore, "HKD"}} {
			for _, p := range people {
				model[holding{l.ledger, l.asset, p.String()}] = f.balance(l.ledger, l.asset, p)
			}
		}
		var ids []string
		pickTrade := func() string {
			if len(ids) == 0 || rapid.IntRange(0, 9).Draw(rt, "unknown trade") == 0 {
				return f.nextTxID()
			}
			return rapid.SampledFrom(ids).Draw(rt, "trade")
		}
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			before := map[string]pvp.Trade{}
			for _, id := range ids {
				before[id] = f.trade(id)
			}
			sender := rapid.SampledFrom(people).Draw(rt, "sender")
			var err error
			switch rapid.IntRange(0, 5).Draw(rt, "op") {
			case 0:
				la := *rapid.SampledFrom(legs).Draw(rt, "leg A")
				lb := *rapid.SampledFrom(legs).Draw(rt, "leg B")
				la.Amount = rapid.SampledFrom([]uint64{0, 1, 500, 20_000, 1 << 63}).Draw(rt, "amount A")
				lb.Amount = rapid.Uint64Range(0, 3000).Draw(rt, "amount B")
				m := &txpb.PvpPropose{Counterparty: rapid.SampledFrom(people).Draw(rt, "counterparty").Bytes(), LegA: &la, LegB: &lb,
					ExpiryHeight: f.height + rapid.Int64Range(-1, 15).Draw(rt, "expiry")}
				if rapid.Bool().Draw(rt, "value height") {
					m.ValueHeight = f.height + rapid.Int64Range(0, 5).Draw(rt, "value")
				}
				if rapid.IntRange(0, 3).Draw(rt, "sound terms") > 0 {
					// Mostly sound terms, so that trades fund and settle.
					sender, m.Counterparty = f.a, f.b.Bytes()
					if rapid.Bool().Draw(rt, "b proposes") {
						sender, m.Counterparty = f.b, f.a.Bytes()
					}
					la.Ledger, la.Asset, lb.Ledger, lb.Asset = onshore, rapid.SampledFrom([]string{"CNY", "USD"}).Draw(rt, "asset A"), offshore, "HKD"
					la.Amount = rapid.Uint64Range(1, 3000).Draw(rt, "sound amount A")
					lb.Amount = max(lb.Amount, 1)
					m.ExpiryHeight = f.height + rapid.Int64Range(1, 15).Draw(rt, "sound expiry")
					if m.ValueHeight >= m.ExpiryHeight {
						m.ValueHeight = 0
					}
				}
				var id string
				id, _, err = f.propose(sender, m)
				if err == nil {
					ids = append(ids, id)
				}
			case 1, 2:
				id := pickTrade()
				leg := rapid.SampledFrom([]string{pvp.LegA, pvp.LegB, "X"}).Draw(rt, "leg")
				if tr, ok := before[id]; ok && rapid.IntRange(0, 3).Draw(rt, "right party") > 0 {
					s := tr.Proposer
					if leg == pvp.LegB {
						s = tr.Counterparty
					}
					sender, _ = gmcrypto.ParseAddress(s)
				}
				_, err = f.fund(sender, id, leg)
			case 3:
				_, err = f.settle(sender, pickTrade())
			case 4:
				_, err = f.refund(sender, pickTrade())
			case 5:
				f.height += rapid.Int64Range(1, 6).Draw(rt, "blocks")
			}
			_ = err
			for _, id := range ids {
				old, ok := before[id]
				now := f.trade(id)
				if !ok {
					if now.A.Funded || now.B.Funded || now.Status != pvp.StatusOpen {
						rt.Fatalf("new trade %s not open and unfunded: %+v", id, now)
					}
					for _, l := range []pvp.Leg{now.A, now.B} {
						model[holding{l.Ledger, l.Asset, l.Escrow}] = 0
					}
					continue
				}
				mv := func(l pvp.Leg, from, to string) {
					fk, tk := holding{l.Ledger, l.Asset, from}, holding{l.Ledger, l.Asset, to}
					if model[fk] < l.Amount {
						rt.Fatalf("trade %s moves %d %s from %s holding %d in the model", id, l.Amount, l.Asset, from, model[fk])
					}
					model[fk] -= l.Amount
					model[tk] += l.Amount
				}
				if !old.A.Funded && now.A.Funded {
					mv(now.A, now.Proposer, now.A.Escrow)
				}
				if !old.B.Funded && now.B.Funded {
					mv(now.B, now.Counterparty, now.B.Escrow)
				}
				if old.Status != now.Status {
					if old.Status != pvp.StatusOpen {
						rt.Fatalf("trade %s went from %s to %s", id, old.Status, now.Status)
					}
					switch now.Status {
					case pvp.StatusSettled:
						if f.height >= now.ExpiryHeight || f.height < now.ValueHeight {
							rt.Fatalf("trade %s settled at %d outside [%d, %d)", id, f.height, now.ValueHeight, now.ExpiryHeight)
						}
						mv(now.A, now.A.Escrow, now.ReceiverB)
						mv(now.B, now.B.Escrow, now.ReceiverA)
					case pvp.StatusRefunded:
						if now.A.Funded {
							mv(now.A, now.A.Escrow, now.Proposer)
						}
						if now.B.Funded {
							mv(now.B, now.B.Escrow, now.Counterparty)
						}
					}
				} else if now.Status != pvp.StatusOpen && (old.A.Funded != now.A.Funded || old.B.Funded != now.B.Funded) {
					rt.Fatalf("closed trade %s changed", id)
				}
			}
			for h, want := range model {
				a, _ := gmcrypto.ParseAddress(h.addr)
				if got := f.balance(h.ledger, h.asset, a); got != want {
					rt.Fatalf("%s holds %d %s on %s, the model %d", h.addr, got, h.asset, h.ledger, want)
				}
			}
			f.checkInvariants()
		}
	})
}

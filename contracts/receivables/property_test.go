package receivables_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// TestReceivablesProperty drives random sequences of register, confirm,
// split, transfer, pledge, unpledge, discount offer and acceptance,
// settlement, mark-overdue and passing blocks (many of them invalid:
// non-holders, wrong sums, pledged parts, lapsed offers, payments beyond
// what is outstanding or before due) and checks after every step that
//   - a refused step changes nothing and fails with a registered error
//     (fixture.run);
//   - the parts of every receivable sum to its face value, nothing is paid
//     twice and paid ≤ face (CheckReceivables), and the ledger's supply
//     holds;
//   - what a receivable has paid never shrinks, and a settled or
//     rejected one never changes again;
//   - every balance is what a model predicts: a discount moves the price
//     from the bank to the holder, a settlement moves Shares(parts,
//     amount) from the payer to each part's holder before the step.
func TestReceivablesProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newFixture(rt)
		defer f.store.Close()
		people := []gmcrypto.Address{f.payer, f.supplier, f.sup2, f.tier2, f.bank, f.bank2, f.outsider}
		model := map[gmcrypto.Address]uint64{}
		for _, p := range people {
			model[p] = f.balance(p)
		}
		var ids []string
		invoices := 0
		// Two confirmed receivables to start with, due soon.
		for range 2 {
			invoices++
			m := f.terms(rapid.Uint64Range(1, 5000).Draw(rt, "start face"), invoices)
			m.DueHeight = f.height + rapid.Int64Range(1, 15).Draw(rt, "start due")
			id, _, err := f.register(f.supplier, m)
			must(rt, err)
			_, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id})
			must(rt, err)
			ids = append(ids, id)
		}
		partOf := func(r receivables.Receivable, id uint32) (receivables.Part, bool) {
			for _, p := range r.Parts {
				if p.ID == id {
					return p, true
				}
			}
			return receivables.Part{}, false
		}
		pick := func() string {
			if rapid.IntRange(0, 19).Draw(rt, "unknown receivable") == 0 {
				return f.nextTxID()
			}
			return rapid.SampledFrom(ids).Draw(rt, "receivable")
		}
		// pickPart is a part of r, mostly a live one, and its holder.
		pickPart := func(r receivables.Receivable) (uint32, gmcrypto.Address) {
			if len(r.Parts) == 0 || rapid.IntRange(0, 9).Draw(rt, "unknown part") == 0 {
				return rapid.Uint32Range(0, 10).Draw(rt, "part"), rapid.SampledFrom(people).Draw(rt, "holder")
			}
			p := rapid.SampledFrom(r.Parts).Draw(rt, "live part")
			h, _ := gmcrypto.ParseAddress(p.Holder)
			return p.ID, h
		}
		for range rapid.IntRange(1, 80).Draw(rt, "steps") {
			before := map[string]receivables.Receivable{}
			for _, id := range ids {
				before[id] = f.get(id)
			}
			sender := rapid.SampledFrom(people).Draw(rt, "sender")
			honest := rapid.IntRange(0, 3).Draw(rt, "honest") > 0
			id := pick()
			r, known := before[id]
			var err error
			var msg any
			switch op := rapid.IntRange(0, 10).Draw(rt, "op"); op {
			case 0:
				m := f.terms(rapid.SampledFrom([]uint64{0, 1, 7, 1000, 30_000, 1 << 63}).Draw(rt, "face"), invoices)
				if rapid.Bool().Draw(rt, "new invoice") {
					invoices++
					m.InvoiceHash = invoice(invoices)
				}
				m.DueHeight = f.height + rapid.Int64Range(-1, 20).Draw(rt, "due in")
				if honest {
					sender = rapid.SampledFrom([]gmcrypto.Address{f.supplier, f.tier2}).Draw(rt, "payee")
				}
				var nid string
				nid, _, err = f.register(sender, m)
				if err == nil {
					ids = append(ids, nid)
				}
			case 1:
				if honest {
					sender = f.payer
				}
				msg = &txpb.ReceivableConfirm{Receivable: id, Reject: rapid.IntRange(0, 4).Draw(rt, "reject") == 0}
			case 2:
				part, holder := pickPart(r)
				if honest {
					sender = holder
				}
				var amounts []uint64
				if p, ok := partOf(r, part); ok && honest && p.Amount >= 2 {
					// Mostly sums that fit: the last amount makes up the rest.
					rest := p.Amount
					for range rapid.IntRange(1, 3).Draw(rt, "cuts") {
						if rest < 2 {
							break
						}
						a := rapid.Uint64Range(1, rest-1).Draw(rt, "cut")
						amounts = append(amounts, a)
						rest -= a
					}
					amounts = append(amounts, rest)
				} else {
					for range rapid.IntRange(0, 4).Draw(rt, "split into") {
						amounts = append(amounts, rapid.Uint64Range(0, 600).Draw(rt, "amount"))
					}
				}
				msg = &txpb.ReceivableSplit{Receivable: id, Part: part, Amounts: amounts}
			case 3:
				part, holder := pickPart(r)
				if honest {
					sender = holder
				}
				msg = &txpb.ReceivableTransfer{Receivable: id, Part: part, To: rapid.SampledFrom(people).Draw(rt, "to").Bytes()}
			case 4:
				part, holder := pickPart(r)
				if honest {
					sender = holder
				}
				msg = &txpb.ReceivablePledge{Receivable: id, Part: part, Pledgee: rapid.SampledFrom(people).Draw(rt, "pledgee").Bytes()}
			case 5:
				part, _ := pickPart(r)
				if honest {
					// Release a pledge standing somewhere.
					for _, oid := range ids {
						for _, p := range before[oid].Parts {
							if p.Pledgee != "" {
								id, part = oid, p.ID
								sender, _ = gmcrypto.ParseAddress(p.Pledgee)
							}
						}
					}
				}
				msg = &txpb.ReceivableUnpledge{Receivable: id, Part: part}
			case 6:
				part, holder := pickPart(r)
				if honest {
					sender = holder
				}
				price := rapid.Uint64Range(0, 700).Draw(rt, "price")
				if p, ok := partOf(r, part); ok && honest && p.Outstanding() > 0 {
					price = rapid.Uint64Range(1, p.Outstanding()).Draw(rt, "sound price")
				}
				msg = &txpb.ReceivableDiscountOffer{Receivable: id, Part: part, Bank: rapid.SampledFrom([]gmcrypto.Address{f.bank, f.bank2, f.bank, f.bank2, f.tier2, f.outsider}).Draw(rt, "bank").Bytes(),
					Price: price, ExpiryHeight: f.height + rapid.Int64Range(-1, 5).Draw(rt, "offer for")}
			case 7:
				part, _ := pickPart(r)
				price := rapid.Uint64Range(0, 700).Draw(rt, "accepted price")
				if honest {
					// Accept an offer standing somewhere, at its price.
					for _, oid := range ids {
						for _, p := range before[oid].Parts {
							if p.Offer != nil {
								id, r, part = oid, before[oid], p.ID
								sender, _ = gmcrypto.ParseAddress(p.Offer.Bank)
								price = p.Offer.Price
							}
						}
					}
				}
				msg = &txpb.ReceivableDiscountAccept{Receivable: id, Part: part, Price: price}
			case 8:
				amount := rapid.Uint64Range(0, 2000).Draw(rt, "payment")
				if honest {
					sender = f.payer
					if known && r.Outstanding() > 0 {
						amount = rapid.Uint64Range(1, r.Outstanding()).Draw(rt, "sound payment")
					}
				}
				msg = &txpb.ReceivableSettle{Receivable: id, Amount: amount}
			case 9:
				msg = &txpb.ReceivableMarkOverdue{Receivable: id}
			case 10:
				f.advance(rapid.Int64Range(1, 8).Draw(rt, "blocks"))
			}
			if msg != nil {
				_, err = f.do(sender, msg)
			}
			if err == nil && msg != nil {
				switch m := msg.(type) {
				case *txpb.ReceivableDiscountAccept:
					model[sender] -= m.Price
					for _, p := range r.Parts {
						if p.ID == m.Part {
							h, _ := gmcrypto.ParseAddress(p.Holder)
							model[h] += m.Price
						}
					}
				case *txpb.ReceivableSettle:
					shares := receivables.Shares(r.Parts, m.Amount)
					for i, p := range r.Parts {
						h, _ := gmcrypto.ParseAddress(p.Holder)
						model[sender] -= shares[i]
						model[h] += shares[i]
					}
				}
			}
			for _, id := range ids {
				old, ok := before[id]
				now := f.get(id)
				// The sum invariant, stated here as well as in CheckReceivables.
				var sum, paid uint64
				for _, p := range now.Parts {
					sum, paid = sum+p.Amount, paid+p.Paid
				}
				if len(now.Parts) > 0 && (sum != now.FaceValue || paid != now.Paid || now.Paid > now.FaceValue) {
					rt.Fatalf("receivable %s: parts sum to %d (paid %d), face %d (paid %d)", id, sum, paid, now.FaceValue, now.Paid)
				}
				if !ok {
					continue
				}
				if now.Paid < old.Paid {
					rt.Fatalf("receivable %s paid went from %d to %d", id, old.Paid, now.Paid)
				}
				if (old.Status == receivables.StatusSettled || old.Status == receivables.StatusRejected) && now.Status != old.Status {
					rt.Fatalf("closed receivable %s went from %s to %s", id, old.Status, now.Status)
				}
			}
			for p, want := range model {
				if got := f.balance(p); got != want {
					rt.Fatalf("%s holds %d CNY, the model %d", p, got, want)
				}
			}
			f.checkInvariants()
		}
	})
}

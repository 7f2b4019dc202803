package receivables_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// TestSupplyChain is the flow of docs/receivables.md: the supplier's
// receivable on the core enterprise, confirmed; split; a part transferred
// to a tier-2 supplier; a part discounted to a bank; at due the payer pays
// half (pro rata, and the receivable is overdue), then the rest.
func TestSupplyChain(t *testing.T) {
	f := newFixture(t)
	id, ev, err := f.register(f.supplier, f.terms(1000, 1))
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"receivable_requested"}) {
		t.Fatalf("events %v", got)
	}
	if r := f.get(id); r.Status != receivables.StatusRequested || len(r.Parts) != 0 {
		t.Fatalf("request %+v", r)
	}
	ev, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"receivable_confirmed"}) {
		t.Fatalf("events %v", got)
	}
	f.checkInvariants()
	ev, err = f.do(f.supplier, &txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{600, 300, 100}})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"receivable_split"}) {
		t.Fatalf("events %v", got)
	}
	r := f.get(id)
	if len(r.Parts) != 3 || r.Parts[0].ID != 2 || r.Parts[2].Amount != 100 || r.Parts[1].Parent != 1 {
		t.Fatalf("parts %+v", r.Parts)
	}
	_, err = f.do(f.supplier, &txpb.ReceivableTransfer{Receivable: id, Part: 3, To: f.tier2.Bytes(), Memo: "PO 7"})
	must(t, err)
	// The tier-2 supplier passes part of its part further down.
	_, err = f.do(f.tier2, &txpb.ReceivableSplit{Receivable: id, Part: 3, Amounts: []uint64{150, 150}})
	must(t, err)
	_, err = f.do(f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id, Part: 2, Bank: f.bank.Bytes(), Price: 570, ExpiryHeight: f.height + 10})
	must(t, err)
	ev, err = f.do(f.bank, &txpb.ReceivableDiscountAccept{Receivable: id, Part: 2, Price: 570})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "receivable_discounted"}) {
		t.Fatalf("events %v", got)
	}
	if f.balance(f.supplier) != 570 || f.balance(f.bank) != 100_000-570 {
		t.Fatal("discount not paid")
	}
	if p := f.get(id).Parts[0]; p.Holder != f.bank.String() || p.Offer != nil {
		t.Fatalf("discounted part %+v", p)
	}
	f.checkInvariants()

	// Not due yet.
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 1000})
	wantErr(t, err, receivables.ErrNotDue)
	_, err = f.do(f.bank, &txpb.ReceivableMarkOverdue{Receivable: id})
	wantErr(t, err, receivables.ErrNotDue)
	// An offer standing when the payer pays is withdrawn with the payment.
	_, err = f.do(f.tier2, &txpb.ReceivableDiscountOffer{Receivable: id, Part: 5, Bank: f.bank2.Bytes(), Price: 140, ExpiryHeight: f.height + 500})
	must(t, err)
	f.advance(100)
	// Due: the payer pays half; parts 2 (600, bank), 4 (100, supplier),
	// 5 and 6 (150 each, tier2) get 300, 50, 75, 75; it is overdue.
	ev, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 500})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "transfer", "transfer", "transfer", "receivable_settled", "receivable_overdue"}) {
		t.Fatalf("events %v", got)
	}
	if f.balance(f.bank) != 100_000-570+300 || f.balance(f.supplier) != 570+50 || f.balance(f.tier2) != 150 {
		t.Fatal("not paid pro rata")
	}
	if r := f.get(id); r.Status != receivables.StatusOverdue || r.Paid != 500 || r.OverdueHeight != f.height {
		t.Fatalf("after half %+v", r)
	}
	_, err = f.do(f.bank2, &txpb.ReceivableDiscountAccept{Receivable: id, Part: 5, Price: 140})
	wantErr(t, err, receivables.ErrNoOffer)
	f.checkInvariants()
	_, err = f.do(f.bank, &txpb.ReceivableMarkOverdue{Receivable: id})
	wantErr(t, err, receivables.ErrAlreadyOverdue)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 501})
	wantErr(t, err, receivables.ErrOverpayment)
	ev, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 500})
	must(t, err)
	m, ok, err := wire.ParseEvent(ev[len(ev)-1])
	if err != nil || !ok {
		t.Fatal(err)
	}
	s := m.(*txpb.EventReceivableSettled)
	if s.Status != receivables.StatusSettled || s.Paid != 1000 || s.Outstanding != 0 || !strings.HasPrefix(s.Payouts, "2:"+f.bank.String()+":300,") {
		t.Fatalf("settled event %+v", s)
	}
	if f.balance(f.bank) != 100_000-570+600 || f.balance(f.tier2) != 300 || f.balance(f.payer) != 99_000 {
		t.Fatal("not paid in full")
	}
	f.checkInvariants()
	// Nothing settles twice; a settled receivable moves no more.
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 1})
	wantErr(t, err, receivables.ErrAlreadySettled)
	_, err = f.do(f.bank, &txpb.ReceivableTransfer{Receivable: id, Part: 2, To: f.bank2.Bytes()})
	wantErr(t, err, receivables.ErrClosed)
}

func TestDueTime(t *testing.T) {
	f := newFixture(t)
	m := f.terms(90, 1)
	m.DueHeight, m.DueTime = 0, f.now.Add(time.Hour).Unix()
	id, _, err := f.register(f.supplier, m)
	must(t, err)
	_, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id})
	must(t, err)
	f.advance(59)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 90})
	wantErr(t, err, receivables.ErrNotDue)
	f.advance(1) // exactly due: payable, not yet past due
	_, err = f.do(f.tier2, &txpb.ReceivableMarkOverdue{Receivable: id})
	wantErr(t, err, receivables.ErrNotDue)
	f.advance(1)
	ev, err := f.do(f.tier2, &txpb.ReceivableMarkOverdue{Receivable: id})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"receivable_overdue"}) {
		t.Fatalf("events %v", got)
	}
	ev, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 90})
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "receivable_settled"}) {
		t.Fatalf("events %v", got)
	}
	if f.get(id).Status != receivables.StatusSettled {
		t.Fatal("not settled")
	}
	f.checkInvariants()
}

func TestRejectFreesInvoice(t *testing.T) {
	f := newFixture(t)
	// Someone files the supplier's invoice against the payer first; the
	// payer rejects it, and the real request goes through.
	id, _, err := f.register(f.tier2, f.terms(10, 1))
	must(t, err)
	_, _, err = f.register(f.supplier, f.terms(10, 1))
	wantErr(t, err, receivables.ErrDuplicateInvoice)
	_, err = f.do(f.tier2, &txpb.ReceivableConfirm{Receivable: id}) // not the payer
	wantErr(t, err, receivables.ErrWrongParty)
	_, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id, Reject: true, Reason: "not our invoice"})
	must(t, err)
	if r := f.get(id); r.Status != receivables.StatusRejected || r.Reason != "not our invoice" {
		t.Fatalf("rejected %+v", r)
	}
	_, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id})
	wantErr(t, err, receivables.ErrAlreadyConfirmed)
	id2, _, err := f.register(f.supplier, f.terms(10, 1))
	must(t, err)
	if owner, _ := f.k.InvoiceOwner(f.store, scf, invoice(1)); owner != id2 {
		t.Fatalf("invoice owner %s, want %s", owner, id2)
	}
	f.checkInvariants()
}

// TestRefusals: each bad message fails with its registered error and
// changes nothing (fixture.run compares the dump).
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	id := f.confirmed(1000, 1)
	pending, _, err := f.register(f.supplier, f.terms(50, 2))
	must(t, err)
	mod := func(change func(m *txpb.ReceivableRegister)) *txpb.ReceivableRegister {
		m := f.terms(10, 99)
		change(m)
		return m
	}
	for _, c := range []struct {
		name   string
		sender gmcrypto.Address
		m      *txpb.ReceivableRegister
		want   error
	}{
		{"double registration of an invoice", f.supplier, f.terms(1000, 1), receivables.ErrDuplicateInvoice},
		{"invoice of a pending request", f.sup2, f.terms(50, 2), receivables.ErrDuplicateInvoice},
		{"against itself", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Payer = f.supplier.Bytes() }), receivables.ErrSameParty},
		{"against its own organisation", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Payer = f.sup2.Bytes() }), receivables.ErrSameParty},
		{"zero face value", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.FaceValue = 0 }), receivables.ErrInvalidAmount},
		{"overflowing face value", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.FaceValue = 1 << 63 }), receivables.ErrInvalidAmount},
		{"unknown asset", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Asset = "EUR" }), payments.ErrUnknownAsset},
		{"short invoice hash", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.InvoiceHash = m.InvoiceHash[:31] }), receivables.ErrInvalidReceivable},
		{"no due", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.DueHeight = 0 }), receivables.ErrInvalidDue},
		{"both dues", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.DueTime = f.now.Unix() + 60 }), receivables.ErrInvalidDue},
		{"due height in the past", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.DueHeight = f.height }), receivables.ErrInvalidDue},
		{"due time in the past", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.DueHeight, m.DueTime = 0, f.now.Unix() }), receivables.ErrInvalidDue},
		{"bad payer", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Payer = []byte{1, 2} }), receivables.ErrInvalidReceivable},
		{"payer not a member", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Payer = f.outsider.Bytes() }), permission.ErrUnauthorized},
		{"long memo", f.supplier, mod(func(m *txpb.ReceivableRegister) { m.Memo = strings.Repeat("x", 257) }), receivables.ErrInvalidReceivable},
	} {
		t.Run("register/"+c.name, func(t *testing.T) {
			f.t = t
			_, _, err := f.register(c.sender, c.m)
			wantErr(t, err, c.want)
		})
	}
	f.t = t
	_, err = f.do(f.supplier, &txpb.ReceivablePledge{Receivable: id, Part: 1, Pledgee: f.bank2.Bytes()})
	must(t, err)
	id2 := f.confirmed(300, 3)
	_, err = f.do(f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.bank.Bytes(), Price: 290, ExpiryHeight: f.height + 5})
	must(t, err)
	unknown := f.nextTxID()
	for _, c := range []struct {
		name   string
		sender gmcrypto.Address
		m      any
		want   error
	}{
		{"a payee confirming its own receivable", f.supplier, &txpb.ReceivableConfirm{Receivable: pending}, receivables.ErrWrongParty},
		{"confirming twice", f.payer, &txpb.ReceivableConfirm{Receivable: id}, receivables.ErrAlreadyConfirmed},
		{"unknown receivable", f.payer, &txpb.ReceivableConfirm{Receivable: unknown}, receivables.ErrUnknownReceivable},
		{"malformed receivable id", f.payer, &txpb.ReceivableConfirm{Receivable: "XY"}, receivables.ErrUnknownReceivable},
		{"splitting an unconfirmed receivable", f.supplier, &txpb.ReceivableSplit{Receivable: pending, Part: 1, Amounts: []uint64{25, 25}}, receivables.ErrNotConfirmed},
		{"a non-holder splitting", f.tier2, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{100, 200}}, receivables.ErrWrongParty},
		{"the payer splitting", f.payer, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{100, 200}}, receivables.ErrWrongParty},
		{"split sums short", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{100, 199}}, receivables.ErrBadSplit},
		{"split sums over", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{100, 201}}, receivables.ErrBadSplit},
		{"split overflowing", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{1<<64 - 1, 301}}, receivables.ErrBadSplit},
		{"split with a zero part", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{300, 0}}, receivables.ErrBadSplit},
		{"split into one", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: []uint64{300}}, receivables.ErrBadSplit},
		{"split into too many", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 1, Amounts: slices.Repeat([]uint64{1}, 300)}, receivables.ErrTooManyParts},
		{"unknown part", f.supplier, &txpb.ReceivableSplit{Receivable: id2, Part: 2, Amounts: []uint64{150, 150}}, receivables.ErrUnknownPart},
		{"pledged part split", f.supplier, &txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{500, 500}}, receivables.ErrPledged},
		{"pledged part moved", f.supplier, &txpb.ReceivableTransfer{Receivable: id, Part: 1, To: f.tier2.Bytes()}, receivables.ErrPledged},
		{"pledged part offered", f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id, Part: 1, Bank: f.bank.Bytes(), Price: 9, ExpiryHeight: f.height + 5}, receivables.ErrPledged},
		{"pledged twice", f.supplier, &txpb.ReceivablePledge{Receivable: id, Part: 1, Pledgee: f.bank.Bytes()}, receivables.ErrPledged},
		{"the holder releasing its own pledge", f.supplier, &txpb.ReceivableUnpledge{Receivable: id, Part: 1}, receivables.ErrWrongParty},
		{"releasing an unpledged part", f.supplier, &txpb.ReceivableUnpledge{Receivable: id2, Part: 1}, receivables.ErrNotPledged},
		{"transfer to itself", f.supplier, &txpb.ReceivableTransfer{Receivable: id2, Part: 1, To: f.supplier.Bytes()}, receivables.ErrInvalidReceivable},
		{"transfer to a non-member", f.supplier, &txpb.ReceivableTransfer{Receivable: id2, Part: 1, To: f.outsider.Bytes()}, permission.ErrUnauthorized},
		{"a non-holder transferring", f.bank, &txpb.ReceivableTransfer{Receivable: id2, Part: 1, To: f.bank.Bytes()}, receivables.ErrWrongParty},
		{"pledge to a non-member", f.supplier, &txpb.ReceivablePledge{Receivable: id2, Part: 1, Pledgee: f.outsider.Bytes()}, permission.ErrUnauthorized},
		{"offer above the part", f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.bank.Bytes(), Price: 301, ExpiryHeight: f.height + 5}, receivables.ErrInvalidAmount},
		{"offer at zero", f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.bank.Bytes(), ExpiryHeight: f.height + 5}, receivables.ErrInvalidAmount},
		{"offer expired at once", f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.bank.Bytes(), Price: 1, ExpiryHeight: f.height}, receivables.ErrOfferExpired},
		{"a bank accepting a discount not offered to it", f.bank2, &txpb.ReceivableDiscountAccept{Receivable: id2, Part: 1, Price: 290}, receivables.ErrNoOffer},
		{"accepting at another price", f.bank, &txpb.ReceivableDiscountAccept{Receivable: id2, Part: 1, Price: 280}, receivables.ErrNoOffer},
		{"accepting where nothing is offered", f.bank, &txpb.ReceivableDiscountAccept{Receivable: id, Part: 1, Price: 1}, receivables.ErrNoOffer},
		{"settling by another than the payer", f.supplier, &txpb.ReceivableSettle{Receivable: id, Amount: 1}, receivables.ErrWrongParty},
		{"settling before due", f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 1}, receivables.ErrNotDue},
		{"settling an unconfirmed receivable", f.payer, &txpb.ReceivableSettle{Receivable: pending, Amount: 1}, receivables.ErrNotConfirmed},
		{"overdue before due", f.tier2, &txpb.ReceivableMarkOverdue{Receivable: id}, receivables.ErrNotDue},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			_, err := f.do(c.sender, c.m)
			wantErr(t, err, c.want)
		})
	}
	f.t = t
	// The offer lapses.
	f.advance(5)
	_, err = f.do(f.bank, &txpb.ReceivableDiscountAccept{Receivable: id2, Part: 1, Price: 290})
	wantErr(t, err, receivables.ErrOfferExpired)
	// A bank without the funds: payments' refusal, nothing moves.
	_, err = f.do(f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.tier2.Bytes(), Price: 290, ExpiryHeight: f.height + 5})
	must(t, err)
	_, err = f.do(f.tier2, &txpb.ReceivableDiscountAccept{Receivable: id2, Part: 1, Price: 290})
	wantErr(t, err, receivables.ErrInsufficientFunds)
	// A held holder is not paid: the guard refuses, nothing moves.
	_, err = f.do(f.supplier, &txpb.ReceivableDiscountOffer{Receivable: id2, Part: 1, Bank: f.bank.Bytes(), Price: 290, ExpiryHeight: f.height + 5})
	must(t, err)
	f.mayNotSend = f.supplier
	_, err = f.do(f.bank, &txpb.ReceivableDiscountAccept{Receivable: id2, Part: 1, Price: 290})
	wantErr(t, err, permission.ErrHeld)
	f.mayNotSend = gmcrypto.Address{}
	// The pledgee releases; the part moves again.
	_, err = f.do(f.bank2, &txpb.ReceivableUnpledge{Receivable: id, Part: 1})
	must(t, err)
	_, err = f.do(f.supplier, &txpb.ReceivableTransfer{Receivable: id, Part: 1, To: f.tier2.Bytes()})
	must(t, err)
	// A payer without the funds.
	f.advance(200)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id, Amount: 1000})
	must(t, err)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id2, Amount: 300})
	must(t, err)
	id3 := f.confirmed(100_000, 4)
	f.advance(200)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id3, Amount: 100_000})
	wantErr(t, err, receivables.ErrInsufficientFunds)
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id3, Amount: 0})
	wantErr(t, err, receivables.ErrInvalidAmount)
	// A partly paid part does not split.
	_, err = f.do(f.payer, &txpb.ReceivableSettle{Receivable: id3, Amount: 10})
	must(t, err)
	_, err = f.do(f.supplier, &txpb.ReceivableSplit{Receivable: id3, Part: 1, Amounts: []uint64{50_000, 50_000}})
	wantErr(t, err, receivables.ErrPartPaid)
	f.checkInvariants()
}

func TestShares(t *testing.T) {
	parts := func(out ...uint64) []receivables.Part {
		var ps []receivables.Part
		for i, o := range out {
			ps = append(ps, receivables.Part{ID: uint32(i + 1), Amount: o})
		}
		return ps
	}
	for _, c := range []struct {
		name   string
		parts  []receivables.Part
		amount uint64
		want   []uint64
	}{
		{"even", parts(600, 300, 100), 500, []uint64{300, 150, 50}},
		{"remainders to the largest", parts(1, 1, 1), 2, []uint64{1, 1, 0}},
		{"remainder to the larger fraction", parts(2, 5), 3, []uint64{1, 2}},
		{"all", parts(7, 11, 13), 31, []uint64{7, 11, 13}},
		{"huge", parts(1<<62, 1<<62-1), 1<<63 - 1, []uint64{1 << 62, 1<<62 - 1}},
		{"nothing", parts(5), 0, []uint64{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := receivables.Shares(c.parts, c.amount); !slices.Equal(got, c.want) {
				t.Fatalf("shares %v, want %v", got, c.want)
			}
		})
	}
}

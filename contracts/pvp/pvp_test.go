package pvp_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestSettleOnSecondFunding(t *testing.T) {
	f := newFixture(t)
	id, ev, err := f.propose(f.a, f.terms(700, 800))
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"pvp_proposed"}) {
		t.Fatalf("events %v", got)
	}
	tr := f.trade(id)
	if tr.Rate != "1.1428571429" || tr.ReceiverA != f.a.String() || tr.ReceiverB != f.b.String() || tr.Status != pvp.StatusOpen {
		t.Fatalf("trade %+v", tr)
	}
	ev, err = f.fund(f.a, id, pvp.LegA)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "pvp_funded"}) {
		t.Fatalf("events %v", got)
	}
	esc, _ := gmcrypto.ParseAddress(tr.A.Escrow)
	if f.balance(onshore, "CNY", esc) != 700 || f.balance(onshore, "CNY", f.a) != 9300 {
		t.Fatal("leg A not in escrow")
	}
	f.checkInvariants()
	ev, err = f.fund(f.b, id, pvp.LegB)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "pvp_funded", "transfer", "transfer", "pvp_settled"}) {
		t.Fatalf("events %v", got)
	}
	f.checkInvariants()
	if f.balance(onshore, "CNY", f.b) != 10_700 || f.balance(offshore, "HKD", f.a) != 10_800 || f.balance(offshore, "HKD", f.b) != 9200 {
		t.Fatal("legs not settled")
	}
	if tr := f.trade(id); tr.Status != pvp.StatusSettled || tr.ClosedBy != f.b.String() {
		t.Fatalf("trade %+v", tr)
	}
	// Settling twice, funding or refunding a settled trade: closed.
	_, err = f.settle(f.a, id)
	wantErr(t, err, pvp.ErrClosed)
	_, err = f.refund(f.a, id)
	wantErr(t, err, pvp.ErrClosed)
	_, err = f.fund(f.a, id, pvp.LegA)
	wantErr(t, err, pvp.ErrClosed)
}

func TestValueHeightAndSettle(t *testing.T) {
	f := newFixture(t)
	m := f.terms(100, 100)
	m.ValueHeight = f.height + 5
	m.ReceiverA, m.ReceiverB = f.a2.Bytes(), nil
	id, _, err := f.propose(f.a, m)
	must(t, err)
	_, err = f.fund(f.b, id, pvp.LegB)
	must(t, err)
	_, err = f.settle(f.c, id)
	wantErr(t, err, pvp.ErrNotReady)
	ev, err := f.fund(f.a, id, pvp.LegA)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "pvp_funded"}) {
		t.Fatalf("events before the value height %v", got)
	}
	f.checkInvariants()
	_, err = f.settle(f.c, id)
	wantErr(t, err, pvp.ErrNotReady)
	f.height += 5
	f.mayNotSend = f.a2 // a held receiver: settlement refused, nothing moves
	_, err = f.settle(f.c, id)
	wantErr(t, err, permission.ErrHeld)
	f.mayNotSend = gmcrypto.Address{}
	ev, err = f.settle(f.c, id)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "transfer", "pvp_settled"}) {
		t.Fatalf("events %v", got)
	}
	if f.balance(offshore, "HKD", f.a2) != 10_100 {
		t.Fatal("receiver A not paid")
	}
	f.checkInvariants()
}

func TestRefund(t *testing.T) {
	f := newFixture(t)
	id, _, err := f.propose(f.a, f.terms(300, 400))
	must(t, err)
	_, err = f.fund(f.a, id, pvp.LegA)
	must(t, err)
	_, err = f.refund(f.c, id) // not a party, not expired
	wantErr(t, err, pvp.ErrNotExpired)
	f.height += 20
	_, err = f.fund(f.b, id, pvp.LegB) // expired: no funding
	wantErr(t, err, pvp.ErrExpired)
	ev, err := f.refund(f.c, id)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"transfer", "pvp_refunded"}) {
		t.Fatalf("events %v", got)
	}
	if f.balance(onshore, "CNY", f.a) != 10_000 || f.trade(id).Status != pvp.StatusRefunded {
		t.Fatal("leg A not refunded")
	}
	f.checkInvariants()
	_, err = f.refund(f.c, id)
	wantErr(t, err, pvp.ErrClosed)

	// A party cancels before expiry.
	id2, _, err := f.propose(f.a, f.terms(1, 2))
	must(t, err)
	_, err = f.fund(f.b, id2, pvp.LegB)
	must(t, err)
	_, err = f.refund(f.b, id2)
	must(t, err)
	if f.balance(offshore, "HKD", f.b) != 10_000 {
		t.Fatal("leg B not refunded")
	}
	f.checkInvariants()
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// TestRefusals: each bad message fails with its registered error and
// changes nothing (fixture.run compares the dump).
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	open, _, err := f.propose(f.a, f.terms(10, 20))
	must(t, err)
	_, err = f.fund(f.a, open, pvp.LegA)
	must(t, err)
	mod := func(change func(m *txpb.PvpPropose)) *txpb.PvpPropose {
		m := f.terms(10, 20)
		change(m)
		return m
	}
	for _, c := range []struct {
		name   string
		sender gmcrypto.Address
		m      *txpb.PvpPropose
		want   error
	}{
		{"with itself", f.a, mod(func(m *txpb.PvpPropose) { m.Counterparty = f.a.Bytes() }), pvp.ErrSameSide},
		{"both legs the same asset", f.a, mod(func(m *txpb.PvpPropose) { m.LegB = &txpb.PvpLeg{Ledger: onshore, Asset: "CNY", Amount: 5} }), pvp.ErrSameSide},
		{"receivers of one bank", f.a, mod(func(m *txpb.PvpPropose) { m.ReceiverB = f.a2.Bytes() }), pvp.ErrSameSide},
		{"zero amount", f.a, mod(func(m *txpb.PvpPropose) { m.LegA.Amount = 0 }), pvp.ErrInvalidAmount},
		{"overflowing amount", f.a, mod(func(m *txpb.PvpPropose) { m.LegB.Amount = math.MaxUint64 }), pvp.ErrInvalidAmount},
		{"unknown asset", f.a, mod(func(m *txpb.PvpPropose) { m.LegB.Asset = "EUR" }), payments.ErrUnknownAsset},
		{"no leg", f.a, mod(func(m *txpb.PvpPropose) { m.LegA = nil }), pvp.ErrInvalidTrade},
		{"unknown ledger", f.a, mod(func(m *txpb.PvpPropose) { m.LegB.Ledger = "eur" }), pvp.ErrUnknownLedger},
		{"system ledger", f.a, mod(func(m *txpb.PvpPropose) { m.LegA.Ledger = permission.SystemLedger }), pvp.ErrInvalidTrade},
		{"expiry in the past", f.a, mod(func(m *txpb.PvpPropose) { m.ExpiryHeight = f.height }), pvp.ErrInvalidExpiry},
		{"expiry too far", f.a, mod(func(m *txpb.PvpPropose) { m.ExpiryHeight = f.height + pvp.MaxExpiryBlocks + 1 }), pvp.ErrInvalidExpiry},
		{"value after expiry", f.a, mod(func(m *txpb.PvpPropose) { m.ValueHeight = m.ExpiryHeight }), pvp.ErrInvalidExpiry},
		{"bad counterparty", f.a, mod(func(m *txpb.PvpPropose) { m.Counterparty = []byte{1} }), pvp.ErrInvalidTrade},
		{"counterparty not on leg B's ledger", f.a, mod(func(m *txpb.PvpPropose) { m.Counterparty = f.c.Bytes() }), permission.ErrUnauthorized},
		{"proposer not a member", f.outsider, f.terms(10, 20), permission.ErrUnauthorized},
		{"receiver not a payee", f.a, mod(func(m *txpb.PvpPropose) { m.ReceiverA = addr(99).Bytes() }), permission.ErrUnknownPayee},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			_, _, err := f.propose(c.sender, c.m)
			wantErr(t, err, c.want)
		})
	}
	f.t = t
	for _, c := range []struct {
		name   string
		sender gmcrypto.Address
		trade  string
		leg    string
		want   error
	}{
		{"funding the other's leg", f.a, open, pvp.LegB, pvp.ErrWrongParty},
		{"funding by another bank", f.c, open, pvp.LegB, pvp.ErrWrongParty},
		{"another identity of the bank", f.a2, open, pvp.LegA, pvp.ErrWrongParty},
		{"double funding", f.a, open, pvp.LegA, pvp.ErrAlreadyFunded},
		{"no such leg", f.b, open, "C", pvp.ErrInvalidTrade},
		{"unknown trade", f.b, f.nextTxID(), pvp.LegB, pvp.ErrUnknownTrade},
		{"malformed trade id", f.b, "XY", pvp.LegB, pvp.ErrUnknownTrade},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			_, err := f.fund(c.sender, c.trade, c.leg)
			wantErr(t, err, c.want)
		})
	}
	f.t = t
	// Funding beyond the balance: payments refuses, nothing moves.
	big, _, err := f.propose(f.a, f.terms(20_000, 1))
	must(t, err)
	_, err = f.fund(f.a, big, pvp.LegA)
	wantErr(t, err, payments.ErrInsufficientFunds)
	_, err = f.settle(f.c, open)
	wantErr(t, err, pvp.ErrNotReady)
	// A held funder funds nothing.
	f.mayNotSend = f.b
	_, err = f.fund(f.b, open, pvp.LegB)
	wantErr(t, err, permission.ErrHeld)
	f.checkInvariants()
}

// TestEscrowNotPayable: nobody can pay into an escrow outside a funding,
// so its balance is exactly its funded leg.
func TestEscrowNotPayable(t *testing.T) {
	f := newFixture(t)
	id, _, err := f.propose(f.a, f.terms(10, 20))
	must(t, err)
	esc, _ := gmcrypto.ParseAddress(f.trade(id).A.Escrow)
	_, err = f.run(func(kv ledgerKV) ([]abciEvent, error) {
		return f.pay.Transfer(kv, onshore, f.c, "CNY", esc.Bytes(), 5, "")
	})
	wantErr(t, err, permission.ErrUnknownPayee)
}

func TestEventsParse(t *testing.T) {
	f := newFixture(t)
	id, _, err := f.propose(f.a, f.terms(2, 3))
	must(t, err)
	_, err = f.fund(f.a, id, pvp.LegA)
	must(t, err)
	ev, err := f.fund(f.b, id, pvp.LegB)
	must(t, err)
	m, ok, err := wire.ParseEvent(ev[len(ev)-1])
	if err != nil || !ok {
		t.Fatal(err)
	}
	s := m.(*txpb.EventPvpSettled)
	if s.Trade != id || s.AmountA != 2 || s.AmountB != 3 || s.Rate != "1.5000000000" || s.LedgerB != offshore {
		t.Fatalf("settled event %+v", s)
	}
}

package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func receivableMsg(body any) *txpb.Message {
	switch b := body.(type) {
	case *txpb.ReceivableRegister:
		return &txpb.Message{Body: &txpb.Message_ReceivableRegister{ReceivableRegister: b}}
	case *txpb.ReceivableConfirm:
		return &txpb.Message{Body: &txpb.Message_ReceivableConfirm{ReceivableConfirm: b}}
	case *txpb.ReceivableSplit:
		return &txpb.Message{Body: &txpb.Message_ReceivableSplit{ReceivableSplit: b}}
	case *txpb.ReceivableTransfer:
		return &txpb.Message{Body: &txpb.Message_ReceivableTransfer{ReceivableTransfer: b}}
	case *txpb.ReceivablePledge:
		return &txpb.Message{Body: &txpb.Message_ReceivablePledge{ReceivablePledge: b}}
	case *txpb.ReceivableUnpledge:
		return &txpb.Message{Body: &txpb.Message_ReceivableUnpledge{ReceivableUnpledge: b}}
	case *txpb.ReceivableDiscountOffer:
		return &txpb.Message{Body: &txpb.Message_ReceivableDiscountOffer{ReceivableDiscountOffer: b}}
	case *txpb.ReceivableDiscountAccept:
		return &txpb.Message{Body: &txpb.Message_ReceivableDiscountAccept{ReceivableDiscountAccept: b}}
	case *txpb.ReceivableSettle:
		return &txpb.Message{Body: &txpb.Message_ReceivableSettle{ReceivableSettle: b}}
	case *txpb.ReceivableMarkOverdue:
		return &txpb.Message{Body: &txpb.Message_ReceivableMarkOverdue{ReceivableMarkOverdue: b}}
	}
	panic("not a receivables message")
}

// A supplier chain end to end through signed envelopes and real blocks,
// on the payments ledger: the supplier (payee, bankC) requests 60 CNY on
// the core enterprise (member, bankB), which confirms; the supplier
// splits it, pledges and releases a part, and discounts a part to a bank
// (officer, bankA) against payment in one transaction; at the due time the
// core enterprise pays half (pro rata, overdue), then the rest. Every
// refusal names its problem and changes nothing.
func TestReceivablesSupplyChain(t *testing.T) {
	n := newCustodyNet(t)
	send := func(k *gmcrypto.PrivateKey, m any) *abci.ExecTxResult {
		t.Helper()
		return n.send(k, receivableMsg(m))
	}
	addr := func(k *gmcrypto.PrivateKey) []byte { return k.Public().Address().Bytes() }
	// refused sends m in a block of its own and requires it refused with
	// e, naming want, and the ledger's tree unchanged.
	refused := func(k *gmcrypto.PrivateKey, m any, e interface{ Code() uint32 }, want string) {
		t.Helper()
		before := n.root("payments")
		refusedWith(t, send(k, m), e, want)
		if !bytes.Equal(before, n.root("payments")) {
			t.Fatalf("refused %T changed the ledger", m)
		}
	}
	// The bank's funds.
	n.checkEvents(n.send(n.member, &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: addr(n.officer), Amount: 30}}}))

	inv := gmcrypto.SM3([]byte("invoice 2026-0042"))
	due := n.now.Unix() + 20
	raw := n.tx(n.payee, "bankC", "payments", receivableMsg(&txpb.ReceivableRegister{Payer: addr(n.member), Asset: "CNY", FaceValue: 60,
		DueTime: due, InvoiceHash: inv[:], Memo: "steel, lot 7"}))
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	id := tx.ID
	if got := n.checkEvents(n.block(raw)[0]); !slices.Equal(got, []string{"receivable_requested"}) {
		t.Fatalf("register events %v", got)
	}
	// No double financing: the same invoice again, by anyone.
	refused(n.officer, &txpb.ReceivableRegister{Payer: addr(n.member), Asset: "CNY", FaceValue: 60, DueTime: due, InvoiceHash: inv[:]},
		receivables.ErrDuplicateInvoice, "is registered by receivable "+id)
	// The payee cannot confirm its own receivable; the payer does.
	refused(n.payee, &txpb.ReceivableConfirm{Receivable: id}, receivables.ErrWrongParty, "confirmed by its payer")
	if got := n.checkEvents(send(n.member, &txpb.ReceivableConfirm{Receivable: id})); !slices.Equal(got, []string{"receivable_confirmed"}) {
		t.Fatalf("confirm events %v", got)
	}
	refused(n.member, &txpb.ReceivableSettle{Receivable: id, Amount: 60}, receivables.ErrNotDue, "is due at")
	// A non-holder cannot split it; the holder can.
	refused(n.officer, &txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{40, 20}}, receivables.ErrWrongParty, "held by")
	refused(n.payee, &txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{40, 21}}, receivables.ErrBadSplit, "exceed part 1")
	n.checkEvents(send(n.payee, &txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{40, 20}}))
	// A pledged part cannot move until the pledgee releases it.
	n.checkEvents(send(n.payee, &txpb.ReceivablePledge{Receivable: id, Part: 2, Pledgee: addr(n.officer)}))
	refused(n.payee, &txpb.ReceivableTransfer{Receivable: id, Part: 2, To: addr(n.officer)}, receivables.ErrPledged, "pledged to")
	refused(n.payee, &txpb.ReceivableUnpledge{Receivable: id, Part: 2}, receivables.ErrWrongParty, "only it releases")
	n.checkEvents(send(n.officer, &txpb.ReceivableUnpledge{Receivable: id, Part: 2}))
	// Discount: offered to the bank, accepted by it only, paid and
	// delivered in one transaction.
	n.checkEvents(send(n.payee, &txpb.ReceivableDiscountOffer{Receivable: id, Part: 2, Bank: addr(n.officer), Price: 25, ExpiryHeight: n.height + 10}))
	refused(n.member, &txpb.ReceivableDiscountAccept{Receivable: id, Part: 2, Price: 25}, receivables.ErrNoOffer, "not offered to")
	if got := n.checkEvents(send(n.officer, &txpb.ReceivableDiscountAccept{Receivable: id, Part: 2, Price: 25})); !slices.Equal(got,
		[]string{"transfer", "receivable_discounted"}) {
		t.Fatalf("accept events %v", got)
	}
	if n.balanceOf("payments", "CNY", n.payee) != 25 || n.balanceOf("payments", "CNY", n.officer) != 5 {
		t.Fatal("discount not paid")
	}
	n.invariantsHold()

	for n.now.Unix() < due {
		n.block()
	}
	// Half at due: part 2 (40, the bank) gets 20, part 3 (20, the
	// supplier) 10; what is left is overdue.
	if got := n.checkEvents(send(n.member, &txpb.ReceivableSettle{Receivable: id, Amount: 30})); !slices.Equal(got,
		[]string{"transfer", "transfer", "receivable_settled", "receivable_overdue"}) {
		t.Fatalf("settle events %v", got)
	}
	if n.balanceOf("payments", "CNY", n.officer) != 25 || n.balanceOf("payments", "CNY", n.payee) != 35 {
		t.Fatal("not paid pro rata")
	}
	n.checkEvents(send(n.member, &txpb.ReceivableSettle{Receivable: id, Amount: 30}))
	refused(n.member, &txpb.ReceivableSettle{Receivable: id, Amount: 1}, receivables.ErrAlreadySettled, "paid in full")
	if n.balanceOf("payments", "CNY", n.officer) != 45 || n.balanceOf("payments", "CNY", n.payee) != 45 || n.balanceOf("payments", "CNY", n.member) != 10 {
		t.Fatal("not paid in full")
	}
	n.invariantsHold()

	var r ReceivableResponse
	n.query(QueryReceivable, ReceivableRequest{Ledger: "payments", Invoice: hex.EncodeToString(inv[:])}, &r)
	if r.ID != id || r.Status != receivables.StatusSettled || r.Paid != 60 || len(r.Parts) != 2 || r.Parts[0].Holder != n.officer.Public().Address().String() {
		t.Fatalf("receivable %+v", r)
	}
	var list ReceivablesResponse
	n.query(QueryReceivables, ReceivablesRequest{Ledger: "payments", Holder: n.officer.Public().Address().String()}, &list)
	if len(list.Receivables) != 1 || list.Receivables[0].ID != id {
		t.Fatalf("bank's receivables %+v", list)
	}
	n.query(QueryReceivables, ReceivablesRequest{Ledger: "payments", Holder: n.member.Public().Address().String()}, &list)
	if len(list.Receivables) != 0 {
		t.Fatalf("payer holds %+v", list)
	}
	var inv2 InvariantsResponse
	n.query(QueryInvariants, nil, &inv2)
	if len(inv2.Receivables) != 1 || !inv2.Receivables[0].Holds || inv2.Receivables[0].SumParts != 60 {
		t.Fatalf("invariants %+v", inv2.Receivables)
	}
}

// The app's gates before the contract: a receivables message goes on a
// sub-ledger, by a member of it; a sanctioned payer, a held sender are
// refused; an unknown receivable is named.
func TestReceivablesAdmission(t *testing.T) {
	n := newCustodyNet(t)
	inv := gmcrypto.SM3([]byte("invoice 1"))
	reg := &txpb.ReceivableRegister{Payer: n.member.Public().Address().Bytes(), Asset: "CNY", FaceValue: 10, DueHeight: n.height + 50, InvoiceHash: inv[:]}
	refusedWith(t, n.block(n.sys(n.payee, "bankC", receivableMsg(reg)))[0], ErrUnknownLedger, "messages go on a sub-ledger")
	// The committee identity of bankC is no member of payments.
	refusedWith(t, n.block(n.tx(n.committee["bankC"], "bankC", "payments", receivableMsg(reg)))[0], permission.ErrUnauthorized, "receivable_register")
	refusedWith(t, n.send(n.payee, receivableMsg(&txpb.ReceivableSettle{Receivable: hex.EncodeToString(inv[:]), Amount: 1})),
		receivables.ErrUnknownReceivable, "no receivable")
	// The mempool refuses what the block would, with the same code.
	if r := n.check(n.tx(n.payee, "bankC", "payments", receivableMsg(&txpb.ReceivableConfirm{Receivable: hex.EncodeToString(inv[:])}))); r.Code != receivables.ErrUnknownReceivable.Code() || r.Codespace != "receivables" {
		t.Fatalf("CheckTx of an unknown receivable: %d %s %s", r.Code, r.Codespace, r.Log)
	}
	// A sanctioned payer: nobody registers against it.
	n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{
		Account: n.member.Public().Address().Bytes(), Entry: "TEST-1", Reason: "test"}}})))
	if r := n.send(n.payee, receivableMsg(reg)); r.Code != permission.ErrSanctioned.Code() {
		t.Fatalf("sanctioned payer: code %d %s", r.Code, r.Log)
	}
	n.invariantsHold()
	b, _ := json.Marshal(ReceivableRequest{Ledger: "payments"})
	if r, _ := n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryReceivable, Data: b}); r.Code != ErrBadQuery.Code() {
		t.Fatalf("receivable query without id: %d %s", r.Code, r.Log)
	}
}

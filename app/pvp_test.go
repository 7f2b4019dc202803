package app

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func pvpMsg(body any) *txpb.Message {
	switch b := body.(type) {
	case *txpb.PvpPropose:
		return &txpb.Message{Body: &txpb.Message_PvpPropose{PvpPropose: b}}
	case *txpb.PvpFund:
		return &txpb.Message{Body: &txpb.Message_PvpFund{PvpFund: b}}
	case *txpb.PvpSettle:
		return &txpb.Message{Body: &txpb.Message_PvpSettle{PvpSettle: b}}
	case *txpb.PvpRefund:
		return &txpb.Message{Body: &txpb.Message_PvpRefund{PvpRefund: b}}
	}
	panic("not a pvp message")
}

// newPvpNet is a custodyNet with a second sub-ledger, hkd, and its asset
// HKD (issuer bankB), both created by governance; the officer (bankA)
// holds 200 HKD, the member (bankB) 100 CNY on payments.
func newPvpNet(t *testing.T) *custodyNet {
	n := newCustodyNet(t)
	pass := func(p *txpb.Propose) {
		t.Helper()
		if got := n.passBy("bankA", p, "bankB", "bankC"); got.Status != permission.StatusPassed {
			t.Fatalf("%s: %s %s", got.Type, got.Status, got.Result)
		}
	}
	pass(&txpb.Propose{Action: &txpb.Propose_CreateLedger{CreateLedger: &txpb.CreateLedger{Name: "hkd", MemberOrgs: []string{"bankA", "bankB", "bankC"}}}})
	pass(&txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: &txpb.CreateAsset{Ledger: "hkd", Symbol: "HKD", Issuer: "bankB", Decimals: 2}}})
	issuer := n.committee["bankB"]
	pass(&txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: issuer.Public().Address().Bytes(), Org: "bankB", Role: "issuer:hkd/HKD"}}})
	n.mustOK(n.block(n.tx(issuer, "bankB", "hkd", &txpb.Message{Body: &txpb.Message_Issue{Issue: &txpb.Issue{Asset: "HKD",
		To: n.officer.Public().Address().Bytes(), Amount: 200}}})))
	return n
}

// pvpSend has k send m on the _system channel in a block of its own.
func pvpSend(n *custodyNet, k *gmcrypto.PrivateKey, m any) *abci.ExecTxResult {
	n.t.Helper()
	return n.block(n.sys(k, n.orgOf(k), pvpMsg(m)))[0]
}

// pvpPropose has the member (bankB) propose 60 CNY on payments against
// the officer's (bankA) 50 HKD on hkd; it returns the trade id.
func pvpPropose(n *custodyNet, expiryIn int64) string {
	n.t.Helper()
	raw := n.sys(n.member, "bankB", pvpMsg(&txpb.PvpPropose{Counterparty: n.officer.Public().Address().Bytes(),
		LegA:         &txpb.PvpLeg{Ledger: "payments", Asset: "CNY", Amount: 60},
		LegB:         &txpb.PvpLeg{Ledger: "hkd", Asset: "HKD", Amount: 50},
		ExpiryHeight: n.height + 1 + expiryIn}))
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		n.t.Fatal(err)
	}
	if got := n.checkEvents(n.block(raw)[0]); !slices.Equal(got, []string{"pvp_proposed"}) {
		n.t.Fatalf("propose events %v", got)
	}
	return tx.ID
}

// A cross-border trade end to end through signed envelopes: the second
// funding settles both legs in its block; the wrong party cannot fund a
// leg; members of either ledger can read it, and the invariants hold.
func TestPvpSettlesAtomically(t *testing.T) {
	n := newPvpNet(t)
	id := pvpPropose(n, 10)
	cny0, hkd0 := n.balanceOf("payments", "CNY", n.member), n.balanceOf("hkd", "HKD", n.officer)

	// The officer (bankA) pays leg B, not leg A; the member not leg B.
	refusedWith(t, pvpSend(n, n.officer, &txpb.PvpFund{Trade: id, Leg: pvp.LegA}), pvp.ErrWrongParty, "leg A")
	refusedWith(t, pvpSend(n, n.member, &txpb.PvpFund{Trade: id, Leg: pvp.LegB}), pvp.ErrWrongParty, "leg B")
	// On a sub-ledger's channel a pvp message is refused.
	refusedWith(t, n.send(n.member, pvpMsg(&txpb.PvpFund{Trade: id, Leg: pvp.LegA})), wire.ErrUnknownMessage, "_system")

	if got := n.checkEvents(pvpSend(n, n.member, &txpb.PvpFund{Trade: id, Leg: pvp.LegA})); !slices.Equal(got, []string{"transfer", "pvp_funded"}) {
		t.Fatalf("fund A events %v", got)
	}
	refusedWith(t, pvpSend(n, n.member, &txpb.PvpFund{Trade: id, Leg: pvp.LegA}), pvp.ErrAlreadyFunded, "funded")
	n.invariantsHold()
	if got := n.checkEvents(pvpSend(n, n.officer, &txpb.PvpFund{Trade: id, Leg: pvp.LegB})); !slices.Equal(got,
		[]string{"transfer", "pvp_funded", "transfer", "transfer", "pvp_settled"}) {
		t.Fatalf("fund B events %v", got)
	}
	if n.balanceOf("payments", "CNY", n.member) != cny0-60 || n.balanceOf("payments", "CNY", n.officer) != 60 ||
		n.balanceOf("hkd", "HKD", n.officer) != hkd0-50 || n.balanceOf("hkd", "HKD", n.member) != 50 {
		t.Fatal("legs not settled")
	}
	n.invariantsHold()
	refusedWith(t, pvpSend(n, n.payee, &txpb.PvpSettle{Trade: id}), pvp.ErrClosed, "settled")

	var tr PvpTradeResponse
	n.query(QueryPvpTrade, PvpRequest{Ledger: "hkd", Trade: id}, &tr)
	if tr.Status != pvp.StatusSettled || tr.Rate != "0.8333333333" || tr.A.Ledger != "payments" {
		t.Fatalf("trade %+v", tr)
	}
	var list PvpTradesResponse
	n.query(QueryPvpTrades, PvpRequest{Ledger: "payments", Party: n.officer.Public().Address().String()}, &list)
	if len(list.Trades) != 1 || list.Trades[0].ID != id {
		t.Fatalf("trades %+v", list)
	}
	n.query(QueryPvpTrades, PvpRequest{Ledger: "payments", Party: n.payee.Public().Address().String()}, &list)
	if len(list.Trades) != 0 {
		t.Fatalf("payee's trades %+v", list)
	}
	b, _ := json.Marshal(PvpRequest{Ledger: "custody", Trade: id})
	if r, _ := n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryPvpTrade, Data: b}); r.Code == 0 {
		t.Fatal("a trade read through a ledger it is not on")
	}
}

// After the expiry height nothing funds nor settles, and anyone refunds
// the funded leg.
func TestPvpExpiryRefund(t *testing.T) {
	n := newPvpNet(t)
	id := pvpPropose(n, 3)
	cny0 := n.balanceOf("payments", "CNY", n.member)
	n.checkEvents(pvpSend(n, n.member, &txpb.PvpFund{Trade: id, Leg: pvp.LegA}))
	if n.balanceOf("payments", "CNY", n.member) != cny0-60 {
		t.Fatal("leg A not in escrow")
	}
	refusedWith(t, pvpSend(n, n.payee, &txpb.PvpRefund{Trade: id}), pvp.ErrNotExpired, "expires")
	n.block()
	refusedWith(t, pvpSend(n, n.officer, &txpb.PvpFund{Trade: id, Leg: pvp.LegB}), pvp.ErrExpired, "expired")
	if got := n.checkEvents(pvpSend(n, n.payee, &txpb.PvpRefund{Trade: id})); !slices.Equal(got, []string{"transfer", "pvp_refunded"}) {
		t.Fatalf("refund events %v", got)
	}
	if n.balanceOf("payments", "CNY", n.member) != cny0 || n.balanceOf("hkd", "HKD", n.member) != 0 {
		t.Fatal("leg A not refunded")
	}
	n.invariantsHold()
	var tr PvpTradeResponse
	n.query(QueryPvpTrade, PvpRequest{Ledger: "payments", Trade: id}, &tr)
	if tr.Status != pvp.StatusRefunded || tr.ClosedBy != n.payee.Public().Address().String() {
		t.Fatalf("trade %+v", tr)
	}
}

// Sanctions apply as for transfers: a sanctioned receiver stops the
// proposal.
func TestPvpSanctioned(t *testing.T) {
	n := newPvpNet(t)
	n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{
		Account: n.officer.Public().Address().Bytes(), Entry: "SDN-1"}}})))
	r := n.block(n.sys(n.member, "bankB", pvpMsg(&txpb.PvpPropose{Counterparty: n.officer.Public().Address().Bytes(),
		LegA:         &txpb.PvpLeg{Ledger: "payments", Asset: "CNY", Amount: 60},
		LegB:         &txpb.PvpLeg{Ledger: "hkd", Asset: "HKD", Amount: 50},
		ExpiryHeight: n.height + 10})))[0]
	refusedWith(t, r, permission.ErrSanctioned, "sanction")
}

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// custodyNet is a govNet with a third member identity, of bankA, so that
// custody accounts have signers of three organisations: member (bankB,
// 100 CNY), payee (bankC) and officer (bankA).
type custodyNet struct {
	*govNet
	officer *gmcrypto.PrivateKey
}

func newCustodyNet(t *testing.T) *custodyNet {
	n := &custodyNet{govNet: newGovNet(t, Params{}), officer: mustKey(t)}
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{
		Address: n.officer.Public().Address().Bytes(), Name: "officer", Roles: []string{"member"}}}})))
	return n
}

func (n *custodyNet) orgOf(k *gmcrypto.PrivateKey) string {
	switch k {
	case n.member:
		return "bankB"
	case n.payee:
		return "bankC"
	case n.officer:
		return "bankA"
	case n.regulator:
		return "bankD"
	}
	for org, c := range n.committee {
		if c == k {
			return org
		}
	}
	n.t.Fatal("unknown key")
	return ""
}

// send has k send m on the payments ledger in a block of its own.
func (n *custodyNet) send(k *gmcrypto.PrivateKey, m *txpb.Message) *abci.ExecTxResult {
	n.t.Helper()
	return n.block(n.tx(k, n.orgOf(k), "payments", m))[0]
}

func custodyMsg(body any) *txpb.Message {
	switch b := body.(type) {
	case *txpb.CustodyCreate:
		return &txpb.Message{Body: &txpb.Message_CustodyCreate{CustodyCreate: b}}
	case *txpb.CustodyPropose:
		return &txpb.Message{Body: &txpb.Message_CustodyPropose{CustodyPropose: b}}
	case *txpb.CustodyApprove:
		return &txpb.Message{Body: &txpb.Message_CustodyApprove{CustodyApprove: b}}
	case *txpb.CustodyVeto:
		return &txpb.Message{Body: &txpb.Message_CustodyVeto{CustodyVeto: b}}
	case *txpb.CustodyExecute:
		return &txpb.Message{Body: &txpb.Message_CustodyExecute{CustodyExecute: b}}
	case *txpb.CustodySetSigners:
		return &txpb.Message{Body: &txpb.Message_CustodySetSigners{CustodySetSigners: b}}
	}
	panic("not a custody message")
}

func addrs(ks ...*gmcrypto.PrivateKey) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = k.Public().Address().Bytes()
	}
	return out
}

// checkEvents requires r to have succeeded and every event it emitted to
// decode and be declared in its message's registry entry; it returns the
// event types, without the closing jinlian_tx.
func (n *custodyNet) checkEvents(r *abci.ExecTxResult) []string {
	n.t.Helper()
	if r.Code != 0 {
		n.t.Fatalf("code %d: %s", r.Code, r.Log)
	}
	var name string
	var types []string
	for _, e := range r.Events {
		m, ok, err := wire.ParseEvent(e)
		if !ok || err != nil {
			n.t.Fatalf("event %s: %v %v", e.Type, ok, err)
		}
		if j, isTx := m.(*txpb.EventJinlianTx); isTx {
			name = j.Type
			continue
		}
		types = append(types, e.Type)
	}
	spec := specNamed(n.t.(*testing.T), name)
	for _, typ := range types {
		if !slices.Contains(spec.EventTypes(), typ) {
			n.t.Errorf("%s emitted %s, not declared in the registry (%v)", name, typ, spec.EventTypes())
		}
	}
	return types
}

func (n *custodyNet) query(path string, req, out any) {
	n.t.Helper()
	b, _ := json.Marshal(req)
	r, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: b})
	if err != nil || r.Code != 0 {
		n.t.Fatalf("%s: %v %s", path, err, r.Log)
	}
	if err := json.Unmarshal(r.Value, out); err != nil {
		n.t.Fatal(err)
	}
}

func refusedWith(t *testing.T, r *abci.ExecTxResult, e interface{ Code() uint32 }, want string) {
	t.Helper()
	if r.Code != e.Code() || !strings.Contains(r.Log, want) {
		t.Fatalf("code %d %q, want code %d naming %q", r.Code, r.Log, e.Code(), want)
	}
}

// Dual control end to end, through signed envelopes and real blocks: an
// account of three banks' signers, two of three, a time lock of two
// blocks and a daily limit; a single signer cannot move its funds in any
// way; two can, once the lock has run out; holds and sanctions apply to
// it; the queries show it; the invariants hold.
func TestCustodyDualControl(t *testing.T) {
	n := newCustodyNet(t)
	ledgerRoot := func() []byte { return n.root("payments") }

	r := n.send(n.member, custodyMsg(&txpb.CustodyCreate{Signers: addrs(n.member, n.payee, n.officer), Threshold: 2,
		TimelockBlocks: 2, DailyLimits: []*txpb.CustodyLimit{{Asset: "CNY", Amount: 60}}, Memo: "treasury vault"}))
	if got := n.checkEvents(r); !slices.Equal(got, []string{"custody_created"}) {
		t.Fatalf("events %v", got)
	}
	m, _, _ := wire.ParseEvent(r.Events[0])
	created := m.(*txpb.EventCustodyCreated)
	vault, err := gmcrypto.ParseAddress(created.Account)
	if err != nil || created.Threshold != 2 || created.DailyLimits != "CNY:60" || created.ExpiryBlocks != custody.DefaultExpiryBlocks {
		t.Fatalf("created %+v %v", created, err)
	}
	// The account is a payee though no identity: funds can be sent to it.
	n.checkEvents(n.send(n.member, &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: vault.Bytes(), Amount: 80}}}))

	acct := vault.Bytes()
	propose := func(k *gmcrypto.PrivateKey, amount uint64, to *gmcrypto.PrivateKey) *abci.ExecTxResult {
		return n.send(k, custodyMsg(&txpb.CustodyPropose{Account: acct, Asset: "CNY", To: to.Public().Address().Bytes(), Amount: amount, Memo: "pay supplier"}))
	}
	approve := func(k *gmcrypto.PrivateKey, id uint64) *abci.ExecTxResult {
		return n.send(k, custodyMsg(&txpb.CustodyApprove{Account: acct, Proposal: id}))
	}
	execute := func(k *gmcrypto.PrivateKey, id uint64) *abci.ExecTxResult {
		return n.send(k, custodyMsg(&txpb.CustodyExecute{Account: acct, Proposal: id}))
	}

	// A single signer trying to move custody funds is refused, whichever
	// way it tries, and its attempts change nothing.
	if got := n.checkEvents(propose(n.member, 50, n.member)); !slices.Equal(got, []string{"custody_proposed", "custody_approved"}) {
		t.Fatalf("propose events %v", got)
	}
	root := ledgerRoot()
	refusedWith(t, approve(n.member, 1), custody.ErrAlreadyApproved, "each signer approves once")
	refusedWith(t, execute(n.member, 1), custody.ErrNotApproved, "1 of the 2 approvals")
	refusedWith(t, approve(n.committee["bankC"], 1), permission.ErrUnauthorized, "lacks role member") // no member of the ledger
	if !bytes.Equal(root, ledgerRoot()) {
		t.Fatal("refused custody transactions changed the ledger")
	}
	// Taking sole control is itself only a proposal, which the others veto.
	if got := n.checkEvents(n.send(n.member, custodyMsg(&txpb.CustodySetSigners{Account: acct, Signers: addrs(n.member), Threshold: 1}))); !slices.Equal(got, []string{"custody_proposed", "custody_approved"}) {
		t.Fatalf("set signers events %v", got)
	}
	var acc CustodyAccountResponse
	n.query(QueryCustodyAccount, CustodyRequest{Ledger: "payments", Account: vault.String()}, &acc)
	if acc.Threshold != 2 || len(acc.Signers) != 3 || acc.Pending != 2 || len(acc.Balances) != 1 || acc.Balances[0].Amount != 80 ||
		acc.Balances[0].DailyLimit != 60 || acc.Memo != "treasury vault" {
		t.Fatalf("account %+v", acc)
	}
	n.checkEvents(n.send(n.officer, custodyMsg(&txpb.CustodyVeto{Account: acct, Proposal: 2, Reason: "no sole control"})))
	if n.balanceOf("payments", "CNY", n.member) != 20 {
		t.Fatal("funds moved on one signature")
	}

	// A second signer: ready, but time-locked for two blocks.
	if got := n.checkEvents(approve(n.payee, 1)); !slices.Equal(got, []string{"custody_approved"}) {
		t.Fatalf("approve events %v", got)
	}
	var ps CustodyProposalsResponse
	n.query(QueryCustodyProposals, CustodyRequest{Ledger: "payments", Account: vault.String()}, &ps)
	if len(ps.Proposals) != 1 || ps.Proposals[0].Status != custody.StatusTimeLocked || ps.Proposals[0].ExecutableHeight != n.height+2 ||
		len(ps.Proposals[0].Approvals) != 2 || ps.Threshold != 2 {
		t.Fatalf("proposals %+v", ps)
	}
	refusedWith(t, execute(n.officer, 1), custody.ErrTimeLocked, "time lock of 2 blocks")

	// A hold on the custody account stops its payments and its proposals.
	hold := proposeMsg(&txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{
		Ledger: "payments", Account: acct, Reason: "custody review", ExpiryHeight: n.height + 4}}})
	n.mustOK(n.block(n.sys(n.regulator, "bankD", hold)))
	refusedWith(t, execute(n.officer, 1), permission.ErrHeld, "custody review")
	refusedWith(t, propose(n.officer, 1, n.payee), permission.ErrHeld, "custody review")
	n.block()
	n.block()
	if got := n.checkEvents(execute(n.officer, 1)); !slices.Equal(got, []string{"transfer", "custody_executed"}) {
		t.Fatalf("execute events %v", got)
	}
	refusedWith(t, execute(n.officer, 1), custody.ErrUnknownProposal, "already executed")
	if n.balanceOf("payments", "CNY", n.member) != 70 {
		t.Fatal("not paid")
	}

	// The daily limit (60 CNY, 50 paid today) holds the next payment
	// until the next UTC day of the block time.
	n.checkEvents(propose(n.officer, 20, n.member))
	n.checkEvents(approve(n.payee, 3))
	n.block()
	refusedWith(t, execute(n.payee, 3), custody.ErrDailyLimit, "paid 50 CNY today")
	n.now = n.now.Add(24 * time.Hour)
	n.checkEvents(execute(n.payee, 3))

	// Sanctions: the block refuses a payment to a listed recipient (CheckTx
	// lets it in, so that the attempt is on chain).
	n.checkEvents(propose(n.officer, 5, n.payee))
	n.checkEvents(approve(n.member, 4))
	n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{
		Account: n.payee.Public().Address().Bytes(), Entry: "SDN-1", Reason: "test"}}})))
	n.block()
	exec := n.tx(n.officer, "bankA", "payments", custodyMsg(&txpb.CustodyExecute{Account: acct, Proposal: 4}))
	if c := n.check(exec); c.Code != 0 || !strings.Contains(c.Log, "sanctions attempt") {
		t.Fatalf("check of a sanctioned payment: %d %s", c.Code, c.Log)
	}
	refusedWith(t, n.block(exec)[0], permission.ErrSanctioned, n.payee.Public().Address().String())
	n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{
		Account: n.payee.Public().Address().Bytes(), Remove: true}}})))
	n.checkEvents(execute(n.officer, 4))

	n.query(QueryCustodyAccount, CustodyRequest{Ledger: "payments", Account: vault.String()}, &acc)
	if acc.Balances[0].Amount != 5 || acc.Balances[0].PaidToday != 25 || acc.Pending != 0 {
		t.Fatalf("account at the end %+v", acc)
	}
	var list CustodyAccountsResponse
	n.query(QueryCustodyAccounts, CustodyAccountsRequest{Ledger: "payments", Signer: n.officer.Public().Address().String()}, &list)
	if len(list.Accounts) != 1 || list.Accounts[0].Address != vault.String() {
		t.Fatalf("accounts of the officer %+v", list)
	}
	n.query(QueryCustodyAccounts, CustodyAccountsRequest{Ledger: "payments", Signer: n.regulator.Public().Address().String()}, &list)
	if len(list.Accounts) != 0 {
		t.Fatalf("accounts of a non-signer %+v", list)
	}
	var inv InvariantsResponse
	n.query(QueryInvariants, nil, &inv)
	if !inv.Holds || len(inv.Custody) != 1 || !inv.Custody[0].Holds {
		t.Fatalf("invariants %+v", inv)
	}
}

// Without a time lock the approval that reaches the threshold executes;
// a signer change takes effect like a payment and closes what was pending.
func TestCustodyAutoExecuteAndSignerChange(t *testing.T) {
	n := newCustodyNet(t)
	r := n.send(n.member, custodyMsg(&txpb.CustodyCreate{Signers: addrs(n.member, n.officer), Threshold: 2}))
	n.checkEvents(r)
	m, _, _ := wire.ParseEvent(r.Events[0])
	vault, _ := gmcrypto.ParseAddress(m.(*txpb.EventCustodyCreated).Account)
	acct := vault.Bytes()
	n.checkEvents(n.send(n.member, &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: acct, Amount: 40}}}))

	n.checkEvents(n.send(n.officer, custodyMsg(&txpb.CustodyPropose{Account: acct, Asset: "CNY", To: addrs(n.payee)[0], Amount: 10})))
	if got := n.checkEvents(n.send(n.member, custodyMsg(&txpb.CustodyApprove{Account: acct, Proposal: 1}))); !slices.Equal(got, []string{"custody_approved", "transfer", "custody_executed"}) {
		t.Fatalf("approve events %v", got)
	}
	if n.balanceOf("payments", "CNY", n.payee) != 10 {
		t.Fatal("not paid on the second approval")
	}
	// Pending payment 2, then a change to payee and officer, 1 of 2.
	n.checkEvents(n.send(n.officer, custodyMsg(&txpb.CustodyPropose{Account: acct, Asset: "CNY", To: addrs(n.payee)[0], Amount: 10})))
	n.checkEvents(n.send(n.member, custodyMsg(&txpb.CustodySetSigners{Account: acct, Signers: addrs(n.payee, n.officer), Threshold: 1})))
	if got := n.checkEvents(n.send(n.officer, custodyMsg(&txpb.CustodyApprove{Account: acct, Proposal: 3}))); !slices.Equal(got, []string{"custody_approved", "custody_closed", "custody_executed"}) {
		t.Fatalf("signer change events %v", got)
	}
	refusedWith(t, n.send(n.member, custodyMsg(&txpb.CustodyPropose{Account: acct, Asset: "CNY", To: addrs(n.member)[0], Amount: 1})), custody.ErrNotSigner, "not a signer")
	// One of the new signers alone now suffices (threshold 1, no time lock).
	n.checkEvents(n.send(n.payee, custodyMsg(&txpb.CustodyPropose{Account: acct, Asset: "CNY", To: addrs(n.payee)[0], Amount: 30})))
	if n.balanceOf("payments", "CNY", n.payee) != 40 {
		t.Fatal("the new signer could not pay")
	}
	n.invariantsHold()
}

// A custody account belongs to its signers' and creator's organisations:
// none of them may propose or approve lifting a hold that freezes it; an
// organisation with no part in it may.
func TestCustodyHoldOwners(t *testing.T) {
	n := newCustodyNet(t)
	// Created by bankB's member; signers of bankB and bankA.
	r := n.send(n.member, custodyMsg(&txpb.CustodyCreate{Signers: addrs(n.member, n.officer), Threshold: 2}))
	n.checkEvents(r)
	m, _, _ := wire.ParseEvent(r.Events[0])
	vault, _ := gmcrypto.ParseAddress(m.(*txpb.EventCustodyCreated).Account)
	n.mustOK(n.block(n.sys(n.regulator, "bankD", placeHold(vault.Bytes(), n.height+50))))
	for _, org := range []string{"bankA", "bankB"} {
		if r := n.block(n.sys(n.committee[org], org, liftHold(1))); !strings.Contains(r[0].Log, "may not approve lifting it") {
			t.Fatalf("%s, a signer's organisation, proposed lifting the hold: %q", org, r[0].Log)
		}
	}
	n.mustOK(n.block(n.sys(n.committee["bankC"], "bankC", liftHold(1))))
	if r := n.block(n.sys(n.committee["bankA"], "bankA", voteMsg(n.lastProposal(), true))); !strings.Contains(r[0].Log, "may not approve lifting it") {
		t.Fatalf("a signer's organisation voted to lift the hold: %q", r[0].Log)
	}
}

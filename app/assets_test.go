package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// The governance path of an asset: a sub-ledger created by proposal, an
// asset created on it by proposal, issued, moved, capped, paused,
// redeemed; every refusal names its cause and changes nothing.
func TestAssetLifecycleByGovernance(t *testing.T) {
	n := newGovNet(t, Params{})
	issuer := n.committee["bankA"]
	pass := func(p *txpb.Propose) permission.Proposal {
		t.Helper()
		got := n.passBy("bankA", p, "bankB", "bankC")
		if got.Status != permission.StatusPassed {
			t.Fatalf("%s: %s %s", got.Type, got.Status, got.Result)
		}
		return got
	}
	pass(&txpb.Propose{Action: &txpb.Propose_CreateLedger{CreateLedger: &txpb.CreateLedger{Name: "custody", MemberOrgs: []string{"bankA", "bankB", "bankC"}}}})
	pass(&txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: &txpb.CreateAsset{Ledger: "custody", Symbol: "GOLD", Issuer: "bankA",
		Decimals: 3, SupplyCap: 1000, Redeemable: true, MetadataHash: make([]byte, 32)}}})
	pass(&txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: issuer.Public().Address().Bytes(), Org: "bankA", Role: "issuer:custody/GOLD"}}})

	run := func(key string, m *txpb.Message) *abci.ExecTxResult {
		t.Helper()
		k, org := n.member, "bankB"
		switch key {
		case "issuer":
			k, org = issuer, "bankA"
		case "payee":
			k, org = n.payee, "bankC"
		}
		return n.block(n.tx(k, org, "custody", m))[0]
	}
	ok := func(r *abci.ExecTxResult) {
		t.Helper()
		if r.Code != 0 {
			t.Fatal(r.Log)
		}
	}
	refused := func(r *abci.ExecTxResult, e interface{ Code() uint32 }, want string) {
		t.Helper()
		if r.Code != e.Code() || !strings.Contains(r.Log, want) {
			t.Fatalf("code %d %q, want code %d naming %q", r.Code, r.Log, e.Code(), want)
		}
	}
	redeem := func(amt uint64) *txpb.Message {
		return &txpb.Message{Body: &txpb.Message_Redeem{Redeem: &txpb.Redeem{Asset: "GOLD", Amount: amt, Reference: "payout 7"}}}
	}
	settle := func(id uint64, reject bool) *txpb.Message {
		return &txpb.Message{Body: &txpb.Message_SettleRedemption{SettleRedemption: &txpb.SettleRedemption{Asset: "GOLD", Id: id, Reject: reject}}}
	}

	ok(run("issuer", issue("GOLD", n.member, 600)))
	refused(run("issuer", issue("GOLD", n.member, 401)), payments.ErrSupplyCap, "cap 1000")
	ok(run("issuer", issue("GOLD", n.member, 400))) // exactly the cap
	ok(run("member", transfer("GOLD", n.payee, 100)))

	// A paused asset moves nowhere; unpaused, it moves again.
	pass(&txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "custody", Symbol: "GOLD", Paused: ptr(true)}}})
	refused(run("member", transfer("GOLD", n.payee, 1)), payments.ErrAssetPaused, "paused")
	refused(run("payee", redeem(1)), payments.ErrAssetPaused, "paused")
	pass(&txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "custody", Symbol: "GOLD", Paused: ptr(false)}}})
	ok(run("member", transfer("GOLD", n.payee, 1)))

	// Redemption: out of the balance into the queue, then burned (or
	// returned) by the issuer; the supply invariant counts the queue.
	ok(run("payee", redeem(50)))
	ok(run("payee", redeem(20)))
	q := n.redemptions("custody", "GOLD")
	if q.Pending != 70 || len(q.Queue) != 2 || q.Queue[0].Amount != 50 || q.Queue[1].Reference != "payout 7" {
		t.Fatalf("queue %+v", q)
	}
	n.invariantsHold()
	refused(run("member", settle(0, false)), permission.ErrUnauthorized, "issuer")
	ok(run("issuer", settle(0, false)))
	returned := run("issuer", settle(1, true))
	ok(returned)
	// The return credits the holder: the event names its organisation, so
	// that bankC's statement finds it (package recon).
	settled := false
	for _, ev := range returned.Events {
		if m, _, err := wire.ParseEvent(ev); err == nil {
			if e, is := m.(*txpb.EventRedemptionSettled); is {
				settled = true
				if !e.Rejected || e.To != n.payee.Public().Address().String() || e.ToOrg != "bankC" || e.Amount != 20 {
					t.Fatalf("redemption_settled %+v, want 20 returned to the payee of bankC", e)
				}
			}
		}
	}
	if !settled {
		t.Fatal("no redemption_settled event")
	}
	refused(run("issuer", settle(1, false)), payments.ErrUnknownRedemption, "no redemption 1")
	if q := n.redemptions("custody", "GOLD"); q.Pending != 0 || len(q.Queue) != 0 {
		t.Fatalf("queue after settling %+v", q)
	}
	if got := n.balanceOf("custody", "GOLD", n.payee); got != 101-50 {
		t.Fatalf("payee holds %d, want 51 (101 received, 50 burned, 20 returned)", got)
	}
	n.invariantsHold()
	// Burned units make room under the cap.
	ok(run("issuer", issue("GOLD", n.member, 50)))
	refused(run("issuer", issue("GOLD", n.member, 1)), payments.ErrSupplyCap, "cap")

	// A cap below what is outstanding fails at execution and changes nothing.
	low := n.passBy("bankA", &txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "custody", Symbol: "GOLD", SupplyCap: ptr(uint64(10))}}}, "bankB", "bankC")
	if low.Status != permission.StatusFailed || !strings.Contains(low.Result, "below the 1000 outstanding") {
		t.Fatalf("cap below outstanding: %s %s", low.Status, low.Result)
	}
	// Units of a non-redeemable asset cannot be returned.
	r := n.block(n.tx(n.member, "bankB", "payments", &txpb.Message{Body: &txpb.Message_Redeem{Redeem: &txpb.Redeem{Asset: "CNY", Amount: 1}}}))[0]
	refused(r, payments.ErrNotRedeemable, "CNY")
}

// Proposals that could never execute are refused at submission.
func TestAssetProposalsRefused(t *testing.T) {
	n := newGovNet(t, Params{})
	create := func(c *txpb.CreateAsset) *txpb.Message {
		return proposeMsg(&txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: c}})
	}
	for _, tc := range []struct {
		name string
		m    *txpb.Message
		want string
	}{
		{"bad symbol", create(&txpb.CreateAsset{Ledger: "payments", Symbol: "no spaces", Issuer: "bankA"}), "symbol"},
		{"unknown issuer", create(&txpb.CreateAsset{Ledger: "payments", Symbol: "HKD", Issuer: "bankZ"}), "bankZ"},
		{"no issuer", create(&txpb.CreateAsset{Ledger: "payments", Symbol: "HKD"}), "no issuer"},
		{"too many decimals", create(&txpb.CreateAsset{Ledger: "payments", Symbol: "HKD", Issuer: "bankA", Decimals: 19}), "decimals"},
		{"short metadata hash", create(&txpb.CreateAsset{Ledger: "payments", Symbol: "HKD", Issuer: "bankA", MetadataHash: []byte{1}}), "32"},
		{"system ledger", create(&txpb.CreateAsset{Ledger: permission.SystemLedger, Symbol: "HKD", Issuer: "bankA"}), "sub-ledger"},
		{"empty update", proposeMsg(&txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "payments", Symbol: "CNY"}}}), "changes nothing"},
		{"update to unknown issuer", proposeMsg(&txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "payments", Symbol: "CNY", Issuer: ptr("bankZ")}}}), "bankZ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := n.check(n.sys(n.committee["bankA"], "bankA", tc.m)); r.Code == 0 || !strings.Contains(r.Log, tc.want) {
				t.Fatalf("code %d %q, want a refusal naming %q", r.Code, r.Log, tc.want)
			}
		})
	}
	// An asset on a ledger that does not exist (and was not created first)
	// fails at execution, and a duplicate asset too.
	for _, c := range []*txpb.CreateAsset{{Ledger: "nosuch", Symbol: "HKD", Issuer: "bankA"}, {Ledger: "payments", Symbol: "CNY", Issuer: "bankA"}} {
		p := n.passBy("bankA", &txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: c}}, "bankB", "bankC")
		if p.Status != permission.StatusFailed {
			t.Errorf("create %s on %s: %s %s", c.Symbol, c.Ledger, p.Status, p.Result)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func (n *govNet) redemptions(ledgerName, asset string) RedemptionsResponse {
	n.t.Helper()
	b, _ := json.Marshal(RedemptionsRequest{Ledger: ledgerName, Asset: asset})
	r, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryRedemptions, Data: b})
	if err != nil || r.Code != 0 {
		n.t.Fatalf("redemptions: %v %s", err, r.Log)
	}
	var out RedemptionsResponse
	if err := json.Unmarshal(r.Value, &out); err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *govNet) balanceOf(ledgerName, asset string, k *gmcrypto.PrivateKey) uint64 {
	n.t.Helper()
	v, _ := n.store.View(0)
	b, err := n.app.payments.Balance(v, ledgerName, asset, k.Public().Address())
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

func (n *govNet) invariantsHold() {
	n.t.Helper()
	r, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryInvariants})
	if err != nil || r.Code != 0 {
		n.t.Fatalf("invariants: %v %s", err, r.Log)
	}
	var out InvariantsResponse
	if err := json.Unmarshal(r.Value, &out); err != nil {
		n.t.Fatal(err)
	}
	if !out.Holds {
		n.t.Fatalf("invariants broken: %s", r.Value)
	}
}

// Who may change an asset: only the committee, never a member or admin of
// the bank that would gain from it, nor the regulator (holds only).
func TestAssetProposalsNeedTheCommittee(t *testing.T) {
	n := newGovNet(t, Params{})
	selfIssuer := proposeMsg(&txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: &txpb.UpdateAsset{Ledger: "payments", Symbol: "CNY", Issuer: ptr("bankB")}}})
	for _, tc := range []struct {
		name string
		key  *gmcrypto.PrivateKey
		org  string
	}{
		{"a member of the bank that would issue", n.member, "bankB"},
		{"the regulator", n.regulator, "bankD"},
	} {
		if r := n.check(n.sys(tc.key, tc.org, selfIssuer)); r.Code == 0 || !strings.Contains(r.Log, "committee") {
			t.Errorf("%s proposed making bankB the issuer of CNY: %d %q", tc.name, r.Code, r.Log)
		}
	}
}

// Two governance actions decided in one block: a sub-ledger and an asset on
// it. Decided in that order both execute; the other way round the asset
// fails (its sub-ledger does not exist yet), changes nothing, and the
// sub-ledger is still created.
func TestLedgerAndAssetDecidedInOneBlock(t *testing.T) {
	for _, ledgerFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("ledger first ", ledgerFirst), func(t *testing.T) {
			n := newGovNet(t, Params{})
			propose := func(p *txpb.Propose) uint64 {
				n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", proposeMsg(p))))
				return n.lastProposal()
			}
			l := propose(&txpb.Propose{Action: &txpb.Propose_CreateLedger{CreateLedger: &txpb.CreateLedger{Name: "trade", MemberOrgs: []string{"bankA", "bankB"}}}})
			a := propose(&txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: &txpb.CreateAsset{Ledger: "trade", Symbol: "USD", Issuer: "bankA"}}})
			order := []uint64{l, a}
			if !ledgerFirst {
				order = []uint64{a, l}
			}
			var votes [][]byte
			for _, id := range order {
				for _, o := range []string{"bankB", "bankC"} {
					votes = append(votes, n.sys(n.committee[o], o, voteMsg(id, true)))
				}
			}
			n.mustOK(n.block(votes...))
			if p := n.proposal(l); p.Status != permission.StatusPassed {
				t.Fatalf("create-ledger: %s %s", p.Status, p.Result)
			}
			p := n.proposal(a)
			v, _ := n.store.View(0)
			_, err := n.app.payments.GetAsset(v, "trade", "USD")
			if ledgerFirst && (p.Status != permission.StatusPassed || err != nil) {
				t.Fatalf("asset after its ledger in one block: %s %s, %v", p.Status, p.Result, err)
			}
			if !ledgerFirst && (p.Status != permission.StatusFailed || err == nil) {
				t.Fatalf("asset before its ledger in one block: %s %s, asset found: %v", p.Status, p.Result, err == nil)
			}
		})
	}
}

package app

import (
	"context"
	"math"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// lastProposal is the id of the newest proposal.
func (n *govNet) lastProposal() uint64 {
	v, _ := n.store.View(0)
	ps, err := permission.Proposals(v)
	if err != nil || len(ps) == 0 {
		n.t.Fatalf("no proposal: %v", err)
	}
	return ps[len(ps)-1].ID
}

func (n *govNet) holds() []permission.Hold {
	v, _ := n.store.View(0)
	hs, err := permission.Holds(v)
	if err != nil {
		n.t.Fatal(err)
	}
	return hs
}

func placeHold(account []byte, expiry int64) *txpb.Message {
	return proposeMsg(&txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{
		Ledger: "payments", Account: account, Reason: "test", ExpiryHeight: expiry}}})
}

func liftHold(id uint64) *txpb.Message {
	return proposeMsg(&txpb.Propose{Action: &txpb.Propose_LiftHold{LiftHold: &txpb.LiftHold{HoldId: id}}})
}

// TestHoldPolicy pins who can freeze what: two banks can freeze one
// account but not a ledger; the regulator alone can; a held bank and a
// friend cannot lift the regulator's hold; every hold expires.
func TestHoldPolicy(t *testing.T) {
	n := newGovNet(t, Params{})
	cA, cB, cC, cD := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"], n.committee["bankD"]
	memberAcct := n.member.Public().Address().Bytes() // bankB's customer

	// Two banks freeze one account (hold_approvals = 2).
	n.mustOK(n.block(n.sys(cA, "bankA", placeHold(memberAcct, 0))))
	n.mustOK(n.block(n.sys(cC, "bankC", voteMsg(n.lastProposal(), true))))
	hs := n.holds()
	if len(hs) != 1 || hs[0].ByRegulator {
		t.Fatalf("account hold by two banks: %+v", hs)
	}
	if want := n.height + DefaultParams().HoldMaxBlocks; hs[0].ExpiryHeight != want {
		t.Fatalf("hold without expiry got expiry %d, want %d (hold_max_blocks)", hs[0].ExpiryHeight, want)
	}

	// The held bank cannot approve lifting its customer's hold.
	n.mustOK(n.block(n.sys(cA, "bankA", liftHold(1))))
	lift1 := n.lastProposal()
	if r := n.block(n.sys(cB, "bankB", voteMsg(lift1, true))); !strings.Contains(r[0].Log, "may not approve lifting it") {
		t.Fatalf("held bank voted to lift its own hold: %q", r[0].Log)
	}
	if r := n.block(n.sys(cB, "bankB", liftHold(1))); !strings.Contains(r[0].Log, "may not approve lifting it") {
		t.Fatalf("held bank proposed lifting its own hold: %q", r[0].Log)
	}

	// Two banks cannot freeze a whole ledger: it takes more than 2/3.
	n.mustOK(n.block(n.sys(cA, "bankA", placeHold(nil, 0))))
	wide := n.lastProposal()
	n.mustOK(n.block(n.sys(cC, "bankC", voteMsg(wide, true))))
	if p := n.proposal(wide); p.Status != permission.StatusVoting {
		t.Fatalf("ledger hold passed with 2 of 4 banks: %+v", p)
	}
	n.mustOK(n.block(n.sys(cD, "bankD", voteMsg(wide, true))))
	if p := n.proposal(wide); p.Status != permission.StatusPassed {
		t.Fatalf("ledger hold with 3 of 4 banks: %+v", p)
	}

	// The regulator alone freezes the member's account; bankB plus a
	// friend cannot lift it, the wide threshold can.
	n.mustOK(n.block(n.sys(n.regulator, "bankD", placeHold(memberAcct, n.height+50))))
	hs = n.holds()
	reg := hs[len(hs)-1]
	if !reg.ByRegulator || reg.Lifted {
		t.Fatalf("regulator's hold: %+v", reg)
	}
	n.mustOK(n.block(n.sys(cA, "bankA", liftHold(reg.ID))))
	liftReg := n.lastProposal()
	n.mustOK(n.block(n.sys(cC, "bankC", voteMsg(liftReg, true))))
	if p := n.proposal(liftReg); p.Status != permission.StatusVoting {
		t.Fatalf("two banks lifted the regulator's hold: %+v", p)
	}
	n.mustOK(n.block(n.sys(cD, "bankD", voteMsg(liftReg, true))))
	if p := n.proposal(liftReg); p.Status != permission.StatusPassed {
		t.Fatalf("3 of 4 banks could not lift the regulator's hold: %+v", p)
	}

	// No hold outlives hold_max_blocks.
	r := n.block(n.sys(n.regulator, "bankD", placeHold(memberAcct, n.height+DefaultParams().HoldMaxBlocks+5)))
	if !strings.Contains(r[0].Log, "longest a hold may last") {
		t.Fatalf("hold beyond hold_max_blocks: %q", r[0].Log)
	}
}

// TestSetParamsBounds: no set_params proposal can put a parameter out of
// range (the 1e10-second window overflowed time.Duration and refused every
// later transaction, including the votes that could repair it); refused
// at submission with the parameter named, and nothing changes.
func TestSetParamsBounds(t *testing.T) {
	cases := []struct {
		name string
		sp   *txpb.SetParams
		want string
	}{
		{"window that overflows a duration", &txpb.SetParams{TxTimeWindowSeconds: 1e10}, "tx_time_window_seconds = 10000000000"},
		{"window too short to get a vote in", &txpb.SetParams{TxTimeWindowSeconds: 1}, "tx_time_window_seconds = 1"},
		{"negative window", &txpb.SetParams{TxTimeWindowSeconds: -5}, "tx_time_window_seconds = -5"},
		{"voting period too short to vote", &txpb.SetParams{VotingPeriodBlocks: 1}, "voting_period_blocks = 1"},
		{"voting period near MaxInt64", &txpb.SetParams{VotingPeriodBlocks: math.MaxInt64}, "voting_period_blocks"},
		{"negative hold approvals", &txpb.SetParams{HoldApprovals: -1}, "hold_approvals = -1"},
		{"unanimity-plus threshold that never passes", &txpb.SetParams{HoldWideThresholdNum: 1, HoldWideThresholdDen: 1}, "hold_wide_threshold = 1/1"},
		{"minority threshold", &txpb.SetParams{HoldWideThresholdNum: 1, HoldWideThresholdDen: 3}, "hold_wide_threshold = 1/3"},
		{"half a threshold", &txpb.SetParams{HoldWideThresholdNum: 2}, "needs both num and den"},
		{"endless holds", &txpb.SetParams{HoldMaxBlocks: math.MaxInt64}, "hold_max_blocks"},
	}
	n := newGovNet(t, Params{})
	before := n.app.Params()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetParams{SetParams: tc.sp}})
			if r := n.check(n.sys(n.committee["bankA"], "bankA", m)); r.Code != ErrBadParams.Code() || !strings.Contains(r.Log, tc.want) {
				t.Fatalf("CheckTx: code %d %q, want code %d naming %q", r.Code, r.Log, ErrBadParams.Code(), tc.want)
			}
			if r := n.block(n.sys(n.committee["bankA"], "bankA", m)); r[0].Code != ErrBadParams.Code() {
				t.Fatalf("FinalizeBlock: code %d %q", r[0].Code, r[0].Log)
			}
		})
	}
	if got := n.app.Params(); got.TxTimeWindowSeconds != before.TxTimeWindowSeconds || got.VotingPeriodBlocks != before.VotingPeriodBlocks {
		t.Fatalf("params changed: %+v", got)
	}
	// In-range changes pass, and governance still works afterwards.
	ok := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetParams{SetParams: &txpb.SetParams{
		TxTimeWindowSeconds: 86_400, VotingPeriodBlocks: 10, HoldWideThresholdNum: 3, HoldWideThresholdDen: 4, HoldMaxBlocks: 1000}}})
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", ok)))
	id := n.lastProposal()
	n.mustOK(n.block(n.sys(n.committee["bankB"], "bankB", voteMsg(id, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(id, true))))
	if p := n.app.Params(); p.TxTimeWindowSeconds != 86_400 || p.HoldWideThreshold != (Fraction{3, 4}) || p.HoldMaxBlocks != 1000 {
		t.Fatalf("in-range params not applied: %+v (%+v)", p, n.proposal(id))
	}
}

// TestGenesisParamsBounds: a genesis cannot start a chain whose governance
// is locked either.
func TestGenesisParamsBounds(t *testing.T) {
	for _, p := range []Params{
		{TxTimeWindowSeconds: 1e10},
		{GovThresholds: map[string]Fraction{"set_params": {Num: 3, Den: 3}}},
		{GovThresholds: map[string]Fraction{"set_params": {Num: 0, Den: 3}}},
		{HoldWideThreshold: Fraction{Num: 5, Den: 4}},
	} {
		g := GenesisState{Params: p}
		if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "params") {
			t.Errorf("genesis params %+v accepted: %v", p, err)
		}
	}
}

// TestTwoValidatorChangesInOneBlock: two set_validator proposals for the
// same key passing in one block made CometBFT halt on duplicate updates;
// the block now carries one update with the last power, and a power
// CometBFT would refuse is refused at submission.
func TestTwoValidatorChangesInOneBlock(t *testing.T) {
	n := newGovNet(t, Params{})
	cA, cB, cC := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"]
	pk := ed25519.GenPrivKey().PubKey()
	sm2 := mustKey(t).Public().Bytes()
	set := func(power int64) *txpb.Message {
		return proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{
			PubKeyEd25519: pk.Bytes(), Org: "bankB", Name: "val5", Sm2PublicKey: sm2, Power: power}}})
	}
	n.mustOK(n.block(n.sys(cA, "bankA", set(7)), n.sys(cA, "bankA", set(9))))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(1, true)), n.sys(cB, "bankB", voteMsg(2, true))))
	res, err := n.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: n.height + 1, Time: n.now.Add(1e9),
		Txs: [][]byte{n.sys(cC, "bankC", voteMsg(1, true)), n.sys(cC, "bankC", voteMsg(2, true))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.TxResults {
		if r.Code != 0 {
			t.Fatal(r.Log)
		}
	}
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 9 {
		t.Fatalf("validator updates %+v, want one of power 9", res.ValidatorUpdates)
	}
	// What CometBFT itself checks of a block's updates.
	upd, err := cmttypes.PB2TM.ValidatorUpdates(res.ValidatorUpdates)
	if err != nil {
		t.Fatal(err)
	}
	vals := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(ed25519.GenPrivKey().PubKey(), 10)})
	if err := vals.UpdateWithChangeSet(upd); err != nil {
		t.Fatalf("CometBFT refuses the block's updates: %v", err)
	}
	if _, err := n.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	n.height++
	n.now = n.now.Add(1e9)

	for _, power := range []int64{MaxValidatorPower + 1, math.MaxInt64, -1} {
		if r := n.check(n.sys(cA, "bankA", set(power))); r.Code == 0 || !strings.Contains(r.Log, "power") {
			t.Fatalf("power %d: code %d %q", power, r.Code, r.Log)
		}
	}
	// Two validators whose sum exceeds CometBFT's total.
	if r := n.check(n.sys(cA, "bankA", set(MaxValidatorPower-5))); r.Code == 0 || !strings.Contains(r.Log, "total power") {
		t.Fatalf("total power overflow: code %d %q", r.Code, r.Log)
	}
}

// TestLedgerMembership: governance adds and removes an organisation's
// membership of a sub-ledger; its identities transact there only while it
// is a member; nonsense is refused at submission.
func TestLedgerMembership(t *testing.T) {
	n := newGovNet(t, Params{})
	cA, cB, cC := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"]
	member := func(org string, remove bool) *txpb.Message {
		return proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetLedgerMember{SetLedgerMember: &txpb.SetLedgerMember{Ledger: "payments", Org: org, Remove: remove}}})
	}
	pass := func(m *txpb.Message) {
		t.Helper()
		n.mustOK(n.block(n.sys(cA, "bankA", m)))
		id := n.lastProposal()
		n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(id, true)), n.sys(cC, "bankC", voteMsg(id, true))))
		if p := n.proposal(id); p.Status != permission.StatusPassed {
			t.Fatalf("proposal %d: %s %s", id, p.Status, p.Result)
		}
	}
	pay := func() *abci.ExecTxResult {
		return n.block(n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 1)))[0]
	}
	if r := pay(); r.Code != 0 {
		t.Fatalf("payment before: %s", r.Log)
	}
	pass(member("bankC", true)) // the payee's bank leaves payments
	if r := pay(); r.Code == 0 {
		t.Fatal("paid an organisation that is no longer a member of payments")
	}
	pass(member("bankC", false)) // and comes back
	if r := pay(); r.Code != 0 {
		t.Fatalf("payment after re-admission: %s", r.Log)
	}
	pass(member("bankB", true)) // the payer's bank leaves
	if r := pay(); r.Code == 0 || !strings.Contains(r.Log, "not a member") {
		t.Fatalf("a non-member's identity paid: %d %q", r.Code, r.Log)
	}
	for _, tc := range []struct {
		name string
		m    *txpb.Message
		want string
	}{
		{"unknown organisation", member("bankZ", false), "bankZ"},
		{"already a member", member("bankA", false), "already a member"},
		{"not a member", member("bankB", true), "not a member"},
		{"unknown ledger", proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetLedgerMember{SetLedgerMember: &txpb.SetLedgerMember{Ledger: "nosuch", Org: "bankA"}}}), "nosuch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := n.check(n.sys(cA, "bankA", tc.m)); r.Code == 0 || !strings.Contains(r.Log, tc.want) {
				t.Fatalf("code %d %q, want a refusal naming %q", r.Code, r.Log, tc.want)
			}
		})
	}
	// A member without the committee role cannot even propose it, e.g. to
	// push a competitor out of a sub-ledger.
	if r := n.check(n.sys(n.member, "bankB", member("bankA", true))); r.Code == 0 || !strings.Contains(r.Log, "committee") {
		t.Fatalf("a member proposed a membership change: %d %q", r.Code, r.Log)
	}
	// The last member cannot leave.
	pass(member("bankD", true))
	pass(member("bankC", true))
	if r := n.check(n.sys(cA, "bankA", member("bankA", true))); r.Code == 0 || !strings.Contains(r.Log, "last member") {
		t.Fatalf("last member left: %d %q", r.Code, r.Log)
	}
}

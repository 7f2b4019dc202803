package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// govNet: four organisations, each with a committee member; bankA's also
// holds admin; a regulator (bankD); a member (bankB) with funds; one
// validator of power 10 registered to bankA.
type govNet struct {
	*harness
	committee map[string]*gmcrypto.PrivateKey
	regulator *gmcrypto.PrivateKey
	member    *gmcrypto.PrivateKey
	payee     *gmcrypto.PrivateKey // bankC member, empty: a registered recipient
	valPub    []byte
}

var govOrgs = []string{"bankA", "bankB", "bankC", "bankD"}

func newGovNet(t *testing.T, params Params) *govNet {
	n := &govNet{committee: map[string]*gmcrypto.PrivateKey{}, regulator: mustKey(t), member: mustKey(t), payee: mustKey(t)}
	g := GenesisState{Params: params}
	for _, o := range govOrgs {
		k := mustKey(t)
		n.committee[o] = k
		g.Organisations = append(g.Organisations, permission.Organisation{ID: o})
		roles := []string{"committee"}
		if o == "bankA" {
			roles = append(roles, "admin")
		}
		g.Identities = append(g.Identities, permission.Identity{Address: k.Public().Address().String(), Org: o, Roles: roles})
	}
	g.Identities = append(g.Identities,
		permission.Identity{Address: n.regulator.Public().Address().String(), Org: "bankD", Roles: []string{"regulator"}},
		permission.Identity{Address: n.member.Public().Address().String(), Org: "bankB", Roles: []string{"member"}},
		permission.Identity{Address: n.payee.Public().Address().String(), Org: "bankC", Roles: []string{"member"}})
	g.Ledgers = []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}},
		Balances: []GenesisBalance{{Asset: "CNY", Account: n.member.Public().Address().String(), Amount: 100}}}}
	pk := ed25519.GenPrivKey().PubKey()
	n.valPub = pk.Bytes()
	g.Validators = []permission.Validator{{Org: "bankA", Address: pk.Address().String(), SM2PublicKey: hex.EncodeToString(mustKey(t).Public().Bytes())}}
	pp, _ := cryptoenc.PubKeyToProto(pk)
	b, _ := json.Marshal(g)
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a, _ := New(store, Options{})
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b,
		Validators: []abci.ValidatorUpdate{{PubKey: pp, Power: 10}}}); err != nil {
		t.Fatal(err)
	}
	n.harness = &harness{t: t, app: a, store: store, now: genesisTime}
	n.block()
	return n
}

func (n *govNet) sys(key *gmcrypto.PrivateKey, org string, m *txpb.Message) []byte {
	return n.tx(key, org, permission.SystemLedger, m)
}

func proposeMsg(p *txpb.Propose) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Propose{Propose: p}}
}

func voteMsg(id uint64, yes bool) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: yes}}}
}

func (n *govNet) proposal(id uint64) permission.Proposal {
	v, _ := n.store.View(0)
	p, err := permission.GetProposal(v, id)
	if err != nil {
		n.t.Fatal(err)
	}
	return p
}

func (n *govNet) mustOK(res []*abci.ExecTxResult) {
	n.t.Helper()
	for i, r := range res {
		if r.Code != 0 {
			n.t.Fatalf("tx %d failed: %s", i, r.Log)
		}
	}
}

func (n *govNet) check(raw []byte) *abci.ResponseCheckTx {
	r, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

// TestMessagePolicy pins, for each message type, a sender that may send it
// and one that may not; the refusal names the identity's missing role.
func TestMessagePolicy(t *testing.T) {
	n := newGovNet(t, Params{})
	cA, cB, cC := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"]
	stranger := mustKey(t)
	grant := proposeMsg(&txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: stranger.Public().Address().Bytes(), Org: "bankC", Role: "member"}}})
	hold := proposeMsg(&txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{Ledger: "payments", Reason: "test"}}})
	register := &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{Address: stranger.Public().Address().Bytes(), Roles: []string{"member"}}}}
	revoke := &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: "abc"}}}
	cases := []struct {
		name     string
		raw      []byte
		contains string // "" = allowed
	}{
		{"transfer by member", n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 1)), ""},
		{"transfer to an unregistered address", n.tx(n.member, "bankB", "payments", transfer("CNY", stranger, 1)), "not a registered identity"},
		{"transfer by non-member", n.tx(cC, "bankC", "payments", transfer("CNY", stranger, 1)), "lacks role member on payments"},
		{"issue by issuer-less committee member", n.tx(cA, "bankA", "payments", issue("CNY", stranger, 1)), "lacks role issuer"},
		{"burn by non-member", n.tx(cB, "bankB", "payments", burn("CNY", 1)), "lacks role member on payments"},
		{"register identity by admin", n.sys(cA, "bankA", register), ""},
		{"register identity by non-admin", n.sys(cB, "bankB", register), "lacks role admin"},
		{"revoke certificate by admin", n.sys(cA, "bankA", revoke), ""},
		{"revoke certificate by member", n.sys(n.member, "bankB", revoke), "lacks role admin"},
		{"propose by committee", n.sys(cB, "bankB", grant), ""},
		{"propose by member", n.sys(n.member, "bankB", grant), "lacks role committee"},
		{"regulator proposes a hold", n.sys(n.regulator, "bankD", hold), ""},
		{"regulator proposes a role", n.sys(n.regulator, "bankD", grant), "lacks role committee"},
		{"vote by member", n.sys(n.member, "bankB", voteMsg(1, true)), "lacks role committee"},
		{"payment on the system channel", n.sys(n.member, "bankB", transfer("CNY", stranger, 1)), "go on a sub-ledger"},
		{"governance on a sub-ledger", n.tx(cB, "bankB", "payments", grant), "goes on the _system channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := n.check(c.raw)
			switch {
			case c.contains == "" && r.Code != 0:
				t.Fatalf("refused: %s", r.Log)
			case c.contains != "" && (r.Code == 0 || !strings.Contains(r.Log, c.contains)):
				t.Fatalf("CheckTx = %d %q, want refusal containing %q", r.Code, r.Log, c.contains)
			}
		})
	}
	// FinalizeBlock enforces the same rules as CheckTx.
	res := n.block(n.tx(cC, "bankC", "payments", transfer("CNY", stranger, 1)))
	if res[0].Code == 0 || !strings.Contains(res[0].Log, "lacks role member") {
		t.Fatalf("FinalizeBlock let a non-member transfer: %+v", res[0])
	}
}

func TestGovernanceLifecycle(t *testing.T) {
	n := newGovNet(t, Params{VotingPeriodBlocks: 10})
	cA, cB, cC, cD := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"], n.committee["bankD"]
	newbie := mustKey(t)
	grant := func(role, org string) *txpb.Message {
		return proposeMsg(&txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: newbie.Public().Address().Bytes(), Org: org, Role: role}}})
	}

	// #1 passes with 3 of 4 (more than 2/3) and executes in that block.
	n.mustOK(n.block(n.sys(cA, "bankA", grant("member", "bankC"))))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(1, true))))
	if p := n.proposal(1); p.Status != permission.StatusVoting {
		t.Fatalf("passed with 2 of 4: %+v", p)
	}
	dup := n.block(n.sys(cB, "bankB", voteMsg(1, false)))
	if !strings.Contains(dup[0].Log, "already voted") {
		t.Fatalf("double vote: %q", dup[0].Log)
	}
	n.mustOK(n.block(n.sys(cC, "bankC", voteMsg(1, true))))
	if p := n.proposal(1); p.Status != permission.StatusPassed {
		t.Fatalf("proposal 1 %+v", p)
	}
	v, _ := n.store.View(0)
	if err := permission.RequireMember(v, newbie.Public().Address(), "payments"); err != nil {
		t.Fatalf("granted role not in force: %v", err)
	}
	late := n.block(n.sys(cD, "bankD", voteMsg(1, true)))
	if !strings.Contains(late[0].Log, "is passed") {
		t.Fatalf("vote on a closed proposal: %q", late[0].Log)
	}

	// #2 is rejected as soon as it cannot pass.
	n.mustOK(n.block(n.sys(cA, "bankA", grant("auditor", "bankC"))))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(2, false)), n.sys(cC, "bankC", voteMsg(2, false))))
	if p := n.proposal(2); p.Status != permission.StatusRejected {
		t.Fatalf("proposal 2 %+v", p)
	}

	// #3 expires at the end of its voting period; a later vote is refused.
	n.mustOK(n.block(n.sys(cA, "bankA", grant("auditor", "bankC"))))
	for range 11 {
		n.block()
	}
	if p := n.proposal(3); p.Status != permission.StatusRejected || !strings.Contains(p.Result, "voting period ended") {
		t.Fatalf("proposal 3 %+v", p)
	}

	// #4 passes but its execution fails: recorded, nothing changed.
	newbie = mustKey(t)
	v, _ = n.store.View(0)
	before, _ := permission.Identities(v)
	n.mustOK(n.block(n.sys(cA, "bankA", grant("member", "nosuchbank"))))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(4, true)), n.sys(cC, "bankC", voteMsg(4, true))))
	p := n.proposal(4)
	if p.Status != permission.StatusFailed || !strings.Contains(p.Result, "unknown organisation") {
		t.Fatalf("proposal 4 %+v", p)
	}
	v, _ = n.store.View(0)
	after, _ := permission.Identities(v)
	if len(before) != len(after) {
		t.Fatal("a failed proposal changed the registry")
	}

	// #5 removing the only validator is refused at execution.
	remove := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{PubKeyEd25519: n.valPub, Power: 0}}})
	n.mustOK(n.block(n.sys(cA, "bankA", remove)))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(5, true)), n.sys(cC, "bankC", voteMsg(5, true))))
	if p := n.proposal(5); p.Status != permission.StatusFailed || !strings.Contains(p.Result, "would leave no validator") {
		t.Fatalf("proposal 5 %+v", p)
	}
}

func TestValidatorSetChange(t *testing.T) {
	n := newGovNet(t, Params{})
	cA, cB, cC := n.committee["bankA"], n.committee["bankB"], n.committee["bankC"]
	pk := ed25519.GenPrivKey().PubKey()
	add := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{
		PubKeyEd25519: pk.Bytes(), Org: "bankB", Name: "val5", Sm2PublicKey: mustKey(t).Public().Bytes(), Power: 7,
		NodeId: strings.Repeat("ab", 20)}}})
	n.mustOK(n.block(n.sys(cA, "bankA", add)))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(1, true))))
	res, err := n.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: n.height + 1, Time: n.now.Add(1e9),
		Txs: [][]byte{n.sys(cC, "bankC", voteMsg(1, true))}})
	if err != nil || res.TxResults[0].Code != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 7 {
		t.Fatalf("validator updates %+v", res.ValidatorUpdates)
	}
	if _, err := n.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	v, _ := n.store.View(0)
	val, ok, _ := permission.GetValidator(v, pk.Address().String())
	if !ok || val.Power != 7 || val.Org != "bankB" {
		t.Fatalf("registry %+v", val)
	}
	if admitted, _ := permission.AdmitNode(v, strings.Repeat("ab", 20)); !admitted {
		t.Fatal("new validator's node not admitted")
	}
}

func TestHoldsAndAdmission(t *testing.T) {
	evicted := make(chan string, 1)
	n := newGovNet(t, Params{})
	n.app.onNodeRemoved = func(id string) { evicted <- id }
	cA, cB := n.committee["bankA"], n.committee["bankB"]
	to := n.payee

	// A hold on the member's account: the regulator alone places it.
	hold := proposeMsg(&txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{
		Ledger: "payments", Account: n.member.Public().Address().Bytes(), Reason: "AML review", ExpiryHeight: n.height + 3}}})
	n.mustOK(n.block(n.sys(n.regulator, "bankD", hold)))
	r := n.check(n.tx(n.member, "bankB", "payments", transfer("CNY", to, 1)))
	if r.Code != permission.ErrHeld.Code() || !strings.Contains(r.Log, "hold 1") || !strings.Contains(r.Log, "AML review") {
		t.Fatalf("held account sent: %d %q", r.Code, r.Log)
	}
	n.block()
	n.block()
	if res := n.block(n.tx(n.member, "bankB", "payments", transfer("CNY", to, 1))); res[0].Code != 0 {
		t.Fatalf("hold did not lift at its expiry: %s", res[0].Log)
	}

	// Node admission and eviction.
	id := strings.Repeat("cd", 20)
	filter := func(id string) uint32 {
		r, _ := n.app.Query(context.Background(), &abci.RequestQuery{Path: "/p2p/filter/id/" + id})
		return r.Code
	}
	if filter(id) != 0 {
		t.Fatal("empty registry should admit every node")
	}
	set := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetNode{SetNode: &txpb.SetNode{NodeId: id, Org: "bankB", Kind: "observer"}}})
	n.mustOK(n.block(n.sys(cA, "bankA", set)))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(2, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(2, true))))
	if filter(id) != 0 || filter(strings.Repeat("ef", 20)) == 0 {
		t.Fatal("registered node refused or unregistered node admitted")
	}
	rm := proposeMsg(&txpb.Propose{Action: &txpb.Propose_RemoveNode{RemoveNode: &txpb.RemoveNode{NodeId: id}}})
	n.mustOK(n.block(n.sys(cA, "bankA", rm)))
	n.mustOK(n.block(n.sys(cB, "bankB", voteMsg(3, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(3, true))))
	if got := <-evicted; got != id {
		t.Fatalf("evicted %q", got)
	}
	if filter(id) == 0 {
		t.Fatal("removed node still admitted")
	}
}

// TestCheckTxHasNoSideEffects: a vote that would pass a proposal, seen by
// CheckTx only, must not create ledgers, change parameters or evict nodes.
func TestCheckTxHasNoSideEffects(t *testing.T) {
	n := newGovNet(t, Params{})
	create := proposeMsg(&txpb.Propose{Action: &txpb.Propose_CreateLedger{CreateLedger: &txpb.CreateLedger{Name: "custody", MemberOrgs: []string{"bankA"}}}})
	params := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetParams{SetParams: &txpb.SetParams{VotingPeriodBlocks: 17}}})
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", create), n.sys(n.committee["bankA"], "bankA", params)))
	for _, id := range []uint64{1, 2} {
		for _, org := range []string{"bankB", "bankC"} {
			if r := n.check(n.sys(n.committee[org], org, voteMsg(id, true))); r.Code != 0 {
				t.Fatal(r.Log)
			}
		}
	}
	if n.store.HasLedger("custody") || n.app.params.VotingPeriodBlocks == 17 {
		t.Fatal("CheckTx executed a proposal's effects")
	}
	n.mustOK(n.block(n.sys(n.committee["bankB"], "bankB", voteMsg(1, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(1, true)),
		n.sys(n.committee["bankB"], "bankB", voteMsg(2, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(2, true))))
	if !n.store.HasLedger("custody") || n.app.params.VotingPeriodBlocks != 17 {
		t.Fatal("the block did not execute the proposals")
	}
}

// TestAdminCannotGrantCrossOrgRoles plays a bank admin that tries to make
// itself (or a fresh key of its bank) a global reader, a regulator or a
// committee member without a vote: refused with a message naming governance,
// in CheckTx and in a block, and the registry is unchanged. Re-registering
// an identity keeps the roles governance gave it. Governance grants auditor
// roles for all sub-ledgers or for one that exists.
func TestAdminCannotGrantCrossOrgRoles(t *testing.T) {
	n := newGovNet(t, Params{})
	admin := n.committee["bankA"] // committee and admin of bankA
	fresh := mustKey(t)
	registry := func() string {
		v, _ := n.store.View(0)
		ids, err := permission.Identities(v)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ids)
		return string(b)
	}
	register := func(who *gmcrypto.PrivateKey, roles ...string) []byte {
		return n.sys(admin, "bankA", &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{
			Address: who.Public().Address().Bytes(), Roles: roles}}})
	}
	cases := []struct {
		name  string
		who   *gmcrypto.PrivateKey
		roles []string
	}{
		{"itself auditor", admin, []string{"auditor"}},
		{"itself scoped auditor", admin, []string{"auditor:payments"}},
		{"itself regulator", admin, []string{"regulator"}},
		{"a fresh key committee", fresh, []string{"committee"}},
		{"a fresh key member and auditor", fresh, []string{"member", "auditor"}},
		{"a fresh key issuer", fresh, []string{"issuer:payments/CNY"}},
		{"a fresh key admin", fresh, []string{"admin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := registry()
			raw := register(c.who, c.roles...)
			r := n.check(raw)
			if r.Code != permission.ErrUnauthorized.Code() || r.Codespace != "permission" || !strings.Contains(r.Log, "granted only by governance") {
				t.Fatalf("CheckTx = %s/%d %q, want permission/3 naming governance", r.Codespace, r.Code, r.Log)
			}
			res := n.block(raw)
			if res[0].Code != permission.ErrUnauthorized.Code() || !strings.Contains(res[0].Log, "granted only by governance") {
				t.Fatalf("FinalizeBlock = %d %q", res[0].Code, res[0].Log)
			}
			if after := registry(); after != before {
				t.Fatalf("registry changed:\n%s\n%s", before, after)
			}
		})
	}

	// Local roles pass; re-registering keeps the governance roles.
	n.mustOK(n.block(register(admin, "member:payments")))
	v, _ := n.store.View(0)
	id, _, _ := permission.GetIdentity(v, admin.Public().Address())
	if strings.Join(id.Roles, ",") != "admin,committee,member:payments" {
		t.Fatalf("roles after re-registration: %v", id.Roles)
	}

	// Governance grants auditor roles, scoped to what the grant names.
	grant := func(role string) *txpb.Message {
		return proposeMsg(&txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: fresh.Public().Address().Bytes(), Org: "bankC", Role: role}}})
	}
	pass := func(role string) permission.Proposal {
		n.mustOK(n.block(n.sys(n.committee["bankB"], "bankB", grant(role))))
		v, _ := n.store.View(0)
		ps, _ := permission.Proposals(v)
		id := ps[len(ps)-1].ID
		n.mustOK(n.block(n.sys(n.committee["bankC"], "bankC", voteMsg(id, true)), n.sys(n.committee["bankD"], "bankD", voteMsg(id, true))))
		return n.proposal(id)
	}
	if p := pass("auditor:nosuch"); p.Status != permission.StatusFailed || !strings.Contains(p.Result, `no sub-ledger "nosuch"`) {
		t.Fatalf("auditor of an unknown ledger: %+v", p)
	}
	if p := pass("regulator:payments"); p.Status != permission.StatusFailed || !strings.Contains(p.Result, "takes no scope") {
		t.Fatalf("scoped regulator: %+v", p)
	}
	if p := pass("auditor:payments"); p.Status != permission.StatusPassed {
		t.Fatalf("auditor of payments: %+v", p)
	}
	if p := pass("auditor"); p.Status != permission.StatusPassed {
		t.Fatalf("auditor of every ledger: %+v", p)
	}
	v, _ = n.store.View(0)
	id, _, _ = permission.GetIdentity(v, fresh.Public().Address())
	if id.Org != "bankC" || strings.Join(id.Roles, ",") != "auditor,auditor:payments" {
		t.Fatalf("granted identity %+v", id)
	}
}

// passBy has proposer's organisation propose p and bankB..bankD (other than
// the proposer) vote yes, returning the proposal.
func (n *govNet) passBy(proposer string, p *txpb.Propose, voters ...string) permission.Proposal {
	n.t.Helper()
	n.mustOK(n.block(n.sys(n.committee[proposer], proposer, proposeMsg(p))))
	v, _ := n.store.View(0)
	ps, _ := permission.Proposals(v)
	id := ps[len(ps)-1].ID
	var votes [][]byte
	for _, o := range voters {
		votes = append(votes, n.sys(n.committee[o], o, voteMsg(id, true)))
	}
	n.mustOK(n.block(votes...))
	return n.proposal(id)
}

// TestRemoveOrganisation pins that an expelled bank keeps nothing: its
// identities, its ledger memberships and its nodes in the peer filter are
// gone, and its connected nodes are handed to the node for eviction after
// the commit. A bank that still runs a voting validator cannot be removed
// until its validator is (the safe order: the validator set changes first).
func TestRemoveOrganisation(t *testing.T) {
	evicted := make(chan string, 4)
	n := newGovNet(t, Params{})
	n.app.onNodeRemoved = func(id string) { evicted <- id }
	filter := func(id string) uint32 {
		r, _ := n.app.Query(context.Background(), &abci.RequestQuery{Path: "/p2p/filter/id/" + id})
		return r.Code
	}
	nodeC, nodeB := strings.Repeat("c1", 20), strings.Repeat("b1", 20)
	for _, nd := range []*txpb.SetNode{{NodeId: nodeC, Org: "bankC", Kind: "observer"}, {NodeId: nodeB, Org: "bankB", Kind: "observer"}} {
		if p := n.passBy("bankA", &txpb.Propose{Action: &txpb.Propose_SetNode{SetNode: nd}}, "bankB", "bankC"); p.Status != permission.StatusPassed {
			t.Fatalf("set node: %+v", p)
		}
	}
	if filter(nodeC) != 0 {
		t.Fatal("bankC's node not admitted")
	}

	// bankA runs the only validator: its removal is refused, nothing changes.
	p := n.passBy("bankB", &txpb.Propose{Action: &txpb.Propose_RemoveOrganisation{RemoveOrganisation: &txpb.RemoveOrganisation{Id: "bankA"}}}, "bankC", "bankD")
	if p.Status != permission.StatusFailed || !strings.Contains(p.Result, "still runs validator") {
		t.Fatalf("removing a bank with a voting validator: %+v", p)
	}
	v, _ := n.store.View(0)
	if _, err := permission.GetOrganisation(v, "bankA"); err != nil {
		t.Fatalf("bankA removed: %v", err)
	}

	// bankC goes.
	p = n.passBy("bankA", &txpb.Propose{Action: &txpb.Propose_RemoveOrganisation{RemoveOrganisation: &txpb.RemoveOrganisation{Id: "bankC"}}}, "bankB", "bankD")
	if p.Status != permission.StatusPassed {
		t.Fatalf("remove bankC: %+v", p)
	}
	v, _ = n.store.View(0)
	ids, _ := permission.Identities(v)
	for _, id := range ids {
		if id.Org == "bankC" {
			t.Fatalf("identity of the removed bank left: %+v", id)
		}
	}
	li, _, _ := permission.GetLedgerInfo(v, "payments")
	if slices.Contains(li.Members, "bankC") {
		t.Fatalf("removed bank still a member of payments: %v", li.Members)
	}
	if filter(nodeC) == 0 {
		t.Fatal("removed bank's node still admitted by the peer filter")
	}
	if filter(nodeB) != 0 {
		t.Fatal("another bank's node refused")
	}
	select {
	case got := <-evicted:
		if got != nodeC {
			t.Fatalf("evicted %q, want %s", got, nodeC)
		}
	case <-time.After(10 * time.Second): // the hand-off runs on its own goroutine; it is expected at once
		t.Fatal("the removed bank's node was not handed over for eviction")
	}
	if n, _ := permission.CommitteeOrgs(v); n != 3 {
		t.Fatalf("committee organisations %d, want 3", n)
	}
}

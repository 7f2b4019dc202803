package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const testChain = "test-chain"

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	t      testing.TB
	app    *App
	store  *ledger.Store
	height int64
	now    time.Time
	issuer *gmcrypto.PrivateKey // bankA issuer of CNY, funded
	alice  *gmcrypto.PrivateKey // bankB member, funded
	bob    *gmcrypto.PrivateKey // bankB member of payments, empty
	// genesis is the app state InitChain got, for twin.
	genesis []byte
	// retainHeight is what the last Commit answered.
	retainHeight int64
}

// newHarness starts a chain at genesis; members are extra identities of
// bankB with the member role (payees of the payments ledger).
func newHarness(t testing.TB, members ...*gmcrypto.PrivateKey) *harness {
	t.Helper()
	return newHarnessEdited(t, nil, members...)
}

// newHarnessEdited is newHarness with edit applied to the genesis first.
func newHarnessEdited(t testing.TB, edit func(*GenesisState), members ...*gmcrypto.PrivateKey) *harness {
	t.Helper()
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	h := &harness{t: t, store: store, now: genesisTime}
	h.issuer, h.alice, h.bob = mustKey(t), mustKey(t), mustKey(t)
	h.app, err = New(store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA"}, {ID: "bankB"}},
		Identities: []permission.Identity{
			{Name: "issuer", Address: h.issuer.Public().Address().String(), Org: "bankA", Roles: []string{"issuer"}},
			{Name: "alice", Address: h.alice.Public().Address().String(), Org: "bankB", Roles: []string{"member"}},
			{Name: "bob", Address: h.bob.Public().Address().String(), Org: "bankB", Roles: []string{"member:payments"}},
		},
		Ledgers: []GenesisLedger{{
			Name:   "payments",
			Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA", Decimals: 2}},
			Balances: []GenesisBalance{
				{Asset: "CNY", Account: h.issuer.Public().Address().String(), Amount: 1000},
				{Asset: "CNY", Account: h.alice.Public().Address().String(), Amount: 500},
			},
		}, {Name: "custody", Assets: []payments.Asset{{Symbol: "GOLD", Issuer: "bankB"}}}},
	}
	for i, k := range members {
		g.Identities = append(g.Identities, permission.Identity{Name: fmt.Sprintf("member%d", i), Address: k.Public().Address().String(), Org: "bankB", Roles: []string{"member"}})
	}
	if edit != nil {
		edit(&g)
	}
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b}); err != nil {
		t.Fatal(err)
	}
	h.genesis = b
	return h
}

// twin is another node of h's chain, with its own store and opts, at
// genesis: the same blocks can be run on both (h must be at genesis too).
func (h *harness) twin(opts Options) *harness {
	h.t.Helper()
	store, err := ledger.Open(h.t.TempDir(), ledger.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = store.Close() })
	tw := *h
	tw.store, tw.retainHeight = store, 0
	if tw.app, err = New(store, opts); err != nil {
		h.t.Fatal(err)
	}
	if _, err := tw.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: h.genesis}); err != nil {
		h.t.Fatal(err)
	}
	return &tw
}

func mustKey(t testing.TB) *gmcrypto.PrivateKey {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (h *harness) tx(key *gmcrypto.PrivateKey, org, ledgerName string, msg *txpb.Message) []byte {
	return h.txAt(key, org, testChain, ledgerName, h.now, msg)
}

func (h *harness) txAt(key *gmcrypto.PrivateKey, org, chain, ledgerName string, at time.Time, msg *txpb.Message) []byte {
	b, _, err := wire.BuildTx(wire.Signer{Key: key, MSPID: org}, chain, ledgerName, at, msg)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// block finalizes and commits txs as the next block, returning the results.
func (h *harness) block(txs ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	ctx := context.Background()
	pp, err := h.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: h.height})
	if err != nil || pp.Status != abci.ResponseProcessProposal_ACCEPT {
		h.t.Fatalf("proposal rejected: %v %v", pp, err)
	}
	res, err := h.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: txs, Height: h.height, Time: h.now})
	if err != nil {
		h.t.Fatal(err)
	}
	cr, err := h.app.Commit(ctx, &abci.RequestCommit{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.retainHeight = cr.RetainHeight
	if got := h.store.LastCommit().AppHash; !bytes.Equal(got, res.AppHash) {
		h.t.Fatalf("committed app hash %X differs from FinalizeBlock's %X", got, res.AppHash)
	}
	h.checkCommitments()
	return res.TxResults
}

// checkCommitments fails the test when a balance of any sub-ledger is not
// its completeness commitment's: every block of every app test (payments,
// custody, pvp, receivables, redemptions) checks that no balance moved
// without a movement the commitments recorded.
func (h *harness) checkCommitments() {
	h.t.Helper()
	if _, bench := h.t.(*testing.B); bench {
		return // benchmarks time the state machine, not the test's checks
	}
	v, err := h.store.View(0)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, name := range v.Ledgers() {
		if strings.HasPrefix(name, "_") {
			continue
		}
		res, err := h.app.payments.CheckCommitments(v, name)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range res {
			if !r.Holds {
				h.t.Fatalf("height %d: completeness commitments of %s/%s broken: %+v", h.height, r.Ledger, r.Asset, r)
			}
		}
	}
}

func (h *harness) balance(key *gmcrypto.PrivateKey) uint64 {
	v, err := h.store.View(0)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := h.app.payments.Balance(v, "payments", "CNY", key.Public().Address())
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) root(name string) []byte {
	for _, r := range h.store.LastCommit().Roots {
		if r.Name == name {
			return r.Root
		}
	}
	h.t.Fatalf("no ledger %s", name)
	return nil
}

func transfer(asset string, to *gmcrypto.PrivateKey, amount uint64) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: asset, To: to.Public().Address().Bytes(), Amount: amount}}}
}

func issue(asset string, to *gmcrypto.PrivateKey, amount uint64) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Issue{Issue: &txpb.Issue{Asset: asset, To: to.Public().Address().Bytes(), Amount: amount}}}
}

func burn(asset string, amount uint64) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Burn{Burn: &txpb.Burn{Asset: asset, Amount: amount}}}
}

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	res := h.block(
		h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 200)),
		h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 50)),
		h.tx(h.bob, "bankB", "payments", burn("CNY", 10)), // bob's credits precede it in the block
	)
	for i, r := range res {
		if r.Code != 0 {
			t.Fatalf("tx %d failed: %s", i, r.Log)
		}
	}
	if got := h.balance(h.bob); got != 240 {
		t.Fatalf("bob has %d, want 240", got)
	}
	if got := h.balance(h.alice); got != 300 {
		t.Fatalf("alice has %d, want 300", got)
	}
	v, _ := h.store.View(0)
	inv, err := h.app.Invariants(v)
	if err != nil || !inv.Holds {
		t.Fatalf("invariants: %+v %v", inv, err)
	}
	if r := inv.Results[1]; r.Asset != "CNY" || r.Issued != 1550 || r.Burned != 10 || r.SumBalances != 1540 {
		t.Fatalf("supply %+v", inv.Results)
	}
	// The transfer event names ledger, asset, parties and amount.
	ev := res[0].Events[0]
	want := map[string]string{"ledger": "payments", "asset": "CNY", "from": h.alice.Public().Address().String(), "to": h.bob.Public().Address().String(), "amount": "200"}
	for _, a := range ev.Attributes {
		if w, ok := want[a.Key]; ok && w != a.Value {
			t.Fatalf("event attribute %s = %s, want %s", a.Key, a.Value, w)
		}
	}
}

// TestBadInput pins that each kind of bad input gets its registered code, a
// log naming the problem, and changes nothing in the sub-ledger.
func TestBadInput(t *testing.T) {
	h := newHarness(t)
	good := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	if r := h.block(good); r[0].Code != 0 {
		t.Fatal(r[0].Log)
	}
	tampered := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	tampered[len(tampered)-3] ^= 0x55 // inside the signature

	cases := []struct {
		name     string
		tx       []byte
		space    string
		code     uint32
		contains string
	}{
		{"malformed bytes", []byte{0xde, 0xad, 0xbe, 0xef}, "app", 2, "malformed transaction"},
		{"empty", []byte{}, "app", 2, "empty transaction"},
		{"replay", good, "app", 7, "was committed at height 1"},
		{"wrong chain id", h.txAt(h.alice, "bankB", "other-chain", "payments", h.now, transfer("CNY", h.bob, 1)), "app", 5, `"other-chain"`},
		{"stale timestamp", h.txAt(h.alice, "bankB", testChain, "payments", h.now.Add(-time.Hour), transfer("CNY", h.bob, 1)), "app", 6, "window"},
		{"future timestamp", h.txAt(h.alice, "bankB", testChain, "payments", h.now.Add(time.Hour), transfer("CNY", h.bob, 1)), "app", 6, "window"},
		{"unknown ledger", h.tx(h.alice, "bankB", "nosuch", transfer("CNY", h.bob, 1)), "app", 8, `"nosuch"`},
		{"system ledger", h.tx(h.alice, "bankB", permission.SystemLedger, transfer("CNY", h.bob, 1)), "app", 8, "_system"},
		{"unknown asset", h.tx(h.alice, "bankB", "payments", transfer("EUR", h.bob, 1)), "payments", 2, `"EUR"`},
		{"zero amount", h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 0)), "payments", 3, "positive"},
		{"insufficient funds", h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 10_000)), "payments", 4, "holds 499 CNY"},
		{"burn more than held", h.tx(h.bob, "bankB", "payments", burn("CNY", 2)), "payments", 4, "burn needs 2"},
		{"issue by non-issuer", h.tx(h.alice, "bankB", "payments", issue("CNY", h.bob, 1)), "permission", 3, "lacks role issuer"},
		{"issue by unregistered", h.tx(mustKey(t), "bankA", "payments", issue("CNY", h.bob, 1)), "permission", 3, "not registered"},
		{"claims another organisation", h.tx(h.alice, "bankA", "payments", transfer("CNY", h.bob, 1)), "permission", 3, "registered to organisation bankB"},
		{"transfer by non-member", h.tx(mustKey(t), "bankB", "payments", transfer("CNY", h.bob, 1)), "permission", 3, "role member on payments"},
		{"member of another ledger", h.tx(h.bob, "bankB", "custody", transfer("GOLD", h.alice, 1)), "permission", 3, "lacks role member on custody"},
		{"issue overflow", h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, math.MaxUint64)), "payments", 5, "overflow"},
		{"bad recipient", h.tx(h.alice, "bankB", "payments", &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: []byte{1, 2}, Amount: 1}}}), "payments", 7, "recipient"},
		{"no message", h.tx(h.alice, "bankB", "payments", &txpb.Message{}), "app", 3, "no message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: c.tx})
			if err != nil {
				t.Fatal(err)
			}
			if check.Codespace != c.space || check.Code != c.code || !bytes.Contains([]byte(check.Log), []byte(c.contains)) {
				t.Fatalf("CheckTx = %s/%d %q, want %s/%d containing %q", check.Codespace, check.Code, check.Log, c.space, c.code, c.contains)
			}
			// The same tx forced into a block fails the same way and changes no sub-ledger.
			before := h.root("payments")
			res := h.finalizeUnchecked(c.tx)
			if res.Code != c.code || res.Codespace != c.space {
				t.Fatalf("FinalizeBlock = %s/%d %q", res.Codespace, res.Code, res.Log)
			}
			if !bytes.Equal(before, h.root("payments")) {
				t.Fatal("a rejected transaction changed the payments ledger")
			}
		})
	}
	t.Run("tampered signature", func(t *testing.T) {
		check, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tampered})
		if check.Code == 0 {
			t.Fatal("tampered tx accepted")
		}
		pp, _ := h.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: [][]byte{tampered}, Height: h.height + 1})
		if pp.Status != abci.ResponseProcessProposal_REJECT {
			t.Fatal("proposal with a tampered tx accepted")
		}
	})
}

// finalizeUnchecked commits a block without going through ProcessProposal,
// as a node would if a faulty proposer's block still reached FinalizeBlock.
func (h *harness) finalizeUnchecked(tx []byte) *abci.ExecTxResult {
	h.height++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: [][]byte{tx}, Height: h.height, Time: h.now})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatal(err)
	}
	return res.TxResults[0]
}

func TestMempoolSeesPendingSpends(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	first := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 400))
	second := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 400))
	if r, _ := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: first}); r.Code != 0 {
		t.Fatal(r.Log)
	}
	if r, _ := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: second}); r.Code != 4 {
		t.Fatalf("second spend of the same funds admitted: %+v", r)
	}
	if r, _ := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: first}); r.Code != 7 {
		t.Fatalf("duplicate admitted to mempool: %+v", r)
	}
}

func TestRestartRestoresState(t *testing.T) {
	dir := t.TempDir()
	store, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: store, now: genesisTime}
	h2 := newHarness(t) // reuse its genesis shape with fresh keys
	h.issuer, h.alice, h.bob = h2.issuer, h2.alice, h2.bob
	if h.app, err = New(store, Options{}); err != nil {
		t.Fatal(err)
	}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankB"}},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankB"}},
			Balances: []GenesisBalance{{Asset: "CNY", Account: h.alice.Public().Address().String(), Amount: 10}}}},
	}
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b}); err != nil {
		t.Fatal(err)
	}
	replayed := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 3))
	h.block(replayed)
	info, _ := h.app.Info(context.Background(), &abci.RequestInfo{})
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store2, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	a2, err := New(store2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info2, _ := a2.Info(context.Background(), &abci.RequestInfo{})
	if info2.LastBlockHeight != 1 || !bytes.Equal(info.LastBlockAppHash, info2.LastBlockAppHash) {
		t.Fatalf("Info after restart = %d %X, want 1 %X", info2.LastBlockHeight, info2.LastBlockAppHash, info.LastBlockAppHash)
	}
	if a2.ChainID() != testChain {
		t.Fatalf("chain id %q after restart", a2.ChainID())
	}
	// Replay protection survives the restart.
	r, _ := a2.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: replayed})
	if r.Code != ErrReplay.Code() {
		t.Fatalf("replayed tx after restart: %+v", r)
	}
}

func TestGenesisErrors(t *testing.T) {
	addr := mustKey(t).Public().Address().String()
	cases := []struct{ name, json, contains string }{
		{"unknown field", `{"organisations":[],"ledgers":[{"name":"p","assets":[]}],"typo":1}`, "typo"},
		{"no ledgers", `{"organisations":[{"id":"a"}]}`, "no sub-ledgers"},
		{"reserved ledger name", `{"organisations":[{"id":"a"}],"ledgers":[{"name":"_x","assets":[]}]}`, "reserved"},
		{"unknown issuer", `{"organisations":[{"id":"a"}],"ledgers":[{"name":"p","assets":[{"symbol":"C","issuer":"b"}]}]}`, `issuer organisation "b"`},
		{"balance of unknown asset", `{"organisations":[{"id":"a"}],"ledgers":[{"name":"p","assets":[],"balances":[{"asset":"C","account":"` + addr + `","amount":"1"}]}]}`, `unknown asset "C"`},
		{"bad account", `{"organisations":[{"id":"a"}],"ledgers":[{"name":"p","assets":[{"symbol":"C","issuer":"a"}],"balances":[{"asset":"C","account":"xyz","amount":"1"}]}]}`, "invalid address"},
		{"duplicate org", `{"organisations":[{"id":"a"},{"id":"a"}],"ledgers":[{"name":"p","assets":[]}]}`, "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseGenesis([]byte(c.json))
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.contains)) {
				t.Fatalf("ParseGenesis error %v, want one containing %q", err, c.contains)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	h := newHarness(t)
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 100)))
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 100)))
	q := func(path string, data any, height int64) *abci.ResponseQuery {
		var b []byte
		switch d := data.(type) {
		case string:
			b = []byte(d)
		case nil:
		default:
			b, _ = json.Marshal(d)
		}
		r, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: b, Height: height})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	bob := h.bob.Public().Address().String()
	var bal BalanceResponse
	_ = json.Unmarshal(q(QueryBalance, BalanceRequest{Ledger: "payments", Asset: "CNY", Account: bob}, 1).Value, &bal)
	if bal.Amount != 100 || bal.Height != 1 {
		t.Fatalf("balance at height 1 = %+v", bal)
	}
	_ = json.Unmarshal(q(QueryBalance, BalanceRequest{Ledger: "payments", Asset: "CNY", Account: bob}, 0).Value, &bal)
	if bal.Amount != 200 || bal.Height != 2 {
		t.Fatalf("latest balance = %+v", bal)
	}
	var ledgers []LedgerInfo
	_ = json.Unmarshal(q(QueryLedgers, nil, 0).Value, &ledgers)
	if len(ledgers) != 2 || ledgers[0].Name != "custody" || ledgers[1].Name != "payments" {
		t.Fatalf("ledgers = %+v", ledgers)
	}
	errCases := []struct {
		name, path string
		data       any
		height     int64
		contains   string
	}{
		{"future height", QueryBalance, BalanceRequest{Ledger: "payments", Asset: "CNY", Account: bob}, 99, "height"},
		{"bad account", QueryBalance, BalanceRequest{Ledger: "payments", Asset: "CNY", Account: "nope"}, 0, "invalid address"},
		{"unknown ledger", QueryBalance, BalanceRequest{Ledger: "x", Asset: "CNY", Account: bob}, 0, "unknown sub-ledger"},
		{"system ledger hidden", QueryBalance, BalanceRequest{Ledger: "_system", Asset: "CNY", Account: bob}, 0, "unknown sub-ledger"},
		{"unknown asset", QueryBalance, BalanceRequest{Ledger: "payments", Asset: "EUR", Account: bob}, 0, "unknown asset"},
		{"bad tx id", QueryTx, "zz", 0, "64 hex"},
		{"unknown tx", QueryTx, "00000000000000000000000000000000000000000000000000000000000000aa", 0, "not found"},
		{"unknown path", "/nope", nil, 0, "unknown path"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			r := q(c.path, c.data, c.height)
			if r.Code == 0 || !bytes.Contains([]byte(r.Log), []byte(c.contains)) {
				t.Fatalf("query %s = %d %q, want error containing %q", c.path, r.Code, r.Log, c.contains)
			}
		})
	}
}

func TestSameTxTwiceInOneBlock(t *testing.T) {
	h := newHarness(t)
	tx := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 5))
	res := h.block(tx, tx)
	if res[0].Code != 0 || res[1].Code != ErrReplay.Code() || !strings.Contains(res[1].Log, "was committed at height") {
		t.Fatalf("results %+v, %+v", res[0], res[1])
	}
	if got := h.balance(h.bob); got != 5 {
		t.Fatalf("bob has %d, want 5 (paid once)", got)
	}
	// The next block refuses it from the in-memory replay set, the restart
	// test from the state.
	if res := h.block(tx); res[0].Code != ErrReplay.Code() {
		t.Fatalf("replay in the next block: %+v", res[0])
	}
}

// TestLeanIndex pins what a validator's lean index keeps: what finds a
// transaction by id, an account's payments by recipient, and an
// organisation's movements for its statement (jinlian_tx.org, to_org).
func TestLeanIndex(t *testing.T) {
	type pick func(h *harness) (*gmcrypto.PrivateKey, *txpb.Message)
	cases := []struct {
		name     string
		org      string
		tx       pick
		lean     string
		fullSize int
	}{
		{"transfer: sender, recipient and both organisations", "bankB",
			func(h *harness) (*gmcrypto.PrivateKey, *txpb.Message) { return h.alice, transfer("CNY", h.bob, 5) },
			"jinlian_tx.id jinlian_tx.org jinlian_tx.sender transfer.to transfer.to_org", 14},
		{"issue: issuer, recipient and both organisations", "bankA",
			func(h *harness) (*gmcrypto.PrivateKey, *txpb.Message) { return h.issuer, issue("CNY", h.bob, 5) },
			"issue.to issue.to_org jinlian_tx.id jinlian_tx.org jinlian_tx.sender", 13},
		{"burn: the holder and its organisation by jinlian_tx", "bankB",
			func(h *harness) (*gmcrypto.PrivateKey, *txpb.Message) { return h.alice, burn("CNY", 5) },
			"jinlian_tx.id jinlian_tx.org jinlian_tx.sender", 11},
	}
	indexed := func(lean bool, org string, tx pick) []string {
		h := newHarness(t)
		h.app.leanIndex = lean
		key, msg := tx(h)
		res := h.block(h.tx(key, org, "payments", msg))
		if res[0].Code != 0 {
			t.Fatal(res[0].Log)
		}
		var keys []string
		for _, e := range res[0].Events {
			for _, at := range e.Attributes {
				if at.Index {
					keys = append(keys, e.Type+"."+at.Key)
				}
			}
		}
		slices.Sort(keys)
		return keys
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := strings.Join(indexed(true, c.org, c.tx), " "); got != c.lean {
				t.Errorf("lean index: %s, want %s", got, c.lean)
			}
			if got := indexed(false, c.org, c.tx); len(got) != c.fullSize {
				t.Errorf("full index: %d attributes %v, want all %d", len(got), got, c.fullSize)
			}
		})
	}
}

// A crash between writing a block's spent ids and its commit record leaves
// records of a height that never committed; after the restart they must
// not make the replayed block's transactions look like replays.
func TestSpentIndexIgnoresUncommittedHeights(t *testing.T) {
	dir := t.TempDir()
	store, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.store.Close()
	h.store = store
	if h.app, err = New(store, Options{}); err != nil {
		t.Fatal(err)
	}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankB"}},
		Identities: []permission.Identity{{Address: h.alice.Public().Address().String(), Org: "bankB", Roles: []string{"member"}},
			{Address: h.bob.Public().Address().String(), Org: "bankB", Roles: []string{"member"}}},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankB"}},
			Balances: []GenesisBalance{{Asset: "CNY", Account: h.alice.Public().Address().String(), Amount: 10}}}},
	}
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b}); err != nil {
		t.Fatal(err)
	}
	h.block() // height 1
	tx := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	d, _ := wire.DecodeTx(tx)
	// The crash: height 2's ids recorded, its commit record never written.
	pairs, _, err := spentRecords(store, map[string]spend{d.ID: {height: 2, stamp: d.Timestamp}}, []string{d.ID}, genesisTime, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteAside(pairs); err != nil {
		t.Fatal(err)
	}
	if got, _ := spentAt(store, d.ID, 1, anyStamp); got != 0 {
		t.Fatalf("record of uncommitted height 2 seen at height 1: %d", got)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if h.store, err = ledger.Open(dir, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	defer h.store.Close()
	if h.app, err = New(h.store, Options{}); err != nil {
		t.Fatal(err)
	}
	if res := h.block(tx); res[0].Code != 0 {
		t.Fatalf("replayed block's tx refused after the restart: %+v", res[0])
	}
	if got, _ := spentAt(h.store, d.ID, 2, anyStamp); got != 2 {
		t.Fatalf("spent at %d, want 2", got)
	}
	if res := h.block(tx); res[0].Code != ErrReplay.Code() {
		t.Fatalf("replay after the restart: %+v", res[0])
	}
}

// After every block CometBFT rechecks the mempool. A recheck removes what
// the block made invalid and is cheap to tell (replay, an expired timestamp
// window) but does not execute the message again, so a transfer the block
// made unaffordable stays until its own block refuses it.
func TestRecheck(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	check := func(tx []byte, typ abci.CheckTxType) uint32 {
		t.Helper()
		r, err := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	spend := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 500)) // all of alice's CNY
	waiting := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 100))
	if check(waiting, abci.CheckTxType_New) != 0 {
		t.Fatal("waiting transfer refused")
	}
	h.block(spend)
	if code := check(spend, abci.CheckTxType_Recheck); code != ErrReplay.Code() {
		t.Fatalf("recheck of a committed transaction: code %d, want replay", code)
	}
	if code := check(waiting, abci.CheckTxType_Recheck); code != 0 {
		t.Fatalf("recheck executed the transfer again: code %d", code)
	}
	if code := check(waiting, abci.CheckTxType_New); code == 0 {
		t.Fatal("a new check did not execute the transfer alice can no longer afford")
	}
	if res := h.block(waiting); res[0].Code == 0 {
		t.Fatal("unaffordable transfer executed")
	}
	// Past the timestamp window a recheck removes it.
	stale := h.tx(h.bob, "bankB", "payments", transfer("CNY", h.alice, 1))
	if check(stale, abci.CheckTxType_New) != 0 {
		t.Fatal("fresh transfer refused")
	}
	h.now = h.now.Add(time.Duration(h.app.Params().TxTimeWindowSeconds+1) * time.Second)
	h.block()
	if code := check(stale, abci.CheckTxType_Recheck); code != ErrStaleTimestamp.Code() {
		t.Fatalf("recheck past the window: code %d, want stale timestamp", code)
	}
}

// A node whose latest block is old refuses a fresh transaction as outside
// the window; the refusal must say the node may be behind, with its latest
// height and block time, instead of only blaming the client's timestamp.
func TestCheckTxOfANodeBehindSaysSo(t *testing.T) {
	h := newHarness(t)
	h.block()
	window := time.Duration(h.app.Params().TxTimeWindowSeconds) * time.Second
	fresh := h.txAt(h.alice, "bankB", testChain, "payments", h.now.Add(window+time.Hour), transfer("CNY", h.bob, 1))
	r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: fresh, Type: abci.CheckTxType_New})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ahead of this node's latest block (height %d, time %s)", h.height, h.now.UTC().Format(time.RFC3339))
	if r.Code != ErrStaleTimestamp.Code() || !strings.Contains(r.Log, want) || !strings.Contains(r.Log, "this node may be behind") {
		t.Fatalf("CheckTx of a tx ahead of a lagging node: code %d log %q, want %q and the node named as maybe behind", r.Code, r.Log, want)
	}
	// A transaction stamped too far in the past is the client's.
	old := h.txAt(h.alice, "bankB", testChain, "payments", h.now.Add(-window-time.Hour), transfer("CNY", h.bob, 1))
	if r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: old, Type: abci.CheckTxType_New}); r.Code != ErrStaleTimestamp.Code() || strings.Contains(r.Log, "behind") {
		t.Fatalf("CheckTx of an old tx: code %d log %q", r.Code, r.Log)
	}
}

// CheckTx may run while a block is finalized and, through CometBFT's
// /check_tx RPC, even while one commits (ADR 0007). Run with -race.
func TestCheckTxConcurrentWithBlocks(t *testing.T) {
	h := newHarness(t)
	txs := make([][]byte, 200)
	for i := range txs {
		txs[i] = h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, tx := range txs {
			if _, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		h.block(txs[i*5 : i*5+5]...)
	}
	<-done
	if got := h.balance(h.bob); got != 100 {
		t.Fatalf("bob has %d, want 100", got)
	}
}

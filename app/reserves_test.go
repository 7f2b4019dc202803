package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// newReservesHarness is newHarness's chain with reserves every 3 blocks.
func newReservesHarness(t *testing.T) *harness {
	t.Helper()
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	h := &harness{t: t, store: store, now: genesisTime}
	h.issuer, h.alice, h.bob = mustKey(t), mustKey(t), mustKey(t)
	if h.app, err = New(store, Options{}); err != nil {
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
		Params: Params{ReservesInterval: 3},
	}
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b}); err != nil {
		t.Fatal(err)
	}
	h.genesis = b
	return h
}

func (h *harness) query(path string, data any, height int64) *abci.ResponseQuery {
	h.t.Helper()
	b, _ := json.Marshal(data)
	r, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: b, Height: height})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func TestReservesRecordedAtReservesHeights(t *testing.T) {
	h := newReservesHarness(t)
	bob := h.bob.Public().Address().String()
	mustOK := func(rs []*abci.ExecTxResult) {
		t.Helper()
		for _, r := range rs {
			if r.Code != 0 {
				t.Fatalf("tx failed: %s", r.Log)
			}
		}
	}
	mustOK(h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 100))))
	mustOK(h.block())
	if r := h.query(QueryReserves, ReservesRequest{Ledger: "payments", Asset: "CNY"}, 0); r.Code == 0 || !strings.Contains(r.Log, "next is at height 3") {
		t.Fatalf("before the first reserves height: %d %q", r.Code, r.Log)
	}
	// The transactions of the reserves height's block are in its record,
	// and the block's events announce each record.
	txs := [][]byte{h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 30)), h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 20))}
	h.height++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: h.height, Time: h.now})
	if err != nil {
		t.Fatal(err)
	}
	mustOK(res.TxResults)
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	var announced []string
	for _, e := range res.Events {
		if e.Type == "reserves" {
			m, ok, err := wire.ParseEvent(e)
			ev, _ := m.(*txpb.EventReserves)
			if err != nil || !ok || ev == nil {
				t.Fatalf("reserves event %v: %v", e, err)
			}
			announced = append(announced, fmt.Sprintf("%s/%s@%d=%d", ev.Ledger, ev.Asset, ev.Height, ev.Total))
		}
	}
	if got := strings.Join(announced, " "); got != "custody/GOLD@3=0 payments/CNY@3=1530" {
		t.Fatalf("reserves events: %q", got)
	}
	appHash3 := h.store.LastCommit().AppHash
	mustOK(h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))))

	v3, err := h.store.View(3)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := reserves.GetRecord(v3, "payments", "CNY")
	if err != nil || !ok {
		t.Fatalf("record at height 3: %v %v", ok, err)
	}
	if rec.Height != 3 || rec.Total != 1530 || rec.Accounts != 3 || rec.Issued != 1530 || rec.Burned != 0 {
		t.Fatalf("record %+v", rec)
	}
	gold, ok, err := reserves.GetRecord(v3, "custody", "GOLD")
	if empty := reserves.EmptyRoot(); err != nil || !ok || gold.Total != 0 || gold.Accounts != 0 || !bytes.Equal(gold.Root, empty.Hash[:]) {
		t.Fatalf("record of an asset nobody holds: %+v %v %v", gold, ok, err)
	}

	v4, err := h.store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := h.app.Invariants(v4)
	if err != nil || !inv.Holds || len(inv.Reserves) != 2 {
		t.Fatalf("invariants at height 4: %+v %v", inv, err)
	}
	for _, r := range inv.Reserves {
		if !r.Holds || r.Height != 3 {
			t.Fatalf("reserves invariant %+v", r)
		}
	}

	// A holder's proof, asked at height 4, is of the record of height 3
	// and verifies against that height's app hash.
	r := h.query(QueryReserves, ReservesRequest{Ledger: "payments", Asset: "CNY", Account: bob}, 0)
	if r.Code != 0 {
		t.Fatalf("reserves query: %s", r.Log)
	}
	b, err := reserves.DecodeBundle(r.Value)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := reserves.Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Balance != 150 || b.Height != 3 || !bytes.Equal(b.AppHash, appHash3) || b.ChainID != testChain {
		t.Fatalf("bundle of balance %d at height %d app hash %X (want 150, 3, %X)", rep.Balance, b.Height, []byte(b.AppHash), appHash3)
	}

	var resp ReservesResponse
	if r := h.query(QueryReserves, ReservesRequest{Ledger: "payments", Asset: "CNY"}, 0); r.Code != 0 || json.Unmarshal(r.Value, &resp) != nil || resp.Record.Total != 1530 || resp.Next != 6 {
		t.Fatalf("record query: %d %s %+v", r.Code, r.Log, resp)
	}
	for _, c := range []struct {
		name string
		req  ReservesRequest
		want string
	}{
		{"account holding nothing", ReservesRequest{Ledger: "payments", Asset: "CNY", Account: "0000000000000000000000000000000000000001"}, "holds nothing"},
		{"account not an address", ReservesRequest{Ledger: "payments", Asset: "CNY", Account: "bob"}, "account"},
		{"unknown asset", ReservesRequest{Ledger: "payments", Asset: "EUR"}, "unknown asset"},
		{"system ledger", ReservesRequest{Ledger: "_system", Asset: "CNY"}, "unknown sub-ledger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := h.query(QueryReserves, c.req, 0); r.Code == 0 || !strings.Contains(r.Log, c.want) {
				t.Fatalf("%d %q, want an error containing %q", r.Code, r.Log, c.want)
			}
		})
	}
}

func TestReservesOffWithoutInterval(t *testing.T) {
	h := newHarness(t)
	for range 4 {
		h.block()
	}
	v, _ := h.store.View(0)
	if _, ok, err := reserves.GetRecord(v, "payments", "CNY"); ok || err != nil {
		t.Fatalf("record on a chain without reserves_interval: %v %v", ok, err)
	}
	if r := h.query(QueryReserves, ReservesRequest{Ledger: "payments", Asset: "CNY"}, 0); r.Code == 0 || !strings.Contains(r.Log, "reserves_interval is 0") {
		t.Fatalf("query: %d %q", r.Code, r.Log)
	}
	if _, err := ParseGenesis([]byte(`{"params":{"reserves_interval":-1}}`)); !errors.Is(err, ErrBadParams) && (err == nil || !strings.Contains(err.Error(), "reserves_interval")) {
		t.Fatalf("negative reserves_interval: %v", err)
	}
}

// TestReservesSameOnEveryNode: two nodes of the chain compute the same
// app hash at a reserves height.
func TestReservesSameOnEveryNode(t *testing.T) {
	h := newReservesHarness(t)
	tw := h.twin(Options{})
	for i := range 3 {
		tx := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, uint64(i+1)))
		h.block(tx)
		tw.block(tx)
	}
	if a, b := h.store.LastCommit().AppHash, tw.store.LastCommit().AppHash; !bytes.Equal(a, b) {
		t.Fatalf("app hash %X vs %X", a, b)
	}
}

// TestReservesLeavesFollowTheState plays the cache of reserves leaves
// against a node that iterates every balance at every reserves height:
// random blocks of transfers that fund new accounts (leaves appear),
// drain accounts to zero (leaves go), issue and burn, must give both the
// same app hash at every height, also across a restart of the cached
// node; and the cache must have been used.
func TestReservesLeavesFollowTheState(t *testing.T) {
	h := newReservesHarness(t)
	cold := h.twin(Options{noReservesCache: true})
	rng := rand.New(rand.NewPCG(7, 16))
	keys := []*gmcrypto.PrivateKey{h.issuer, h.alice, h.bob}
	orgs := []string{"bankA", "bankB", "bankB"}
	for height := 1; height <= 40; height++ {
		if height == 21 {
			// A restart: the new App holds no leaves and must iterate once.
			var err error
			if h.app, err = New(h.store, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		var txs [][]byte
		for range rng.IntN(4) {
			switch op := rng.IntN(5); op {
			case 0: // issue to alice or bob
				txs = append(txs, h.tx(h.issuer, "bankA", "payments", issue("CNY", keys[1+rng.IntN(2)], uint64(1+rng.IntN(50)))))
			case 1: // drain bob (or alice) to the other: a leaf goes to zero
				from := 1 + rng.IntN(2)
				txs = append(txs, h.tx(keys[from], orgs[from], "payments", transfer("CNY", keys[3-from], h.balance(keys[from]))))
			case 2: // burn by the issuer
				txs = append(txs, h.tx(h.issuer, "bankA", "payments", burn("CNY", uint64(1+rng.IntN(5)))))
			default: // a transfer between any two
				from, to := rng.IntN(3), rng.IntN(3)
				txs = append(txs, h.tx(keys[from], orgs[from], "payments", transfer("CNY", keys[to], uint64(1+rng.IntN(20)))))
			}
		}
		h.block(txs...)
		cold.block(txs...)
		if a, b := h.store.LastCommit().AppHash, cold.store.LastCommit().AppHash; !bytes.Equal(a, b) {
			t.Fatalf("height %d: app hash %X with the kept leaves, %X iterating the balances", height, a, b)
		}
	}
	if h.app.leaves.merges < 5 || cold.app.leaves.merges != 0 {
		t.Fatalf("merged sets: %d with the cache (want at least 5), %d without (want 0)", h.app.leaves.merges, cold.app.leaves.merges)
	}
}

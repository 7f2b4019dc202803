package pvp_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// The tests run pvp against the real payments keeper and permission
// registry, composed as the app composes them (app/custody.go, app/pvp.go).

const (
	onshore  = "cny"
	offshore = "hkd"
)

// authorizer is app's: the permission registry, with an escrow a payee
// while it is funded.
type authorizer struct{ permission.Keeper }

func (authorizer) RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error) {
	org, err := permission.RequirePayee(kv, addr, ledgerName)
	if errors.Is(err, permission.ErrUnknownPayee) {
		if ok, cerr := pvp.IsEscrow(kv, ledgerName, addr); cerr != nil || ok {
			return "", cerr
		}
	}
	return org, err
}

// fixture: ledgers cny (asset CNY, also USD) and hkd (asset HKD); a
// (bankA) and b (bankB) are members of both, c (bankC) of cny only,
// a2 a second identity of bankA; outsider (bankD) of neither.
type fixture struct {
	t        rapid.TB
	store    *ledger.Store
	pay      payments.Keeper
	k        pvp.Keeper
	a, a2, b gmcrypto.Address
	c        gmcrypto.Address
	outsider gmcrypto.Address
	height   int64
	txs      int
	// mayNotSend, when set, is refused by the guard (held or sanctioned).
	mayNotSend gmcrypto.Address
}

func addr(i int) gmcrypto.Address {
	var a gmcrypto.Address
	a[0], a[19] = 0xd0, byte(i)
	return a
}

func must(t rapid.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newFixture(t rapid.TB) *fixture {
	t.Helper()
	store, err := ledger.Open("", ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(func() { _ = store.Close() })
	}
	for _, l := range []string{permission.SystemLedger, onshore, offshore} {
		must(t, store.CreateLedger(l))
	}
	f := &fixture{t: t, store: store, height: 10}
	f.pay = payments.NewKeeper(authorizer{})
	f.k = pvp.NewKeeper(f.pay, authorizer{})
	for _, o := range []string{"bankA", "bankB", "bankC", "bankD"} {
		must(t, permission.SetOrganisation(store, permission.Organisation{ID: o}))
	}
	must(t, permission.SetLedgerInfo(store, permission.LedgerInfo{Name: onshore, Members: []string{"bankA", "bankB", "bankC"}}))
	must(t, permission.SetLedgerInfo(store, permission.LedgerInfo{Name: offshore, Members: []string{"bankA", "bankB"}}))
	f.a, f.a2, f.b, f.c, f.outsider = addr(1), addr(2), addr(3), addr(4), addr(5)
	for _, id := range []struct {
		a   gmcrypto.Address
		org string
	}{{f.a, "bankA"}, {f.a2, "bankA"}, {f.b, "bankB"}, {f.c, "bankC"}, {f.outsider, "bankD"}} {
		must(t, permission.SetIdentity(store, permission.Identity{Address: id.a.String(), Org: id.org, Roles: []string{"member"}}))
	}
	for _, a := range []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}, {Symbol: "USD", Issuer: "bankA"}} {
		must(t, f.pay.CreateAsset(store, onshore, a))
	}
	must(t, f.pay.CreateAsset(store, offshore, payments.Asset{Symbol: "HKD", Issuer: "bankB"}))
	for _, p := range []gmcrypto.Address{f.a, f.a2, f.b, f.c} {
		must(t, f.pay.Mint(store, onshore, "CNY", p, 10_000))
		must(t, f.pay.Mint(store, onshore, "USD", p, 10_000))
	}
	for _, p := range []gmcrypto.Address{f.a, f.a2, f.b} {
		must(t, f.pay.Mint(store, offshore, "HKD", p, 10_000))
	}
	return f
}

func (f *fixture) env() pvp.Env {
	return pvp.Env{Height: f.height, MaySend: func(_ ledger.KV, _, _ string, from, to gmcrypto.Address) error {
		if from == f.mayNotSend || to == f.mayNotSend {
			return permission.ErrHeld.Wrapf("test hold on %s", f.mayNotSend)
		}
		return nil
	}}
}

func (f *fixture) nextTxID() string {
	f.txs++
	h := gmcrypto.SM3([]byte(fmt.Sprintf("pvp tx %d", f.txs)))
	return hex.EncodeToString(h[:])
}

// dump is every ledger, key by key.
func (f *fixture) dump() []byte {
	var out []byte
	for _, l := range []string{onshore, offshore, permission.SystemLedger} {
		must(f.t, f.store.Iterate(l, nil, nil, func(k, v []byte) bool {
			out = append(append(append(out, k...), 0), v...)
			return true
		}))
	}
	return out
}

// run executes op on a cache over the store: written when it succeeds;
// when it fails, discarded, the store checked unchanged and the error
// registered.
func (f *fixture) run(op func(kv ledger.KV) ([]abci.Event, error)) ([]abci.Event, error) {
	f.t.Helper()
	before := f.dump()
	c := ledger.NewCache(f.store)
	events, err := op(c)
	if err != nil {
		c.Discard()
		if !bytes.Equal(before, f.dump()) {
			f.t.Fatalf("refused operation changed state: %v", err)
		}
		if space, _, _ := errs.ABCIInfo(err); space == errs.Internal.Codespace() {
			f.t.Fatalf("unregistered error: %v", err)
		}
		return nil, err
	}
	must(f.t, c.Write())
	return events, nil
}

// terms is a CNY-on-cny against HKD-on-hkd trade from a to b.
func (f *fixture) terms(amountA, amountB uint64) *txpb.PvpPropose {
	return &txpb.PvpPropose{Counterparty: f.b.Bytes(),
		LegA:         &txpb.PvpLeg{Ledger: onshore, Asset: "CNY", Amount: amountA},
		LegB:         &txpb.PvpLeg{Ledger: offshore, Asset: "HKD", Amount: amountB},
		ExpiryHeight: f.height + 20}
}

func (f *fixture) propose(sender gmcrypto.Address, m *txpb.PvpPropose) (string, []abci.Event, error) {
	f.t.Helper()
	id := f.nextTxID()
	ev, err := f.run(func(kv ledger.KV) ([]abci.Event, error) { return f.k.Propose(kv, f.env(), sender, id, m) })
	return id, ev, err
}

func (f *fixture) fund(sender gmcrypto.Address, id, leg string) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Fund(kv, f.env(), sender, &txpb.PvpFund{Trade: id, Leg: leg})
	})
}

func (f *fixture) settle(sender gmcrypto.Address, id string) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Settle(kv, f.env(), sender, &txpb.PvpSettle{Trade: id})
	})
}

func (f *fixture) refund(sender gmcrypto.Address, id string) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Refund(kv, f.env(), sender, &txpb.PvpRefund{Trade: id})
	})
}

func (f *fixture) balance(l, asset string, a gmcrypto.Address) uint64 {
	f.t.Helper()
	b, err := f.pay.Balance(f.store, l, asset, a)
	must(f.t, err)
	return b
}

func (f *fixture) trade(id string) pvp.Trade {
	f.t.Helper()
	t, err := f.k.GetTrade(f.store, id)
	must(f.t, err)
	return t
}

// checkInvariants runs the pvp invariants and both ledgers' supply
// invariants.
func (f *fixture) checkInvariants() {
	f.t.Helper()
	res, err := f.k.CheckTrades(f.store)
	must(f.t, err)
	for _, r := range res {
		if !r.Holds {
			f.t.Fatalf("pvp invariant broken: %+v", r)
		}
	}
	for _, l := range []string{onshore, offshore} {
		sup, err := f.pay.CheckSupply(f.store, l)
		must(f.t, err)
		for _, r := range sup {
			if !r.Holds {
				f.t.Fatalf("supply invariant broken: %+v", r)
			}
		}
	}
}

func types(events []abci.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

type (
	ledgerKV  = ledger.KV
	abciEvent = abci.Event
)

package custody_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// The tests run custody against the real payments keeper and permission
// registry, composed as the app composes them (app/custody.go): the test
// package is outside custody, so custody itself still imports neither.

const vault = "vault"

var day0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// authorizer is app's: the permission registry, with custody accounts
// as payees of their ledger.
type authorizer struct{ permission.Keeper }

func (authorizer) RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error) {
	org, err := permission.RequirePayee(kv, addr, ledgerName)
	if errors.Is(err, permission.ErrUnknownPayee) {
		if ok, cerr := custody.IsAccount(kv, ledgerName, addr); cerr != nil || ok {
			return "", cerr
		}
	}
	return org, err
}

// fixture: a sub-ledger "vault" with assets CNY and USD; members s[0..3]
// (bankA, bankA, bankB, bankC) and payee (bankB); outsider is a registered
// identity of bankD, which is not a member of the ledger.
type fixture struct {
	t        rapid.TB
	store    *ledger.Store
	pay      payments.Keeper
	k        custody.Keeper
	s        []gmcrypto.Address
	payee    gmcrypto.Address
	outsider gmcrypto.Address
	height   int64
	now      time.Time
	txs      int
	// mayNotSend, when set, is refused by the guard (a held account).
	mayNotSend gmcrypto.Address
}

func addr(i int) gmcrypto.Address {
	var a gmcrypto.Address
	a[0], a[19] = 0xc0, byte(i)
	return a
}

// newFixture opens the fixture's store, which a *testing.T closes when it
// is done and a *rapid.T's caller closes itself.
func newFixture(t rapid.TB) *fixture {
	t.Helper()
	store, err := ledger.Open("", ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(func() { _ = store.Close() })
	}
	for _, l := range []string{permission.SystemLedger, vault} {
		if err := store.CreateLedger(l); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, store: store, height: 10, now: day0}
	f.pay = payments.NewKeeper(authorizer{})
	f.k = custody.NewKeeper(f.pay, authorizer{})
	for _, o := range []string{"bankA", "bankB", "bankC", "bankD"} {
		must(t, permission.SetOrganisation(store, permission.Organisation{ID: o}))
	}
	must(t, permission.SetLedgerInfo(store, permission.LedgerInfo{Name: vault, Members: []string{"bankA", "bankB", "bankC"}}))
	for i, org := range []string{"bankA", "bankA", "bankB", "bankC"} {
		f.s = append(f.s, addr(i+1))
		must(t, permission.SetIdentity(store, permission.Identity{Address: addr(i + 1).String(), Org: org, Roles: []string{"member"}}))
	}
	f.payee, f.outsider = addr(20), addr(21)
	must(t, permission.SetIdentity(store, permission.Identity{Address: f.payee.String(), Org: "bankB", Roles: []string{"member:" + vault}}))
	must(t, permission.SetIdentity(store, permission.Identity{Address: f.outsider.String(), Org: "bankD", Roles: []string{"member"}}))
	for _, a := range []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}, {Symbol: "USD", Issuer: "bankA"}} {
		must(t, f.pay.CreateAsset(store, vault, a))
	}
	return f
}

func must(t rapid.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) env() custody.Env {
	return custody.Env{Height: f.height, Time: f.now, MaySend: func(_ ledger.KV, _ string, from, to gmcrypto.Address) error {
		if from == f.mayNotSend || to == f.mayNotSend {
			return permission.ErrHeld.Wrapf("test hold on %s", f.mayNotSend)
		}
		return nil
	}}
}

// advance moves the chain on by n blocks of 5 s.
func (f *fixture) advance(n int64) {
	f.height += n
	f.now = f.now.Add(time.Duration(n) * 5 * time.Second)
}

func (f *fixture) nextTxID() string {
	f.txs++
	h := gmcrypto.SM3([]byte(fmt.Sprintf("tx %d", f.txs)))
	return hex.EncodeToString(h[:])
}

// dump is the vault ledger and the system ledger, key by key.
func (f *fixture) dump() []byte {
	var out []byte
	for _, l := range []string{vault, permission.SystemLedger} {
		if err := f.store.Iterate(l, nil, nil, func(k, v []byte) bool {
			out = append(append(append(out, k...), 0), v...)
			return true
		}); err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

// run executes op on a cache over the store: written when it succeeds;
// when it fails, discarded, and the store is checked unchanged and the
// error registered (not an internal one).
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

func (f *fixture) create(creator gmcrypto.Address, m *txpb.CustodyCreate) (gmcrypto.Address, []abci.Event, error) {
	f.t.Helper()
	id := f.nextTxID()
	events, err := f.run(func(kv ledger.KV) ([]abci.Event, error) { return f.k.Create(kv, f.env(), vault, creator, id, m) })
	a, aerr := custody.AccountAddress(vault, id)
	must(f.t, aerr)
	return a, events, err
}

// account creates a funded account (1000 CNY, 1000 USD) of the first n
// signers with threshold m, time lock and limits.
func (f *fixture) account(n int, m uint32, timelock uint64, limits ...*txpb.CustodyLimit) gmcrypto.Address {
	f.t.Helper()
	a, _, err := f.create(f.s[0], &txpb.CustodyCreate{Signers: raw(f.s[:n]...), Threshold: m, TimelockBlocks: timelock, ExpiryBlocks: 50, DailyLimits: limits})
	must(f.t, err)
	must(f.t, f.pay.Mint(f.store, vault, "CNY", a, 1000))
	must(f.t, f.pay.Mint(f.store, vault, "USD", a, 1000))
	return a
}

func raw(as ...gmcrypto.Address) [][]byte {
	out := make([][]byte, len(as))
	for i, a := range as {
		out[i] = a.Bytes()
	}
	return out
}

func (f *fixture) propose(sender, acct gmcrypto.Address, asset string, to gmcrypto.Address, amount uint64) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Propose(kv, f.env(), vault, sender, &txpb.CustodyPropose{Account: acct.Bytes(), Asset: asset, To: to.Bytes(), Amount: amount})
	})
}

func (f *fixture) setSigners(sender, acct gmcrypto.Address, m uint32, signers ...gmcrypto.Address) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.SetSigners(kv, f.env(), vault, sender, &txpb.CustodySetSigners{Account: acct.Bytes(), Signers: raw(signers...), Threshold: m})
	})
}

func (f *fixture) approve(sender, acct gmcrypto.Address, id uint64) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Approve(kv, f.env(), vault, sender, &txpb.CustodyApprove{Account: acct.Bytes(), Proposal: id})
	})
}

func (f *fixture) veto(sender, acct gmcrypto.Address, id uint64) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Veto(kv, f.env(), vault, sender, &txpb.CustodyVeto{Account: acct.Bytes(), Proposal: id, Reason: "not ours"})
	})
}

func (f *fixture) execute(sender, acct gmcrypto.Address, id uint64) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Execute(kv, f.env(), vault, sender, &txpb.CustodyExecute{Account: acct.Bytes(), Proposal: id})
	})
}

func (f *fixture) balance(a gmcrypto.Address, asset string) uint64 {
	f.t.Helper()
	b, err := f.pay.Balance(f.store, vault, asset, a)
	must(f.t, err)
	return b
}

func (f *fixture) proposals(a gmcrypto.Address) []custody.Proposal {
	f.t.Helper()
	ps, err := f.k.Proposals(f.store, vault, a)
	must(f.t, err)
	return ps
}

// checkInvariants runs the custody and the payments invariants.
func (f *fixture) checkInvariants() {
	f.t.Helper()
	res, err := f.k.CheckAccounts(f.store, vault)
	must(f.t, err)
	for _, r := range res {
		if !r.Holds {
			f.t.Fatalf("custody invariant broken: %+v", r)
		}
	}
	sup, err := f.pay.CheckSupply(f.store, vault)
	must(f.t, err)
	for _, r := range sup {
		if !r.Holds {
			f.t.Fatalf("supply invariant broken: %+v", r)
		}
	}
}

// types lists the event types in order.
func types(events []abci.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// parsed decodes the events of one type.
func parsed[T any](t rapid.TB, events []abci.Event) []T {
	t.Helper()
	var out []T
	for _, e := range events {
		m, ok, err := wire.ParseEvent(e)
		if err != nil || !ok {
			t.Fatalf("event %s: %v", e.Type, err)
		}
		if v, ok := m.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

package receivables_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// The tests run receivables against the real payments keeper and
// permission registry, composed as the app composes them
// (app/receivables.go).

const scf = "scf" // the supply-chain finance sub-ledger

// fixture: ledger scf (assets CNY, USD); the payer (core enterprise,
// coreCo), the supplier (supplierCo) and supplier2 (also supplierCo), a
// tier-2 supplier (tier2Co), a bank (bankCo) and bank2 (bank2Co) are
// members; outsider (outCo) is not.
type fixture struct {
	t                     rapid.TB
	store                 *ledger.Store
	pay                   payments.Keeper
	k                     receivables.Keeper
	payer, supplier, sup2 gmcrypto.Address
	tier2, bank, bank2    gmcrypto.Address
	outsider              gmcrypto.Address
	height                int64
	now                   time.Time
	txs                   int
	// mayNotSend, when set, is refused by the guard (held or sanctioned).
	mayNotSend gmcrypto.Address
}

func addr(i int) gmcrypto.Address {
	var a gmcrypto.Address
	a[0], a[19] = 0xe0, byte(i)
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
	for _, l := range []string{permission.SystemLedger, scf} {
		must(t, store.CreateLedger(l))
	}
	f := &fixture{t: t, store: store, height: 10, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	f.pay = payments.NewKeeper(permission.Keeper{})
	f.k = receivables.NewKeeper(f.pay, permission.Keeper{})
	orgs := []string{"coreCo", "supplierCo", "tier2Co", "bankCo", "bank2Co", "outCo"}
	for _, o := range orgs {
		must(t, permission.SetOrganisation(store, permission.Organisation{ID: o}))
	}
	must(t, permission.SetLedgerInfo(store, permission.LedgerInfo{Name: scf, Members: orgs[:5]}))
	f.payer, f.supplier, f.sup2, f.tier2, f.bank, f.bank2, f.outsider = addr(1), addr(2), addr(3), addr(4), addr(5), addr(6), addr(7)
	for _, id := range []struct {
		a   gmcrypto.Address
		org string
	}{{f.payer, "coreCo"}, {f.supplier, "supplierCo"}, {f.sup2, "supplierCo"}, {f.tier2, "tier2Co"}, {f.bank, "bankCo"}, {f.bank2, "bank2Co"}, {f.outsider, "outCo"}} {
		must(t, permission.SetIdentity(store, permission.Identity{Address: id.a.String(), Org: id.org, Roles: []string{"member"}}))
	}
	for _, a := range []payments.Asset{{Symbol: "CNY", Issuer: "bankCo"}, {Symbol: "USD", Issuer: "bankCo"}} {
		must(t, f.pay.CreateAsset(store, scf, a))
	}
	for _, p := range []gmcrypto.Address{f.payer, f.bank, f.bank2} {
		must(t, f.pay.Mint(store, scf, "CNY", p, 100_000))
	}
	return f
}

func (f *fixture) env() receivables.Env {
	return receivables.Env{Height: f.height, Time: f.now, MaySend: func(_ ledger.KV, _ string, from, to gmcrypto.Address) error {
		if from == f.mayNotSend || to == f.mayNotSend {
			return permission.ErrHeld.Wrapf("test hold on %s", f.mayNotSend)
		}
		return nil
	}}
}

// advance moves n blocks on, a minute each.
func (f *fixture) advance(n int64) {
	f.height += n
	f.now = f.now.Add(time.Duration(n) * time.Minute)
}

func (f *fixture) nextTxID() string {
	f.txs++
	h := gmcrypto.SM3([]byte(fmt.Sprintf("receivables tx %d", f.txs)))
	return hex.EncodeToString(h[:])
}

func invoice(i int) []byte {
	h := gmcrypto.SM3([]byte(fmt.Sprintf("invoice %d", i)))
	return h[:]
}

// dump is every ledger, key by key.
func (f *fixture) dump() []byte {
	var out []byte
	for _, l := range []string{scf, permission.SystemLedger} {
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

// terms is a request of face CNY by the supplier against the payer, due
// in 100 blocks.
func (f *fixture) terms(face uint64, inv int) *txpb.ReceivableRegister {
	return &txpb.ReceivableRegister{Payer: f.payer.Bytes(), Asset: "CNY", FaceValue: face, DueHeight: f.height + 100, InvoiceHash: invoice(inv)}
}

func (f *fixture) register(sender gmcrypto.Address, m *txpb.ReceivableRegister) (string, []abci.Event, error) {
	f.t.Helper()
	id := f.nextTxID()
	ev, err := f.run(func(kv ledger.KV) ([]abci.Event, error) { return f.k.Register(kv, f.env(), scf, sender, id, m) })
	return id, ev, err
}

// do runs one message of sender.
func (f *fixture) do(sender gmcrypto.Address, m any) ([]abci.Event, error) {
	f.t.Helper()
	return f.run(func(kv ledger.KV) ([]abci.Event, error) { return f.exec(kv, f.env(), sender, m) })
}

func (f *fixture) exec(kv ledger.KV, env receivables.Env, sender gmcrypto.Address, m any) ([]abci.Event, error) {
	switch m := m.(type) {
	case *txpb.ReceivableConfirm:
		return f.k.Confirm(kv, env, scf, sender, m)
	case *txpb.ReceivableSplit:
		return f.k.Split(kv, env, scf, sender, m)
	case *txpb.ReceivableTransfer:
		return f.k.Transfer(kv, env, scf, sender, m)
	case *txpb.ReceivablePledge:
		return f.k.Pledge(kv, env, scf, sender, m)
	case *txpb.ReceivableUnpledge:
		return f.k.Unpledge(kv, env, scf, sender, m)
	case *txpb.ReceivableDiscountOffer:
		return f.k.DiscountOffer(kv, env, scf, sender, m)
	case *txpb.ReceivableDiscountAccept:
		return f.k.DiscountAccept(kv, env, scf, sender, m)
	case *txpb.ReceivableSettle:
		return f.k.Settle(kv, env, scf, sender, m)
	case *txpb.ReceivableMarkOverdue:
		return f.k.MarkOverdue(kv, env, scf, sender, m)
	}
	return nil, errors.New("not a receivables message")
}

// confirmed registers face CNY of invoice inv and has the payer confirm it.
func (f *fixture) confirmed(face uint64, inv int) string {
	f.t.Helper()
	id, _, err := f.register(f.supplier, f.terms(face, inv))
	must(f.t, err)
	_, err = f.do(f.payer, &txpb.ReceivableConfirm{Receivable: id})
	must(f.t, err)
	return id
}

func (f *fixture) balance(a gmcrypto.Address) uint64 {
	f.t.Helper()
	b, err := f.pay.Balance(f.store, scf, "CNY", a)
	must(f.t, err)
	return b
}

func (f *fixture) get(id string) receivables.Receivable {
	f.t.Helper()
	r, err := f.k.GetReceivable(f.store, scf, id)
	must(f.t, err)
	return r
}

// checkInvariants runs the receivables invariants and the ledger's supply
// invariants.
func (f *fixture) checkInvariants() {
	f.t.Helper()
	checkInvariants(f.t, f.k, f.pay, f.store)
}

func checkInvariants(t rapid.TB, k receivables.Keeper, pay payments.Keeper, kv ledger.Reader) {
	t.Helper()
	res, err := k.CheckReceivables(kv, scf)
	must(t, err)
	for _, r := range res {
		if !r.Holds {
			t.Fatalf("receivables invariant broken: %+v", r)
		}
	}
	sup, err := pay.CheckSupply(kv, scf)
	must(t, err)
	for _, r := range sup {
		if !r.Holds {
			t.Fatalf("supply invariant broken: %+v", r)
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

package reserves_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// testBank is a Bank over its own keys: b/<symbol>/<addr> → balance,
// s/<symbol> → issued ‖ burned ‖ pending; the app composes the real
// payments keeper (app/reserves.go, tested in app).
type testBank struct{ symbols []string }

func balKey(sym string, a gmcrypto.Address) []byte { return append([]byte("b/"+sym+"/"), a[:]...) }

func (b testBank) AssetSymbols(ledger.Reader, string) ([]string, error) { return b.symbols, nil }

func (b testBank) IterateBalances(kv ledger.Reader, name, sym string, fn func(gmcrypto.Address, uint64) bool) error {
	p := []byte("b/" + sym + "/")
	end := append(bytes.Clone(p[:len(p)-1]), '/'+1)
	return kv.Iterate(name, p, end, func(k, v []byte) bool {
		var a gmcrypto.Address
		copy(a[:], k[len(p):])
		return fn(a, binary.BigEndian.Uint64(v))
	})
}

func (b testBank) Supply(kv ledger.Reader, name, sym string) (uint64, uint64, uint64, error) {
	v, err := kv.Get(name, []byte("s/"+sym))
	if err != nil || v == nil {
		return 0, 0, 0, err
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), binary.BigEndian.Uint64(v[16:]), nil
}

func addr(i int) gmcrypto.Address {
	var a gmcrypto.Address
	a[0] = 0xa0
	binary.BigEndian.PutUint32(a[16:], uint32(i))
	return a
}

// fixture is a store with ledger "payments" holding balances of CNY
// (issued = their sum + pending), committed at height 1 with its reserves.
type fixture struct {
	store *ledger.Store
	k     reserves.Keeper
}

func newFixture(t testing.TB, balances map[int]uint64, pending uint64) *fixture {
	t.Helper()
	s, err := ledger.Open(t.TempDir(), ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.CreateLedger("payments"))
	must(t, s.CreateLedger("other"))
	must(t, s.Set("other", []byte("k"), []byte("v")))
	var sum uint64
	for i, v := range balances {
		must(t, s.Set("payments", balKey("CNY", addr(i)), binary.BigEndian.AppendUint64(nil, v)))
		sum += v
	}
	sup := binary.BigEndian.AppendUint64(nil, sum+pending+7)
	sup = binary.BigEndian.AppendUint64(sup, 7)
	sup = binary.BigEndian.AppendUint64(sup, pending)
	must(t, s.Set("payments", []byte("s/CNY"), sup))
	f := &fixture{store: s, k: reserves.NewKeeper(testBank{symbols: []string{"CNY"}})}
	events, err := f.k.Commit(s, []string{"payments"}, 1)
	must(t, err)
	if len(events) != 1 || events[0].Type != "reserves" {
		t.Fatalf("events %v", events)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) bundle(t testing.TB, account gmcrypto.Address) *reserves.Bundle {
	t.Helper()
	v, err := f.store.View(1)
	must(t, err)
	b, err := f.k.Prove(v, "test-chain", "payments", "CNY", account)
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

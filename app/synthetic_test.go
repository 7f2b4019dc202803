package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func withSynthetic(s SyntheticAccounts) func(*GenesisState) {
	return func(g *GenesisState) { g.Ledgers[0].Synthetic = &s }
}

// TestSyntheticAccounts: the generated accounts are registered and funded
// as listed ones would be, receive transfers, count in the supply, and
// two nodes applying the same genesis agree on the app hash; another seed
// gives another state.
func TestSyntheticAccounts(t *testing.T) {
	const n = 1000
	syn := SyntheticAccounts{Count: n, Seed: "0a0b", Org: "bankB", Asset: "CNY", Amount: 7}
	h := newHarnessEdited(t, withSynthetic(syn))
	tw := h.twin(Options{})
	other := newHarnessEdited(t, withSynthetic(SyntheticAccounts{Count: n, Seed: "0a0c", Org: "bankB", Asset: "CNY", Amount: 7}))

	seed, _ := hex.DecodeString(syn.Seed)
	last := SyntheticAddress(seed, n-1)
	pay := h.tx(h.alice, "bankB", "payments", transferTo("CNY", last, 3))
	for _, x := range []*harness{h, tw} {
		if r := x.block(pay); r[0].Code != 0 {
			t.Fatalf("transfer to a synthetic account: %s", r[0].Log)
		}
	}
	other.block()
	if a, b := h.store.LastCommit().AppHash, tw.store.LastCommit().AppHash; !bytes.Equal(a, b) {
		t.Fatalf("two nodes of one genesis disagree: %X and %X", a, b)
	}
	if a, b := h.store.LastCommit().AppHash, other.store.LastCommit().AppHash; bytes.Equal(a, b) {
		t.Fatal("another seed gave the same state")
	}

	v, err := h.store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr gmcrypto.Address
		want uint64
	}{{SyntheticAddress(seed, 0), 7}, {SyntheticAddress(seed, n/2), 7}, {last, 10}, {SyntheticAddress(seed, n), 0}} {
		got, err := h.app.payments.Balance(v, "payments", "CNY", c.addr)
		if err != nil || got != c.want {
			t.Fatalf("balance of %s: %d, %v; want %d", c.addr, got, err, c.want)
		}
	}
	id, ok, err := permission.GetIdentity(v, SyntheticAddress(seed, 1))
	if err != nil || !ok || id.Org != "bankB" || strings.Join(id.Roles, ",") != permission.RoleMember {
		t.Fatalf("identity of synthetic account 1: %+v %v %v", id, ok, err)
	}
	if _, ok, _ := permission.GetIdentity(v, SyntheticAddress(seed, n)); ok {
		t.Fatal("account n is registered: one too many")
	}
	sup, err := h.app.payments.GetSupply(v, "payments", "CNY")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1000 + 500 + 7*n); sup.Issued != want {
		t.Fatalf("CNY issued %d, want %d (listed balances and the synthetic accounts)", sup.Issued, want)
	}
}

func TestSyntheticGenesisErrors(t *testing.T) {
	base := `{"organisations":[{"id":"a"},{"id":"b"}],"ledgers":[{"name":"p","members":["a"],"assets":[{"symbol":"C","issuer":"a"}],"synthetic_accounts":%s}]}`
	cases := []struct{ name, syn, contains string }{
		{"no count", `{"seed":"01","org":"a","asset":"C","amount":"1"}`, "count 0 is outside"},
		{"too many", `{"count":100000001,"seed":"01","org":"a","asset":"C","amount":"1"}`, "count 100000001 is outside"},
		{"no seed", `{"count":1,"org":"a","asset":"C","amount":"1"}`, "want 1..64 bytes in hex"},
		{"seed not hex", `{"count":1,"seed":"xy","org":"a","asset":"C","amount":"1"}`, `seed "xy"`},
		{"unknown org", `{"count":1,"seed":"01","org":"z","asset":"C","amount":"1"}`, `unknown organisation "z"`},
		{"org not a member", `{"count":1,"seed":"01","org":"b","asset":"C","amount":"1"}`, "not a member"},
		{"unknown asset", `{"count":1,"seed":"01","org":"a","asset":"D","amount":"1"}`, `unknown asset "D"`},
		{"no amount", `{"count":1,"seed":"01","org":"a","asset":"C"}`, "amount must be positive"},
		{"unknown field", `{"count":1,"seed":"01","org":"a","asset":"C","amount":"1","keys":1}`, `unknown field "keys"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseGenesis([]byte(strings.Replace(base, "%s", c.syn, 1)))
			if err == nil || !strings.Contains(err.Error(), c.contains) {
				t.Fatalf("ParseGenesis error %v, want one containing %q", err, c.contains)
			}
		})
	}
	ok := strings.Replace(base, "%s", `{"count":3,"seed":"01","org":"a","asset":"C","amount":"1"}`, 1)
	if _, err := ParseGenesis([]byte(ok)); err != nil {
		t.Fatalf("a valid synthetic_accounts refused: %v", err)
	}
}

// BenchmarkGenesisSynthetic applies a genesis of synthetic accounts to a
// store on disk and commits it (JINLIAN_SYNTHETIC_ACCOUNTS of them:
// go test ./app -run '^$' -bench GenesisSynthetic -benchtime 1x), and
// reports the time and the heap it took per account.
func BenchmarkGenesisSynthetic(b *testing.B) {
	n := int64(100_000)
	if v := os.Getenv("JINLIAN_SYNTHETIC_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		h := newHarnessEdited(b, withSynthetic(SyntheticAccounts{Count: n, Seed: "01", Org: "bankB", Asset: "CNY", Amount: 1}))
		applied := time.Since(t0)
		runtime.ReadMemStats(&m1)
		h.block()
		b.ReportMetric(float64(applied.Nanoseconds())/float64(n), "ns-apply/account")
		b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(n), "ns-total/account")
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(n), "heap-B/account")
	}
}

func transferTo(asset string, to gmcrypto.Address, amount uint64) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: asset, To: to.Bytes(), Amount: amount}}}
}

// TestLargeGenesisHoldsTheCollector: a large genesis lowers the GC target
// until the chain's first commit, and every way out of InitChain without
// one (the throw-away apps of CheckGenesis and GenesisCheckpoint, a
// genesis InitChain refuses) gives it back.
func TestLargeGenesisHoldsTheCollector(t *testing.T) {
	defer func(n int64) { largeGenesis = n }(largeGenesis)
	largeGenesis = 5 // the harness lists 3 identities and 2 balances
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	before := gcPercent()
	released := func(when string) {
		t.Helper()
		if genesisGC.holders != 0 || gcPercent() != before {
			t.Fatalf("%s: %d holders, GC target %d %%, want 0 and %d %%", when, genesisGC.holders, gcPercent(), before)
		}
	}

	h := newHarnessEdited(t, withSynthetic(SyntheticAccounts{Count: 20, Seed: "01", Org: "bankB", Asset: "CNY", Amount: 1}))
	if genesisGC.holders != 1 || gcPercent() != genesisGCPercent {
		t.Fatalf("after InitChain: %d holders, GC target %d %%, want 1 and %d %%", genesisGC.holders, gcPercent(), genesisGCPercent)
	}
	h.block()
	released("after the first commit")

	if err := CheckGenesis(testChain, h.genesis, nil, genesisTime); err != nil {
		t.Fatal(err)
	}
	released("after CheckGenesis")
	if _, err := GenesisCheckpoint(testChain, h.genesis, nil, genesisTime); err == nil {
		t.Fatal("GenesisCheckpoint of a genesis without checkpoints succeeded")
	}
	released("after GenesisCheckpoint returned early")

	var g GenesisState
	if err := json.Unmarshal(h.genesis, &g); err != nil {
		t.Fatal(err)
	}
	g.Ledgers[0].Synthetic.Amount = 1 << 62 // 20 of them overflow the supply
	bad, _ := json.Marshal(g)
	if err := CheckGenesis(testChain, bad, nil, genesisTime); err == nil || !strings.Contains(err.Error(), "synthetic account") {
		t.Fatalf("a genesis whose synthetic accounts overflow the supply: %v", err)
	}
	released("after InitChain refused a genesis")
}

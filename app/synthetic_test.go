package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func withSynthetic(s SyntheticAccounts) func(*GenesisState) {
	return func(g *GenesisState) { g.Ledgers[0].Synthetic = &s }
}

// reservesCases are the bulk-load tests' two genesis settings: no
// reserves heights, and one at every height.
var reservesCases = []struct {
	name     string
	reserves int64
}{{"no reserves", 0}, {"reserves at every height", 1}}

// withSyntheticReserves is withSynthetic with reserves every interval
// heights (0: none).
func withSyntheticReserves(s SyntheticAccounts, interval int64) func(*GenesisState) {
	return func(g *GenesisState) {
		g.Ledgers[0].Synthetic = &s
		g.Params.ReservesInterval = interval
	}
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
// reports the time per account, to InitChain's end and to the first
// commit's, and the heap per account: the highest in use (sampled every
// 20 ms) and the live heap after InitChain, both above the heap before.
func BenchmarkGenesisSynthetic(b *testing.B) {
	n := int64(100_000)
	if v := os.Getenv("JINLIAN_SYNTHETIC_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		before := liveHeap()
		peak, stop := heapPeak(20 * time.Millisecond)
		t0 := time.Now()
		h := newHarnessEdited(b, withSynthetic(SyntheticAccounts{Count: n, Seed: "01", Org: "bankB", Asset: "CNY", Amount: 1}))
		applied := time.Since(t0)
		live := liveHeap()
		h.block()
		total := time.Since(t0)
		stop()
		b.ReportMetric(float64(applied.Nanoseconds())/float64(n), "ns-apply/account")
		b.ReportMetric(float64(total.Nanoseconds())/float64(n), "ns-total/account")
		b.ReportMetric((float64(live)-float64(before))/float64(n), "live-heap-B/account")
		b.ReportMetric((float64(*peak)-float64(before))/float64(n), "peak-heap-B/account")
		b.ReportMetric(float64(*peak)/(1<<20), "peak-heap-MiB")
	}
}

// liveHeap is the heap in use after a collection: what is reachable, in
// the spans that hold it.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// heapPeak samples the heap in use every interval until stop is called;
// *peak is the highest sample (read it after stop).
func heapPeak(interval time.Duration) (peak *uint64, stop func()) {
	peak = new(uint64)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return peak, func() { close(done); <-finished }
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

// workingState reads every ledger of kv (the working set or a View) as
// ledger → key → value.
func workingState(t testing.TB, kv interface {
	Ledgers() []string
	Iterate(string, []byte, []byte, func(k, v []byte) bool) error
}) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, l := range kv.Ledgers() {
		m := map[string]string{}
		if err := kv.Iterate(l, nil, nil, func(k, v []byte) bool { m[string(k)] = string(v); return true }); err != nil {
			t.Fatal(err)
		}
		out[l] = m
	}
	return out
}

// TestSyntheticBulkLoad: synthetic accounts applied in a bulk load leave,
// after InitChain and after the first block (which pays one of them),
// exactly the records the working trees leave; only the trees' shape, and
// so the app hash, differs (ADR 0021). Every node of the genesis agrees on
// the app hash: one that iterates the balances at a reserves height of
// block 1 instead of merging the leaves it started from the genesis's
// balances, and one that stopped before its first commit and ran
// InitChain again. The committed store passes the
// data check.
func TestSyntheticBulkLoad(t *testing.T) {
	for _, c := range reservesCases {
		t.Run(c.name, func(t *testing.T) {
			syn := SyntheticAccounts{Count: 300, Seed: "0a0b", Org: "bankB", Asset: "CNY", Amount: 7}
			h := newHarnessEdited(t, withSyntheticReserves(syn, c.reserves))
			if !h.store.BulkLoaded() {
				t.Fatal("the synthetic accounts were not bulk loaded")
			}
			bulkSynthetic = false
			old := h.twin(Options{}) // the same genesis, through the working trees
			bulkSynthetic = true
			if old.store.BulkLoaded() {
				t.Fatal("the reference genesis was bulk loaded")
			}
			if a, b := workingState(t, h.store), workingState(t, old.store); !maps.EqualFunc(a, b, maps.Equal) {
				t.Fatal("after InitChain, the bulk load's working state differs from the working trees'")
			}
			cold := h.twin(Options{noReservesCache: true})

			// a node that stops before its first commit and starts again
			dir := t.TempDir()
			for range 2 {
				store, err := ledger.Open(dir, ledger.Options{})
				if err != nil {
					t.Fatal(err)
				}
				a, err := New(store, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: h.genesis}); err != nil {
					t.Fatal(err)
				}
				a.releaseLargeGenesis()
				if err := store.Close(); err != nil {
					t.Fatal(err)
				}
			}
			store, err := ledger.Open(dir, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			replayed := *h
			replayed.store = store
			if replayed.app, err = New(store, Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := replayed.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: h.genesis}); err != nil {
				t.Fatal(err)
			}

			seed, _ := hex.DecodeString(syn.Seed)
			to := SyntheticAddress(seed, 123)
			pay := h.tx(h.alice, "bankB", "payments", transferTo("CNY", to, 3))
			for _, x := range []*harness{h, old, cold, &replayed} {
				if r := x.block(pay); r[0].Code != 0 {
					t.Fatalf("transfer to a synthetic account at height 1: %s", r[0].Log)
				}
			}
			if c.reserves > 0 && h.app.leaves.merges == 0 {
				t.Fatal("the reserves height of block 1 iterated the balances: the leaves did not start from the bulk-loaded genesis")
			}
			for what, x := range map[string]*harness{"a node that iterates the balances": cold, "a node that replayed InitChain": &replayed} {
				if a, b := h.store.LastCommit().AppHash, x.store.LastCommit().AppHash; !bytes.Equal(a, b) {
					t.Fatalf("%s: app hash %X, want %X", what, b, a)
				}
			}
			v, err := h.store.View(0)
			if err != nil {
				t.Fatal(err)
			}
			ov, err := old.store.View(0)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := workingState(t, v), workingState(t, ov); !maps.EqualFunc(a, b, maps.Equal) {
				t.Fatal("at height 1, the bulk-loaded state differs from the working trees'")
			}
			if got, err := h.app.payments.Balance(v, "payments", "CNY", to); err != nil || got != 10 {
				t.Fatalf("balance of the paid synthetic account: %d, %v; want 10", got, err)
			}
			r, err := h.store.Check()
			if err != nil || !r.OK() {
				t.Fatalf("check-data after a bulk-loaded genesis: %+v, %v", r, err)
			}
		})
	}
}

// TestStateSyncFromBulkLoadedChain: a node joins by state sync a chain
// whose genesis bulk-loaded its synthetic accounts (issue 16's state
// generator), with and without reserves heights. The joiner starts from
// the snapshot alone (no genesis, no bulk load, no reserves cache): it
// reports the snapshot's app hash, holds the synthetic accounts'
// balances and identities, its store passes the data check, and it
// executes the next blocks, a reserves height among them, to the
// source's app hash.
func TestStateSyncFromBulkLoadedChain(t *testing.T) {
	for _, c := range reservesCases {
		t.Run(c.name, func(t *testing.T) {
			syn := SyntheticAccounts{Count: 500, Seed: "0a0b", Org: "bankB", Asset: "CNY", Amount: 7}
			h := newHarnessEdited(t, withSyntheticReserves(syn, c.reserves))
			ss, err := ledger.OpenSnapshots(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			src := h.twin(Options{Snapshots: ss, Snapshot: SnapshotPolicy{ChunkSize: 1 << 12}})
			if !src.store.BulkLoaded() {
				t.Fatal("the synthetic accounts were not bulk loaded")
			}
			seed, _ := hex.DecodeString(syn.Seed)
			first, last := SyntheticAddress(seed, 0), SyntheticAddress(seed, syn.Count-1)
			if r := src.block(src.tx(src.alice, "bankB", "payments", transferTo("CNY", last, 3))); r[0].Code != 0 {
				t.Fatal(r[0].Log)
			}
			src.block()
			j := joinBySnapshot(t, src, 2)
			v, err := j.store.View(0)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []struct {
				addr gmcrypto.Address
				want uint64
			}{{first, 7}, {SyntheticAddress(seed, syn.Count/2), 7}, {last, 10}, {SyntheticAddress(seed, syn.Count), 0}} {
				if got, err := j.app.payments.Balance(v, "payments", "CNY", b.addr); err != nil || got != b.want {
					t.Fatalf("joiner: balance of %s: %d, %v; want %d", b.addr, got, err, b.want)
				}
			}
			if id, ok, err := permission.GetIdentity(v, SyntheticAddress(seed, 1)); err != nil || !ok || id.Org != "bankB" {
				t.Fatalf("joiner: identity of synthetic account 1: %+v %v %v", id, ok, err)
			}
			if r, err := j.store.Check(); err != nil || !r.OK() {
				t.Fatalf("check-data of the joiner: %+v, %v", r, err)
			}
			for i, x := range [][]byte{
				src.tx(src.alice, "bankB", "payments", transferTo("CNY", first, 1)),
				src.tx(src.alice, "bankB", "payments", transferTo("CNY", last, 2)),
			} {
				rs, rj := src.block(x), j.block(x)
				if rs[0].Code != 0 || rj[0].Code != 0 {
					t.Fatalf("block %d: source %q, joiner %q", 3+i, rs[0].Log, rj[0].Log)
				}
				if a, b := src.store.LastCommit().AppHash, j.store.LastCommit().AppHash; !bytes.Equal(a, b) {
					t.Fatalf("height %d: source %X, joiner %X", 3+i, a, b)
				}
			}
		})
	}
}

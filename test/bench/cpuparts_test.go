package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestSplitProfile gives each sample of a CPU profile to the first part
// whose functions are on its stack, whatever their depth: the
// verification inside CheckTx is the verification's, CheckTx under
// CometBFT's mempool is the app's, the execution of a message is
// CheckTx's or FinalizeBlock's by the method it runs under, and names that
// only begin like a part's function are not it.
func TestSplitProfile(t *testing.T) {
	const (
		verify    = "github.com/jinlian-ledger/jinlian/gmcrypto.(*PublicKey).verify"
		decode    = "github.com/jinlian-ledger/jinlian/wire.DecodeTx"
		checkTx   = "github.com/jinlian-ledger/jinlian/app.(*App).CheckTx"
		finalize  = "github.com/jinlian-ledger/jinlian/app.(*App).FinalizeBlock"
		route     = "github.com/jinlian-ledger/jinlian/app.(*App).route"
		kvCheckTx = "github.com/cometbft/cometbft/abci/example/kvstore.(*Application).CheckTx"
		mempool   = "github.com/cometbft/cometbft/mempool.(*CListMempool).CheckTx"
		applyBlk  = "github.com/cometbft/cometbft/state.(*BlockExecutor).ApplyBlock"
		txIndex   = "github.com/cometbft/cometbft/state/txindex/kv.(*TxIndex).AddBatch"
		consensus = "github.com/cometbft/cometbft/consensus.(*State).receiveRoutine"
		malloc    = "runtime.mallocgc"
	)
	samples := []struct {
		stack []string // leaf first, as pprof records it
		value int64
		part  string
	}{
		{[]string{"sm2P256MulInternal", verify, checkTx, mempool}, 40, "SM2 verification"},
		{[]string{"github.com/jinlian-ledger/jinlian/gmcrypto.(*PublicKey).Verify.func1", "runtime.goexit"}, 5, "SM2 verification"},
		{[]string{malloc, decode, finalize, applyBlk, consensus}, 10, "envelope decoding"},
		{[]string{malloc, checkTx, mempool}, 20, "app CheckTx: the rest"},
		{[]string{kvCheckTx, mempool}, 3, "app CheckTx: the rest"},
		{[]string{"github.com/jinlian-ledger/jinlian/ledger.(*Cache).Get", route, checkTx, mempool}, 9, "app CheckTx: execution"},
		{[]string{"github.com/jinlian-ledger/jinlian/ledger.(*Cache).Get", route, "github.com/jinlian-ledger/jinlian/app.(*App).admit", finalize, applyBlk}, 8, "app FinalizeBlock: execution"},
		{[]string{"github.com/jinlian-ledger/jinlian/gmcrypto.SM3", "github.com/jinlian-ledger/jinlian/app.setTxResults", finalize}, 4, "app FinalizeBlock: results root"},
		{[]string{finalize, applyBlk, consensus}, 30, "app FinalizeBlock: the rest"},
		{[]string{"github.com/syndtr/goleveldb/leveldb.(*DB).Write", txIndex, "github.com/cometbft/cometbft/state/txindex.(*IndexerService).OnStart.func1"}, 15, "CometBFT tx index"},
		{[]string{applyBlk, consensus}, 7, "CometBFT block and state stores"},
		{[]string{"github.com/cometbft/cometbft/statefoo.Bar"}, 1, "CometBFT consensus and the rest"},
		{[]string{"github.com/jinlian-ledger/jinlian/app.(*App).CheckTxFoo"}, 2, otherPart},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, 6, "Go collector (background)"},
		{[]string{malloc, "github.com/dgraph-io/badger/v4.(*levelsController).runCompactor"}, 11, "Badger (background)"},
		{[]string{"github.com/dgraph-io/badger/v4.(*Txn).Commit", "github.com/jinlian-ledger/jinlian/app.(*App).Commit"}, 3, "app Commit"},
		{[]string{"github.com/syndtr/goleveldb/leveldb.(*DB).tCompaction"}, 2, "goleveldb (background)"},
		{[]string{"runtime.mcall", "runtime.schedule"}, 4, otherPart},
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Location{}
	loc := func(name string) *profile.Location {
		if l, ok := funcs[name]; ok {
			return l
		}
		f := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name}
		l := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: f}}}
		p.Function, p.Location, funcs[name] = append(p.Function, f), append(p.Location, l), l
		return l
	}
	want := map[string]int64{}
	var total int64
	for _, s := range samples {
		var locs []*profile.Location
		for _, fn := range s.stack {
			locs = append(locs, loc(fn))
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: locs, Value: []int64{s.value, s.value * 10_000_000}})
		want[s.part] += s.value
		total += s.value
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	parts, err := splitProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != len(cpuParts)+1 {
		t.Fatalf("%d parts, want %d", len(parts), len(cpuParts)+1)
	}
	var sum float64
	for _, got := range parts {
		sum += got.Share
		if w := float64(want[got.Part]) / float64(total); math.Abs(got.Share-w) > 1e-9 {
			t.Errorf("%s: share %.4f, want %.4f", got.Part, got.Share, w)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares add up to %f", sum)
	}

	r := &Result{App: "jinlian", NodeCPUPerTxUs: 1000, CPUParts: parts}
	for i := range r.CPUParts {
		r.CPUParts[i].Us = r.CPUParts[i].Share * r.NodeCPUPerTxUs
	}
	base := &Result{App: "kvstore", NodeCPUPerTxUs: 600, CPUParts: append([]CPUPart(nil), parts...)}
	for i := range base.CPUParts {
		base.CPUParts[i].Us = base.CPUParts[i].Share * base.NodeCPUPerTxUs
	}
	var out strings.Builder
	printCPUParts(&out, []*Result{base, r})
	if !strings.Contains(out.String(), "+ beyond kvstore") || !strings.Contains(out.String(), "+400.0") {
		t.Errorf("table without the difference from kvstore (total +400):\n%s", out.String())
	}

	if _, err := splitProfile(strings.NewReader("not a profile")); err == nil {
		t.Error("bytes that are not a profile were split")
	}
}

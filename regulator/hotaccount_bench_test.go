package regulator

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHotAccounts is an observer indexing the traffic of a few busy
// accounts (a bank's settlement accounts): blocks of 2,000 transfers among
// ten accounts, one block a second, under the default rules, whose windows
// (velocity 1 h, fast-in-fast-out 2 h, structuring 24 h) then hold every
// movement so far. Before the rules read windows without copying them,
// the time per block grew with the history: an observer of such a chain
// fell further behind with every block (docs/performance.md, "The
// regulator observer"). It reports the time per block over the first and
// the last tenth of the blocks:
//
//	go test ./regulator -run '^$' -bench HotAccounts -benchtime 1x
//
// JINLIAN_HOT_BLOCKS sets the number of blocks (default 50: 100,000
// transfers); JINLIAN_HOT_HEAPPROFILE=FILE writes the heap profile of the
// end, the index still open (go tool pprof -sample_index=inuse_space).
func BenchmarkHotAccounts(b *testing.B) {
	blocks := 50
	if v := os.Getenv("JINLIAN_HOT_BLOCKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("JINLIAN_HOT_BLOCKS=%q: want a number of blocks", v)
		}
		blocks = n
	}
	const perBlock, accounts = 2_000, 10
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	g := Genesis{ChainID: "hot", Time: start.Add(-time.Hour)}
	var accts []string
	bal := map[string]uint64{}
	for i := range accounts {
		a := fmt.Sprintf("%040x", i+1)
		accts = append(accts, a)
		g.Identities = append(g.Identities, IdentityOrg{Address: a, Org: fmt.Sprintf("bank%c", 'A'+i%4)})
		g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: 1 << 50})
		bal[a] = 1 << 50
	}
	eng, err := NewEngine(DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		dir := b.TempDir()
		ix, err := OpenIndex(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := ix.InitGenesis(g); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(20261204, 1))
		id := 0
		took := make([]time.Duration, blocks)
		for h := range blocks {
			blk := &Block{Height: int64(h + 1), Time: start.Add(time.Duration(h) * time.Second)}
			for range perBlock {
				from, to := accts[rng.IntN(accounts)], accts[rng.IntN(accounts)]
				for to == from {
					to = accts[rng.IntN(accounts)]
				}
				amt := uint64(100 + rng.IntN(100_000))
				bal[from] -= amt
				bal[to] += amt
				id++
				blk.Txs = append(blk.Txs, Tx{ID: fmt.Sprintf("%064x", id), Index: len(blk.Txs), Ledger: "payments", Sender: from,
					Org: g.Identities[0].Org, Type: "transfer", Parties: []string{from, to},
					Movements: []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: amt,
						FromBalance: bal[from], ToBalance: bal[to]}}})
			}
			began := time.Now()
			if _, err := ix.ApplyBlock(blk, eng); err != nil {
				b.Fatalf("block %d: %v", h+1, err)
			}
			took[h] = time.Since(began)
		}
		// What the index holds in memory at the end: the cache of recent
		// entries, and the live heap (after a collection).
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if f := os.Getenv("JINLIAN_HOT_HEAPPROFILE"); f != "" {
			if err := writeHeapProfile(f); err != nil {
				b.Fatal(err)
			}
		}
		cached := ix.recent.total
		// The cache's real heap: what a collection frees once it is
		// emptied.
		ix.recent.clear()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		cacheMB := (int64(ms.HeapAlloc) - int64(after.HeapAlloc)) >> 20
		_ = ix.Close()
		var disk int64
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					disk += fi.Size()
				}
			}
			return nil
		})
		tenth := max(blocks/10, 1)
		mean := func(ds []time.Duration) float64 {
			var s time.Duration
			for _, d := range ds {
				s += d
			}
			return float64(s.Milliseconds()) / float64(len(ds))
		}
		first, last := mean(took[:tenth]), mean(took[blocks-tenth:])
		b.Logf("%d blocks of %d transfers among %d accounts: %.0f ms per block at first, %.0f ms at the end; cache of recent entries %d MB counted, %d MB of heap; live heap %d MB; index on disk %d MB",
			blocks, perBlock, accounts, first, last, cached>>20, cacheMB, ms.HeapAlloc>>20, disk>>20)
		b.ReportMetric(first, "first_ms/block")
		b.ReportMetric(last, "last_ms/block")
		b.ReportMetric(float64(ms.HeapAlloc>>20), "heap_MB")
		b.ReportMetric(float64(cacheMB), "cache_heap_MB")
		b.ReportMetric(float64(disk>>20), "disk_MB")
	}
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
}

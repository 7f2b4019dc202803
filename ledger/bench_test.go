package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func benchKey(i int) []byte {
	return binary.BigEndian.AppendUint64([]byte("acct/"), uint64(i)*2654435761%1_000_003)
}

// BenchmarkCommit measures one block: 1,000 sets spread over 2 ledgers, then
// Commit (tree saves, commit record, Badger sync), on disk.
func BenchmarkCommit(b *testing.B) {
	s := openDirCache(b, b.TempDir(), 0)
	defer s.Close()
	for _, l := range []string{"assets", "payments"} {
		must(b, s.CreateLedger(l))
	}
	value := make([]byte, 64)
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 1000; j++ {
			n++
			l := "payments"
			if j%2 == 1 {
				l = "assets"
			}
			binary.BigEndian.PutUint64(value, uint64(n))
			must(b, s.Set(l, benchKey(n), value))
		}
		if _, err := s.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet reads random keys of a committed 100,000-key ledger, through
// the working tree and through a View.
func BenchmarkGet(b *testing.B) {
	s := openDirCache(b, b.TempDir(), 0)
	defer s.Close()
	must(b, s.CreateLedger("payments"))
	const keys = 100_000
	for i := 0; i < keys; i++ {
		must(b, s.Set("payments", benchKey(i), []byte(fmt.Sprintf("value-%d", i))))
		if i%10_000 == 9_999 {
			if _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	v, err := s.View(0)
	must(b, err)
	for _, kv := range []struct {
		name string
		get  func(string, []byte) ([]byte, error)
	}{{"working", s.Get}, {"view", v.Get}} {
		b.Run(kv.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				val, err := kv.get("payments", benchKey(i%keys))
				if err != nil || val == nil {
					b.Fatalf("get %d: %q, %v", i, val, err)
				}
			}
		})
	}
}

// benchKeys is JINLIAN_LEDGER_BENCH_KEYS, the keys of a benchmark's
// ledger (default 100,000).
func benchKeys(b *testing.B) int {
	env := os.Getenv("JINLIAN_LEDGER_BENCH_KEYS")
	if env == "" {
		return 100_000
	}
	keys, err := strconv.Atoi(env)
	if err != nil || keys <= 0 {
		b.Fatalf("JINLIAN_LEDGER_BENCH_KEYS=%q: want a positive count", env)
	}
	return keys
}

// BenchmarkGetRandom reads random keys of one committed ledger of N keys
// (JINLIAN_LEDGER_BENCH_KEYS, default 100,000) through the working set and
// a View, with the flat index and walking the tree, the latest cache out of
// the way and the node's block cache. "rebuild" is what Open pays for an
// index to rebuild (a crash while Commit wrote it, a database from before
// it): clear it and write every key again. Run it with the default
// -benchtime: every iteration of "rebuild" writes all N keys.
func BenchmarkGetRandom(b *testing.B) {
	keys := benchKeys(b)
	dir, opts := b.TempDir(), Options{LatestCacheSize: 1, BlockCacheBytes: 256 << 20}
	s, err := Open(dir, opts)
	must(b, err)
	defer func() { _ = s.Close() }()
	must(b, s.CreateLedger("payments"))
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("acct/"), uint64(i)*2654435761) }
	for i := 0; i < keys; i++ {
		must(b, s.Set("payments", key(i), fmt.Appendf(nil, "value-%d", i)))
		if i%10_000 == 9_999 || i == keys-1 {
			if _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	v, err := s.View(0)
	must(b, err)
	height := s.LastHeight()
	for _, index := range []string{"tree", "flat"} {
		for _, kv := range []struct {
			name string
			get  func(string, []byte) ([]byte, error)
		}{{"working", s.Get}, {"view", v.Get}} {
			b.Run(index+"/"+kv.name, func(b *testing.B) {
				if index == "tree" {
					s.flatHeight.Store(-1)
					defer s.flatHeight.Store(height)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					val, err := kv.get("payments", key(rng.IntN(keys)))
					if err != nil || val == nil {
						b.Fatalf("get %d: %q, %v", i, val, err)
					}
				}
			})
		}
	}
	b.Run("rebuild", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			must(b, s.db.Update(func(txn *badger.Txn) error { return txn.Delete(flatMarkerKey) }))
			if err := s.loadFlat(nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(keys), "ns/key")
	})
	// What Open pays after a crash while Commit wrote the index of a block
	// of 6,000 keys: the block's keys repaired, not the N (the whole open
	// is timed).
	b.Run("repair", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		crash := errors.New("crash")
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			for j := 0; j < 6000; j++ {
				must(b, s.Set("payments", key(rng.IntN(keys)), fmt.Appendf(nil, "repair-%d-%d", i, j)))
			}
			s.testHookCommit = func(point string) error {
				if point == "flat index" {
					return crash
				}
				return nil
			}
			if _, err := s.Commit(); !errors.Is(err, crash) {
				b.Fatalf("commit: %v", err)
			}
			must(b, s.Close())
			b.StartTimer()
			if s, err = Open(dir, opts); err != nil {
				b.Fatal(err)
			}
			if r := s.FlatRebuilt(); !r.Repaired || r.Keys == 0 || r.Keys > 6000 {
				b.Fatalf("open after the crash: %+v, want the block's keys repaired", r)
			}
		}
	})
}

// BenchmarkRandomWrites measures blocks of writes to random existing keys
// of one ledger of N keys (JINLIAN_LEDGER_BENCH_KEYS, default 100,000), as
// transfers to random recipients write their balances: 2,000 sets, then
// Commit (the trees take the writes, save, sync). The same database is
// opened with the inner-node cache (ADR 0023) off and at its default, and
// 60 blocks warm the caches before the timed ones; ns/write is the time
// of a block over its writes, badger-reads/write the nodes the trees read
// from Badger (counted by the cache, so only where it is on). Run it with
// a fixed count, e.g. -benchtime 30x: each run opens the store and warms
// it again.
func BenchmarkRandomWrites(b *testing.B) {
	keys := benchKeys(b)
	dir := b.TempDir()
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("acct/"), uint64(i)*2654435761) }
	s, err := Open(dir, Options{NodeCacheBytes: -1})
	must(b, err)
	must(b, s.CreateLedger("payments"))
	for i := 0; i < keys; i++ {
		must(b, s.Set("payments", key(i), binary.BigEndian.AppendUint64(nil, uint64(i))))
		if i%10_000 == 9_999 || i == keys-1 {
			if _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	must(b, s.Close())
	const writes = 2000
	for _, c := range []struct {
		name  string
		bytes int
	}{{"inner-off", -1}, {"inner-default", 0}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(dir, Options{NodeCacheBytes: c.bytes, BlockCacheBytes: 256 << 20})
			must(b, err)
			defer func() { _ = s.Close() }()
			rng := rand.New(rand.NewPCG(5, 6))
			block := func() {
				for range writes {
					i := rng.IntN(keys)
					must(b, s.Set("payments", key(i), binary.BigEndian.AppendUint64(nil, uint64(i)+1)))
				}
				if _, err := s.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			for range 60 {
				block()
			}
			cache := s.nodes.of("payments")
			var missed uint64
			if cache != nil {
				_, missed = cache.stats()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				block()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*writes), "ns/write")
			if cache != nil {
				_, now := cache.stats()
				b.ReportMetric(float64(now-missed)/float64(b.N*writes), "badger-reads/write")
			}
		})
	}
}

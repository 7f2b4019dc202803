package ledger

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkCheckData is `jinlian debug check-data` of a ledger of N keys
// (JINLIAN_LEDGER_BENCH_KEYS, default 100,000): every table's checksums,
// every tree rehashed from its nodes, the flat index compared with the
// trees. It reports the check's time and the largest heap in use while it
// ran (sampled every 10 ms), which must not grow with the state:
//
//	JINLIAN_LEDGER_BENCH_KEYS=1000000 go test ./ledger -run '^$' -bench CheckData -benchtime 1x
func BenchmarkCheckData(b *testing.B) {
	keys := benchKeys(b)
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	must(b, err)
	must(b, s.CreateLedger("payments"))
	for i := 0; i < keys; i++ {
		k := binary.BigEndian.AppendUint64([]byte("acct/"), uint64(i)*2654435761)
		must(b, s.Set("payments", k, fmt.Appendf(nil, "balance-%d", i)))
		if i%50_000 == 49_999 || i == keys-1 {
			if _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	must(b, s.Close())
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		var peak uint64
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
		start := time.Now()
		r, err := CheckData(dir)
		took := time.Since(start)
		close(done)
		wg.Wait()
		must(b, err)
		if !r.OK() || r.Ledgers[0].Keys != keys {
			b.Fatalf("check: %+v", r)
		}
		b.Logf("%d keys checked in %s, heap in use at most %d MB", keys, took.Round(time.Millisecond), peak>>20)
		b.ReportMetric(took.Seconds(), "s")
		b.ReportMetric(float64(peak>>20), "peak_heap_MB")
	}
}

package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// BenchmarkReservesLeaves measures what a reserves height costs per asset
// with the leaves kept beside the state: the merge of the balances
// written since the last one into N leaves, and the Merkle-sum root over
// them (docs/reserves.md, Cost): built whole (Builder), or updated from
// the tree's kept chunks (reserves.Chunks) when only balances changed, and
// when an account in the middle emptied (every leaf after it moved).
// Against the iteration it replaces, see contracts/reserves
// BenchmarkCommit.
//
//	go test ./app -run '^$' -bench ReservesLeaves
//	JINLIAN_RESERVES_ACCOUNTS=10000000 go test ./app -run '^$' -bench ReservesLeaves -benchtime 2x
func BenchmarkReservesLeaves(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if v := os.Getenv("JINLIAN_RESERVES_ACCOUNTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("JINLIAN_RESERVES_ACCOUNTS=%q: want a number of accounts", v)
		}
		sizes = []int{n}
	}
	for _, n := range sizes {
		const written = 40_000 // 20 blocks of 2,000 transfers
		old := make([]reserves.Entry, n)
		for i := range old {
			h := gmcrypto.SM3(binary.BigEndian.AppendUint64(nil, uint64(i)))
			copy(old[i].Account[:], h[:])
			old[i].Balance = uint64(i + 1)
		}
		slices.SortFunc(old, func(x, y reserves.Entry) int { return bytes.Compare(x.Account[:], y.Account[:]) })
		balances := map[gmcrypto.Address]uint64{}
		for i := range written {
			balances[old[(i*7919)%n].Account] = uint64(i + 1)
		}
		emptied := maps.Clone(balances)
		emptied[old[n/2].Account] = 0
		for _, c := range []struct {
			name   string
			w      map[gmcrypto.Address]uint64
			chunks bool
		}{{"whole", balances, false}, {"chunks", balances, true}, {"chunks,moved", emptied, true}} {
			b.Run(fmt.Sprintf("accounts=%d/%s", n, c.name), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					var ch reserves.Chunks // the last reserves height's
					if _, err := ch.Rebuild(old); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					es, changed, from := mergeLeaves(old, c.w)
					if c.chunks {
						if _, err := ch.Update(es, changed, from); err != nil {
							b.Fatal(err)
						}
						continue
					}
					var t reserves.Builder
					for _, e := range es {
						if err := t.Add(e.Account, e.Balance); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := t.Root(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/account")
			})
		}
	}
}

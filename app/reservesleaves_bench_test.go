package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// BenchmarkReservesLeaves measures what a reserves height costs per asset
// with the leaves kept beside the state: the merge of the balances
// written since the last one into N leaves, and the Merkle-sum root over
// them (docs/reserves.md, Cost). Against the iteration it replaces, see
// contracts/reserves BenchmarkCommit.
func BenchmarkReservesLeaves(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		const written = 40_000 // 20 blocks of 2,000 transfers
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			old := make([]reserves.Entry, n)
			for i := range old {
				h := gmcrypto.SM3(binary.BigEndian.AppendUint64(nil, uint64(i)))
				copy(old[i].Account[:], h[:])
				old[i].Balance = uint64(i + 1)
			}
			slices.SortFunc(old, func(x, y reserves.Entry) int { return bytes.Compare(x.Account[:], y.Account[:]) })
			w := map[gmcrypto.Address]uint64{}
			for i := range written {
				w[old[(i*7919)%n].Account] = uint64(i)
			}
			b.ResetTimer()
			for range b.N {
				es := mergeLeaves(old, w)
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

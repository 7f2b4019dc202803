package reserves_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// BenchmarkCommit measures what a reserves height costs the block per
// asset of N accounts: the ordered IAVL iteration of the balances, the
// Merkle-sum root, the record's write (docs/reserves.md).
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			s, err := ledger.Open(b.TempDir(), ledger.Options{})
			must(b, err)
			defer s.Close()
			must(b, s.CreateLedger("payments"))
			for i := range n {
				must(b, s.Set("payments", balKey("CNY", addr(i)), binary.BigEndian.AppendUint64(nil, uint64(i+1))))
			}
			sup := binary.BigEndian.AppendUint64(nil, uint64(n)*uint64(n+1)/2)
			must(b, s.Set("payments", []byte("s/CNY"), append(sup, make([]byte, 16)...)))
			if _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
			k := reserves.NewKeeper(testBank{symbols: []string{"CNY"}})
			b.ResetTimer()
			for range b.N {
				if _, err := k.Commit(s, []string{"payments"}, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/account")
		})
	}
}

// BenchmarkProve measures a query's bundle: the tree built from the
// balances and the path cut from it.
func BenchmarkProve(b *testing.B) {
	es := make([]reserves.Entry, 100_000)
	for i := range es {
		es[i] = reserves.Entry{Account: addr(i), Balance: uint64(i + 1)}
	}
	b.ResetTimer()
	for range b.N {
		t, err := reserves.Build(es)
		must(b, err)
		if _, _, _, err := t.Prove(addr(777)); err != nil {
			b.Fatal(err)
		}
	}
}

package ledger

import (
	"encoding/binary"
	"fmt"
	"testing"
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

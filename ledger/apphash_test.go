package ledger

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

func sm3Of(parts ...[]byte) []byte {
	s := sm3.Sum(bytes.Join(parts, nil))
	return s[:]
}

func TestAppHashConstruction(t *testing.T) {
	r := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	leaf := func(name string, root []byte) []byte {
		return sm3Of([]byte{0}, []byte{byte(len(name))}, []byte(name), root)
	}
	inner := func(l, rr []byte) []byte { return sm3Of([]byte{1}, l, rr) }
	la, lb, lc := leaf("a", r(1)), leaf("b", r(2)), leaf("c", r(3))
	tests := []struct {
		name  string
		roots []LedgerRoot
		want  []byte
	}{
		{"empty set", nil, sm3Of()},
		{"one leaf", []LedgerRoot{{"a", r(1)}}, la},
		{"two leaves", []LedgerRoot{{"a", r(1)}, {"b", r(2)}}, inner(la, lb)},
		{"odd leaf promoted", []LedgerRoot{{"a", r(1)}, {"b", r(2)}, {"c", r(3)}}, inner(inner(la, lb), lc)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppHash(tc.roots); !bytes.Equal(got, tc.want) {
				t.Fatalf("got %X, want %X", got, tc.want)
			}
		})
	}
	// Known answer for the empty set: SM3("") from GB/T 32905.
	if got := hex.EncodeToString(AppHash(nil)); got != "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b" {
		t.Fatalf("SM3 of nothing = %s", got)
	}
	// The length prefix keeps (name, root) boundaries unambiguous.
	if bytes.Equal(AppHash([]LedgerRoot{{"ab", []byte("c")}}), AppHash([]LedgerRoot{{"a", []byte("bc")}})) {
		t.Fatal("name/root boundary is ambiguous")
	}
	// Promotion, not duplication: [a b c] and [a b c c] differ.
	three := []LedgerRoot{{"a", r(1)}, {"b", r(2)}, {"c", r(3)}}
	if bytes.Equal(AppHash(three), AppHash(append(slices.Clone(three), LedgerRoot{"c", r(3)}))) {
		t.Fatal("duplicated last leaf gives the same root")
	}
}

// applyOps runs the same block of writes on a store.
func applyOps(t *testing.T, s *Store, ledgers []string, block int) {
	t.Helper()
	for _, l := range ledgers {
		must(t, s.Set(l, []byte(fmt.Sprintf("key-%d", block)), []byte(fmt.Sprintf("%s-%d", l, block))))
	}
}

func TestAppHashDeterminism(t *testing.T) {
	ledgers := []string{"_system", "assets", "payments", "receivables"}
	t.Run("same ops same hash, independent of creation order", func(t *testing.T) {
		s1, s2 := openMem(t), openMem(t)
		for _, l := range ledgers {
			must(t, s1.CreateLedger(l))
		}
		rev := slices.Clone(ledgers)
		slices.Reverse(rev)
		for _, l := range rev {
			must(t, s2.CreateLedger(l))
		}
		for block := 0; block < 4; block++ {
			applyOps(t, s1, ledgers, block)
			applyOps(t, s2, rev, block)
			if !bytes.Equal(s1.WorkingHash(), s2.WorkingHash()) {
				t.Fatalf("block %d: working hashes differ", block)
			}
			c1, c2 := mustCommit(t, s1), mustCommit(t, s2)
			if !bytes.Equal(c1.AppHash, c2.AppHash) || c1.Height != c2.Height {
				t.Fatalf("block %d: %X vs %X", block, c1.AppHash, c2.AppHash)
			}
		}
	})
	t.Run("any single ledger change changes the hash", func(t *testing.T) {
		s := openMem(t)
		for _, l := range ledgers {
			must(t, s.CreateLedger(l))
		}
		applyOps(t, s, ledgers, 0)
		base := mustCommit(t, s).AppHash
		if !bytes.Equal(s.WorkingHash(), base) {
			t.Fatal("working hash without changes differs from last commit")
		}
		seen := map[string]string{hex.EncodeToString(base): "base"}
		for _, l := range ledgers {
			must(t, s.Set(l, []byte("key-0"), []byte("changed")))
			h := hex.EncodeToString(s.WorkingHash())
			if prev, ok := seen[h]; ok {
				t.Fatalf("changing %s gives the same hash as %s", l, prev)
			}
			seen[h] = l
			s.Rollback()
		}
		must(t, s.CreateLedger("new"))
		if bytes.Equal(s.WorkingHash(), base) {
			t.Fatal("creating an empty ledger does not change the hash")
		}
	})
}

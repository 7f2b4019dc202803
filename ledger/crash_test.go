package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestCrashBetweenTreeSavesAndCommitRecord stops Commit after k trees were
// saved, or after the flat index was written (as kill -9 would), reopens
// the database and checks that the store is exactly at the last commit,
// its flat index repaired (the crashed block's keys only) or untouched,
// and commits again normally.
func TestCrashBetweenTreeSavesAndCommitRecord(t *testing.T) {
	ledgers := []string{"_system", "assets", "payments"}
	// The hook's points in order: a tree save per ledger (and the new
	// one), then the flat index.
	for stop := 1; stop <= len(ledgers)+2; stop++ {
		name := fmt.Sprintf("after %d tree saves", stop)
		if stop == len(ledgers)+2 {
			name = "after the flat index was written"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			for _, l := range ledgers {
				must(t, s.CreateLedger(l))
				must(t, s.Set(l, []byte("k"), []byte("v1")))
			}
			mustCommit(t, s)
			for i := 0; i < 50; i++ {
				must(t, s.Set("payments", []byte(fmt.Sprintf("p%02d", i)), []byte("x")))
			}
			last := mustCommit(t, s)

			// Block 3 changes every ledger and creates one ("_new" sorts first).
			must(t, s.CreateLedger("_new"))
			for _, l := range append([]string{"_new"}, ledgers...) {
				must(t, s.Set(l, []byte("k"), []byte("v3")))
			}
			must(t, s.Delete("payments", []byte("p07")))
			n := 0
			crash := errors.New("simulated crash")
			s.testHookCommit = func(string) error {
				if n++; n == stop {
					return crash
				}
				return nil
			}
			if _, err := s.Commit(); !errors.Is(err, crash) {
				t.Fatalf("commit err = %v", err)
			}
			if err := s.Set("payments", []byte("k"), []byte("x")); err == nil {
				t.Fatal("store accepted a write after a failed commit")
			}
			must(t, s.Close())

			s = openDir(t, dir)
			defer s.Close()
			got := s.LastCommit()
			if got.Height != last.Height || !bytes.Equal(got.AppHash, last.AppHash) {
				t.Fatalf("after crash LastCommit = %d %X, want %d %X", got.Height, got.AppHash, last.Height, last.AppHash)
			}
			if !slices.Equal(s.Ledgers(), ledgers) {
				t.Fatalf("ledgers after crash = %v", s.Ledgers())
			}
			if !bytes.Equal(s.WorkingHash(), last.AppHash) {
				t.Fatal("working hash after reopen differs from last commit")
			}
			for _, l := range ledgers {
				if v, _ := s.Get(l, []byte("k")); string(v) != "v1" {
					t.Fatalf("%s/k = %q after crash", l, v)
				}
			}
			if v, _ := s.Get("payments", []byte("p07")); v == nil {
				t.Fatal("uncommitted delete survived the crash")
			}
			checkFlat(t, s)
			// A crash before the index was written leaves it valid; one
			// after repairs the keys block 3 changed (k in four ledgers,
			// p07), not the whole index.
			r := s.FlatRebuilt()
			if stop <= len(ledgers)+1 && r != (FlatRebuild{}) {
				t.Fatalf("an untouched index was rebuilt or repaired: %+v", r)
			}
			if stop == len(ledgers)+2 && (!r.Repaired || r.Keys != 5 || r.Height != last.Height) {
				t.Fatalf("flat index after a crash while it was written: %+v, want 5 keys repaired at height %d", r, last.Height)
			}

			// Replaying block 3 gives the same result as a store that never crashed.
			must(t, s.CreateLedger("_new"))
			for _, l := range append([]string{"_new"}, ledgers...) {
				must(t, s.Set(l, []byte("k"), []byte("v3")))
			}
			must(t, s.Delete("payments", []byte("p07")))
			ci := mustCommit(t, s)
			if ci.Height != last.Height+1 {
				t.Fatalf("height after recovery = %d", ci.Height)
			}
			ref := openMem(t)
			for _, l := range ledgers {
				must(t, ref.CreateLedger(l))
				must(t, ref.Set(l, []byte("k"), []byte("v1")))
			}
			mustCommit(t, ref)
			for i := 0; i < 50; i++ {
				must(t, ref.Set("payments", []byte(fmt.Sprintf("p%02d", i)), []byte("x")))
			}
			mustCommit(t, ref)
			must(t, ref.CreateLedger("_new"))
			for _, l := range append([]string{"_new"}, ledgers...) {
				must(t, ref.Set(l, []byte("k"), []byte("v3")))
			}
			must(t, ref.Delete("payments", []byte("p07")))
			if want := mustCommit(t, ref); !bytes.Equal(ci.AppHash, want.AppHash) {
				t.Fatalf("recovered app hash %X, reference %X", ci.AppHash, want.AppHash)
			}
			v, err := s.View(last.Height)
			must(t, err)
			if got, _ := v.Get("payments", []byte("k")); string(got) != "v1" {
				t.Fatalf("View(%d) payments/k = %q", last.Height, got)
			}

			// And the recovered state survives another reopen.
			must(t, s.Close())
			s2 := openDir(t, dir)
			defer s2.Close()
			if c := s2.LastCommit(); !bytes.Equal(c.AppHash, ci.AppHash) {
				t.Fatal("app hash changed across reopen after recovery")
			}
			checkFlat(t, s2)
		})
	}
}

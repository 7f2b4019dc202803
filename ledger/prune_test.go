package ledger

import (
	"errors"
	"fmt"
	"testing"
)

// PruneTo deletes old versions of every tree and their commit records:
// older views fail with ErrHeightNotAvailable, later ones read as before,
// the app hash is untouched, and the store reopens at the same commit.
func TestPruneTo(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLedger("payments"); err != nil {
		t.Fatal(err)
	}
	for h := 1; h <= 20; h++ {
		if h == 12 {
			if err := s.CreateLedger("custody"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Set("payments", []byte("k"), []byte(fmt.Sprint(h))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PruneTo(20); err == nil {
		t.Fatal("pruned the last commit")
	}
	first, err := s.PruneTo(14)
	if err != nil || first != 15 {
		t.Fatalf("PruneTo(14) = %d, %v; want first available 15", first, err)
	}
	for _, h := range []int64{1, 10, 14} {
		var na ErrHeightNotAvailable
		if _, err := s.View(h); !errors.As(err, &na) {
			t.Errorf("View(%d) after pruning: %v, want ErrHeightNotAvailable", h, err)
		}
	}
	for _, h := range []int64{15, 19, 20} {
		v, err := s.View(h)
		if err != nil {
			t.Fatalf("View(%d): %v", h, err)
		}
		if got, _ := v.Get("payments", []byte("k")); string(got) != fmt.Sprint(h) {
			t.Errorf("View(%d) reads %q", h, got)
		}
	}
	if first, err := s.PruneTo(10); err != nil || first != 15 {
		t.Fatalf("PruneTo below what is pruned = %d, %v", first, err)
	}
	ci, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.LastCommit(); got.Height != 21 || string(got.AppHash) != string(ci.AppHash) {
		t.Fatalf("reopened at %d %X, want 21 %X", got.Height, got.AppHash, ci.AppHash)
	}
	if v, err := s.View(16); err != nil {
		t.Fatal(err)
	} else if got, _ := v.Get("payments", []byte("k")); string(got) != "16" {
		t.Fatalf("after reopen View(16) reads %q", got)
	}
	if first, err := s.PruneTo(0); err != nil || first != 15 {
		t.Fatalf("first available after reopen = %d, %v", first, err)
	}
}

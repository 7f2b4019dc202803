package ledger

import (
	"bytes"
	"errors"
	"testing"
)

func TestMembershipProofs(t *testing.T) {
	s, err := Open(t.TempDir(), Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"b", "a"} {
		if err := s.CreateLedger(name); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"k1", "k2", "k3"} {
			if err := s.Set(name, []byte(k), []byte(name+"-"+k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ci, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.View(ci.Height)
	if err != nil {
		t.Fatal(err)
	}
	roots := v.Roots()
	if !bytes.Equal(AppHash(roots), ci.AppHash) || len(roots) != 2 || roots[0].Name != "a" {
		t.Fatalf("roots %v do not hash to the app hash", roots)
	}
	val, proof, err := v.ProveMembership("b", []byte("k2"))
	if err != nil || string(val) != "b-k2" {
		t.Fatalf("prove: %q %v", val, err)
	}
	root, err := RootOf(roots, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMembership(root, proof, []byte("k2"), val); err != nil {
		t.Fatal(err)
	}
	other, _ := RootOf(roots, "a")
	for _, c := range []struct {
		name              string
		root, proof, k, v []byte
	}{
		{"another value", root, proof, []byte("k2"), []byte("b-k3")},
		{"another key", root, proof, []byte("k3"), val},
		{"another ledger's root", other, proof, []byte("k2"), val},
		{"truncated proof", root, proof[:len(proof)/2], []byte("k2"), val},
		{"no proof", root, nil, []byte("k2"), val},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := VerifyMembership(c.root, c.proof, c.k, c.v); !errors.Is(err, ErrMembershipProof) {
				t.Fatalf("VerifyMembership: %v, want ErrMembershipProof", err)
			}
		})
	}
	if _, _, err := v.ProveMembership("b", []byte("absent")); err == nil {
		t.Fatal("proved an absent key")
	}
	if _, err := RootOf([]LedgerRoot{{Name: "b"}, {Name: "a"}}, "a"); err == nil {
		t.Fatal("unsorted roots accepted")
	}
	if _, err := RootOf(roots, "c"); err == nil {
		t.Fatal("root of an absent ledger")
	}
}

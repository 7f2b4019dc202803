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

func TestProveInAppHash(t *testing.T) {
	s, err := Open(t.TempDir(), Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"b", "a"} {
		if err := s.CreateLedger(name); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"k1", "k3", "k5"} {
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
	type proven struct{ key, value, proof []byte }
	prove := func(k string) proven {
		val, p, err := v.Prove("b", []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		return proven{[]byte(k), val, p}
	}
	present, between, before, after := prove("k3"), prove("k4"), prove("k0"), prove("k9")
	if string(present.value) != "b-k3" || between.value != nil || before.value != nil || after.value != nil {
		t.Fatalf("values %q %q %q %q", present.value, between.value, before.value, after.value)
	}
	for _, p := range []proven{present, between, before, after} {
		if err := VerifyInAppHash(ci.AppHash, roots, "b", p.key, p.value, p.proof); err != nil {
			t.Fatalf("%s: %v", p.key, err)
		}
	}
	otherHash := bytes.Repeat([]byte{1}, 32)
	for _, c := range []struct {
		name    string
		appHash []byte
		roots   []LedgerRoot
		ledger  string
		p       proven
		want    error
	}{
		{"absence of a key that is set", ci.AppHash, roots, "b", proven{[]byte("k3"), nil, between.proof}, ErrMembershipProof},
		{"absence proof of another key", ci.AppHash, roots, "b", proven{[]byte("k2"), nil, between.proof}, ErrMembershipProof},
		{"existence proof read as absence", ci.AppHash, roots, "b", proven{[]byte("k3"), nil, present.proof}, ErrMembershipProof},
		{"absence proof read as a value", ci.AppHash, roots, "b", proven{[]byte("k4"), []byte("x"), between.proof}, ErrMembershipProof},
		{"another ledger", ci.AppHash, roots, "a", between, ErrMembershipProof},
		{"ledger not among the roots", ci.AppHash, roots, "c", between, ErrLedgerRoots},
		{"another app hash", otherHash, roots, "b", between, ErrAppHashMismatch},
		{"a root dropped", ci.AppHash, roots[1:], "b", between, ErrAppHashMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := VerifyInAppHash(c.appHash, c.roots, c.ledger, c.p.key, c.p.value, c.p.proof); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

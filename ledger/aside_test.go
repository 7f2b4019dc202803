package ledger

import (
	"bytes"
	"errors"
	"testing"
)

func TestAsideIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLedger("payments"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("payments", []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	hash := s.WorkingHash()
	if err := s.WriteAside([]AsidePair{{Key: []byte("tx/1"), Value: []byte{1}}, {Key: []byte("tx/2"), Value: []byte{}}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.WorkingHash(), hash) {
		t.Fatal("aside records changed the app hash")
	}
	if err := s.WriteAside([]AsidePair{{Key: nil, Value: []byte{1}}}); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAside([]byte("tx/1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		key  string
		want []byte
	}{{"tx/1", []byte{1}}, {"tx/2", []byte{}}, {"tx/3", nil}} {
		got, err := s.GetAside([]byte(c.key))
		if err != nil || !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("GetAside(%s) after reopen = %v, %v; want %v", c.key, got, err, c.want)
		}
	}
	if got := s.Ledgers(); len(got) != 1 || got[0] != "payments" {
		t.Fatalf("ledgers after reopen: %v (the aside index must not look like a tree)", got)
	}
}

package ledger

import (
	"bytes"
	"testing"
)

// countingKV counts the reads that reach it.
type countingKV struct {
	KV
	gets int
}

func (c *countingKV) Get(l string, k []byte) ([]byte, error) { c.gets++; return c.KV.Get(l, k) }

func TestReadCache(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateLedger("l"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("l", []byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	parent := &countingKV{KV: s}
	r := NewReadCache(parent)
	for range 3 {
		if v, _ := r.Get("l", []byte("a")); string(v) != "1" {
			t.Fatalf("Get = %q", v)
		}
		if v, _ := r.Get("l", []byte("missing")); v != nil {
			t.Fatalf("absent key = %q", v)
		}
	}
	// Has answers from the same cache, and fills it for Get.
	for range 2 {
		if ok, err := r.Has("l", []byte("a")); !ok || err != nil {
			t.Fatalf("Has(a) = %v, %v", ok, err)
		}
		if ok, err := r.Has("l", []byte("c")); ok || err != nil {
			t.Fatalf("Has(absent c) = %v, %v", ok, err)
		}
	}
	if v, _ := r.Get("l", []byte("c")); v != nil {
		t.Fatalf("absent key after Has = %q", v)
	}
	if parent.gets != 3 {
		t.Fatalf("%d reads reached the parent, want 3 (one per key)", parent.gets)
	}
	// Writes go through and the cache follows them.
	if err := r.Set("l", []byte("missing"), []byte("now")); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete("l", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get("l", []byte("missing")); string(v) != "now" {
		t.Fatalf("after Set: %q", v)
	}
	if ok, _ := r.Has("l", []byte("a")); ok {
		t.Fatal("deleted key still present")
	}
	if v, _ := s.Get("l", []byte("missing")); !bytes.Equal(v, []byte("now")) {
		t.Fatal("write did not reach the parent")
	}
	// Returned values are copies.
	v, _ := r.Get("l", []byte("missing"))
	v[0] = 'X'
	if v2, _ := r.Get("l", []byte("missing")); string(v2) != "now" {
		t.Fatal("caller mutated the cache")
	}
	// A Cache over a ReadCache writes through it.
	c := NewCache(r)
	if err := c.Set("l", []byte("b"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("l", []byte("b")); string(v) != "2" {
		t.Fatal("Cache.Write through ReadCache lost the write")
	}
	if _, err := r.Get("nosuch", []byte("k")); err == nil {
		t.Fatal("unknown ledger read succeeded")
	}
	if _, err := r.Has("nosuch", []byte("k")); err == nil {
		t.Fatal("unknown ledger Has succeeded")
	}
}

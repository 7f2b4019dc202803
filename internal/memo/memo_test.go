package memo

import (
	"encoding/json"
	"slices"
	"testing"
)

type rec struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func cloneRec(r rec) rec { r.Roles = slices.Clone(r.Roles); return r }

func TestRecords(t *testing.T) {
	c := NewRecords(2, func(b []byte, v any) error { return json.Unmarshal(b, v) }, cloneRec)
	b := []byte(`{"name":"alice","roles":["admin","member"]}`)
	var first rec
	if err := c.Decode(b, &first); err != nil || first.Name != "alice" || len(first.Roles) != 2 {
		t.Fatalf("decode: %+v, %v", first, err)
	}
	first.Roles[0] = "tampered" // a caller's change must not reach the cache
	var second rec
	if err := c.Decode(b, &second); err != nil || second.Roles[0] != "admin" {
		t.Fatalf("cached value changed by a caller: %+v, %v", second, err)
	}
	if err := c.Decode([]byte(`{"name":`), &second); err == nil {
		t.Fatal("malformed JSON decoded")
	}
	// Bounded: two generations of at most 2 entries.
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		var r rec
		if err := c.Decode([]byte(`{"name":"`+n+`"}`), &r); err != nil || r.Name != n {
			t.Fatalf("decode %s: %+v, %v", n, r, err)
		}
	}
	if c.m.Len() > 4 {
		t.Fatalf("cache holds %d entries, want at most 4", c.m.Len())
	}
	if err := c.Decode(b, &second); err != nil || second.Name != "alice" {
		t.Fatalf("decode after eviction: %+v, %v", second, err)
	}
}

func TestGetBytes(t *testing.T) {
	m := NewMap[string, int](2)
	m.Put("a", 1)
	if v, ok := GetBytes(m, []byte("a")); !ok || v != 1 {
		t.Fatalf("GetBytes(a) = %d, %v", v, ok)
	}
	if _, ok := GetBytes(m, []byte("b")); ok {
		t.Fatal("GetBytes found an absent key")
	}
	// "a" ages into the older generation; a hit there keeps it, as Get's does.
	m.Put("b", 2)
	m.Put("c", 3)
	if v, ok := GetBytes(m, []byte("a")); !ok || v != 1 {
		t.Fatalf("GetBytes(a) from the older generation = %d, %v", v, ok)
	}
	m.Put("d", 4)
	m.Put("e", 5)
	if v, ok := m.Get("a"); !ok || v != 1 {
		t.Fatalf("a hit in the older generation did not keep a: %d, %v", v, ok)
	}
	k := []byte("e")
	if n := testing.AllocsPerRun(100, func() { GetBytes(m, k) }); n != 0 {
		t.Fatalf("a hit allocates %.0f times, want 0", n)
	}
}

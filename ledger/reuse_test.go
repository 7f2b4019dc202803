package ledger

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A borrowed Cache or ReadCache is handed from transaction to transaction
// and from block to block: whatever the last user wrote or read must be
// gone, or one block's state would leak into the next.
func TestBorrowedCachesStartEmpty(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("l"))
	must(t, s.CreateLedger("m"))
	must(t, s.Set("l", []byte("a"), []byte("1")))

	t.Run("Cache", func(t *testing.T) {
		c := BorrowCache(s)
		must(t, c.Set("l", []byte("a"), []byte("2")))
		must(t, c.Set("l", []byte("b"), []byte("x")))
		must(t, c.Delete("l", []byte("a")))
		c.Release()
		if len(c.ledgers) != 0 || c.parent != nil {
			t.Fatalf("a released Cache keeps %d ledgers' writes", len(c.ledgers))
		}
		for _, c := range []*Cache{BorrowCache(s), c} { // a fresh one, and the released one borrowed again
			c.parent = s
			if v, _ := c.Get("l", []byte("a")); string(v) != "1" {
				t.Fatalf("Get(a) = %q after the last user's delete, want the parent's 1", v)
			}
			if v, _ := c.Get("l", []byte("b")); v != nil {
				t.Fatalf("Get(b) = %q, the last user's write", v)
			}
			if got := pairs(t, c, "l", nil, nil); !slices.Equal(got, []string{"a=1"}) {
				t.Fatalf("Iterate = %v", got)
			}
			// A recycled ledger buffer must not let a write to an unknown
			// ledger through.
			if err := c.Set("nope", []byte("k"), []byte("v")); !errors.Is(err, ErrUnknownLedger) {
				t.Fatalf("write to an unknown ledger: %v", err)
			}
			must(t, c.Set("m", []byte("k"), []byte("v")))
			must(t, c.Write())
			if v, _ := s.Get("l", []byte("b")); v != nil {
				t.Fatalf("Write applied the last user's write b=%q", v)
			}
			if v, _ := s.Get("m", []byte("k")); string(v) != "v" {
				t.Fatalf("Write lost m/k: %q", v)
			}
			must(t, s.Delete("m", []byte("k")))
			c.Release()
		}
	})

	t.Run("ReadCache", func(t *testing.T) {
		r := BorrowReadCache(s)
		if v, _ := r.Get("l", []byte("a")); string(v) != "1" {
			t.Fatalf("Get(a) = %q", v)
		}
		r.Release()
		for _, l := range r.reads {
			if len(l) != 0 {
				t.Fatalf("a released ReadCache remembers %d reads", len(l))
			}
		}
		must(t, s.Set("l", []byte("a"), []byte("3"))) // the next block's state
		for _, r := range []*ReadCache{BorrowReadCache(s), r} {
			r.parent = s
			if v, _ := r.Get("l", []byte("a")); string(v) != "3" {
				t.Fatalf("Get(a) = %q, the last block's read; want 3", v)
			}
			r.Release()
		}
	})
}

// Peek reads what Get reads from every KV of the package, shares the
// value only where Get would have copied it, and falls back to Get for a
// Reader of another package.
func TestPeek(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("l"))
	must(t, s.Set("l", []byte("a"), []byte("1")))
	must(t, s.Set("l", []byte("b"), []byte("2")))
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	must(t, s.Set("l", []byte("b"), []byte("2'"))) // this block's write
	v, err := s.View(s.LastHeight())
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(s)
	must(t, c.Set("l", []byte("c"), []byte("3")))
	rc := NewReadCache(c)
	outside := &countingKV{KV: s}
	for _, tc := range []struct {
		name string
		r    Reader
		want map[string]string
	}{
		{"Store", s, map[string]string{"a": "1", "b": "2'"}},
		{"View", v, map[string]string{"a": "1", "b": "2"}},
		{"Cache", c, map[string]string{"a": "1", "b": "2'", "c": "3"}},
		{"ReadCache", rc, map[string]string{"a": "1", "b": "2'", "c": "3"}},
		{"View.ReadOnly", v.ReadOnly(), map[string]string{"a": "1", "b": "2"}},
		{"another package's Reader", outside, map[string]string{"a": "1", "b": "2'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"a", "b", "c", "absent"} {
				got, err := Peek(tc.r, "l", []byte(k))
				if err != nil {
					t.Fatal(err)
				}
				want, ok := tc.want[k]
				if !ok && got != nil || ok && string(got) != want {
					t.Fatalf("Peek(%s) = %q, want %q", k, got, want)
				}
				viaGet, _ := tc.r.Get("l", []byte(k))
				if !bytes.Equal(got, viaGet) {
					t.Fatalf("Peek(%s) = %q, Get = %q", k, got, viaGet)
				}
			}
			if _, err := Peek(tc.r, "l", nil); !errors.Is(err, ErrEmptyKey) {
				t.Fatalf("empty key: %v", err)
			}
			if _, err := Peek(tc.r, "nope", []byte("a")); !errors.Is(err, ErrUnknownLedger) {
				t.Fatalf("unknown ledger: %v", err)
			}
		})
	}
	if outside.gets == 0 {
		t.Fatal("Peek did not read another package's Reader through its Get")
	}
	// What Peek is for: a read the caches already hold costs no copy.
	ka := []byte("a")
	for name, r := range map[string]Reader{"Store": s, "ReadCache": rc, "View.ReadOnly": v.ReadOnly()} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Peek(r, "l", ka) }); n != 0 {
			t.Fatalf("%s: Peek of a held value allocates %.0f times, want 0", name, n)
		}
	}
	// And Get still copies: a caller that changes its copy changes nothing.
	g, _ := rc.Get("l", ka)
	g[0] = 'x'
	if p, _ := Peek(rc, "l", ka); string(p) != "1" {
		t.Fatalf("a change to Get's value reached the cache: %q", p)
	}
}

// Values handed from a Cache to its parents are copied once, when the
// Cache is given them: a caller that reuses its slice after Set changes
// nothing, through any depth of Caches, a ReadCache and the Store.
func TestCacheWriteHandsOverItsCopy(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("l"))
	r := NewReadCache(s)
	outer := NewCache(r)
	inner := NewCache(outer)
	buf := []byte("v1")
	must(t, inner.Set("l", []byte("k"), buf))
	buf[1] = '9'
	must(t, inner.Write())
	buf[1] = '8'
	must(t, outer.Write())
	buf[1] = '7'
	for name, kv := range map[string]KV{"Store": s, "ReadCache": r} {
		if v, _ := kv.Get("l", []byte("k")); string(v) != "v1" {
			t.Fatalf("%s holds %q, want v1", name, v)
		}
	}
	// A Set through the ReadCache itself still copies.
	must(t, r.Set("l", []byte("k"), buf))
	buf[1] = '6'
	for name, kv := range map[string]KV{"Store": s, "ReadCache": r} {
		if v, _ := kv.Get("l", []byte("k")); string(v) != "v7" {
			t.Fatalf("%s holds %q, want v7", name, v)
		}
	}
}

// A View's ReadOnly KV refuses writes, naming the ledger, and changes
// nothing: the check state's base cannot reach the committed state.
func TestViewReadOnly(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("l"))
	must(t, s.Set("l", []byte("a"), []byte("1")))
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := s.View(0)
	if err != nil {
		t.Fatal(err)
	}
	ro := v.ReadOnly()
	for what, err := range map[string]error{
		"Set":    ro.Set("l", []byte("a"), []byte("2")),
		"Delete": ro.Delete("l", []byte("a")),
	} {
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "ledger l") {
			t.Fatalf("%s: %v, want ErrReadOnly naming ledger l", what, err)
		}
	}
	c := NewCache(NewReadCache(ro))
	must(t, c.Set("l", []byte("a"), []byte("2")))
	if err := c.Write(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("a cache over it wrote through: %v", err)
	}
	for name, r := range map[string]Reader{"the store": s, "the view": v, "the read-only KV": ro} {
		if got, _ := r.Get("l", []byte("a")); string(got) != "1" {
			t.Fatalf("%s holds %q after refused writes, want 1", name, got)
		}
	}
	if ok, err := ro.Has("l", []byte("a")); !ok || err != nil || !ro.(ledgerChecker).HasLedger("l") {
		t.Fatalf("Has = %v, %v", ok, err)
	}
}

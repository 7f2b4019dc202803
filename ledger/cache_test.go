package ledger

import (
	"errors"
	"slices"
	"testing"
)

func pairs(t *testing.T, kv KV, ledger string, start, end []byte) []string {
	t.Helper()
	var out []string
	must(t, kv.Iterate(ledger, start, end, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	}))
	return out
}

func TestCache(t *testing.T) {
	setup := func(t *testing.T) *Store {
		s := openMem(t)
		must(t, s.CreateLedger("a"))
		must(t, s.CreateLedger("b"))
		for _, k := range []string{"1", "3", "5", "7"} {
			must(t, s.Set("a", []byte(k), []byte("p"+k)))
		}
		return s
	}

	t.Run("writes invisible to parent until Write", func(t *testing.T) {
		s := setup(t)
		c := NewCache(s)
		must(t, c.Set("a", []byte("2"), []byte("c2")))
		must(t, c.Delete("a", []byte("3")))
		must(t, c.Set("b", []byte("x"), []byte("cx")))
		if v, _ := c.Get("a", []byte("2")); string(v) != "c2" {
			t.Fatalf("cache does not read its own write: %q", v)
		}
		if ok, _ := c.Has("a", []byte("3")); ok {
			t.Fatal("cache sees its own delete as present")
		}
		if v, _ := s.Get("a", []byte("2")); v != nil {
			t.Fatal("parent sees buffered write")
		}
		if ok, _ := s.Has("a", []byte("3")); !ok {
			t.Fatal("parent sees buffered delete")
		}
		must(t, c.Write())
		if got := pairs(t, s, "a", nil, nil); !slices.Equal(got, []string{"1=p1", "2=c2", "5=p5", "7=p7"}) {
			t.Fatalf("parent after Write = %v", got)
		}
		if got := pairs(t, s, "b", nil, nil); !slices.Equal(got, []string{"x=cx"}) {
			t.Fatalf("parent b after Write = %v", got)
		}
		// Write resets the cache.
		if got := pairs(t, c, "a", nil, nil); !slices.Equal(got, []string{"1=p1", "2=c2", "5=p5", "7=p7"}) {
			t.Fatalf("cache after Write = %v", got)
		}
	})

	t.Run("Discard drops writes", func(t *testing.T) {
		s := setup(t)
		before := s.WorkingHash()
		c := NewCache(s)
		must(t, c.Set("a", []byte("9"), []byte("x")))
		must(t, c.Delete("a", []byte("1")))
		c.Discard()
		must(t, c.Write())
		if got := pairs(t, s, "a", nil, nil); !slices.Equal(got, []string{"1=p1", "3=p3", "5=p5", "7=p7"}) {
			t.Fatalf("parent after Discard = %v", got)
		}
		if string(before) != string(s.WorkingHash()) {
			t.Fatal("Discard changed the working hash")
		}
	})

	t.Run("iterate merges writes and deletes", func(t *testing.T) {
		s := setup(t)
		c := NewCache(s)
		must(t, c.Set("a", []byte("0"), []byte("c0")))  // before all parent keys
		must(t, c.Set("a", []byte("3"), []byte("c3")))  // overwrite
		must(t, c.Delete("a", []byte("5")))             // delete
		must(t, c.Delete("a", []byte("6")))             // delete of absent key
		must(t, c.Set("a", []byte("4"), []byte("c4")))  // between parent keys
		must(t, c.Set("a", []byte("9"), []byte("c9")))  // after all parent keys
		must(t, c.Set("a", []byte("8"), []byte("tmp"))) // set then delete
		must(t, c.Delete("a", []byte("8")))
		tests := []struct {
			name       string
			start, end []byte
			want       []string
		}{
			{"all", nil, nil, []string{"0=c0", "1=p1", "3=c3", "4=c4", "7=p7", "9=c9"}},
			{"bounded", []byte("3"), []byte("9"), []string{"3=c3", "4=c4", "7=p7"}},
			{"only deleted keys in range", []byte("5"), []byte("7"), nil},
			{"only buffered keys in range", []byte("8"), nil, []string{"9=c9"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := pairs(t, c, "a", tc.start, tc.end); !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
		var got []string
		must(t, c.Iterate("a", nil, nil, func(k, _ []byte) bool {
			got = append(got, string(k))
			return len(got) < 3
		}))
		if !slices.Equal(got, []string{"0", "1", "3"}) {
			t.Fatalf("early stop: %v", got)
		}
	})

	t.Run("nested caches", func(t *testing.T) {
		s := setup(t)
		outer := NewCache(s)
		must(t, outer.Set("a", []byte("2"), []byte("o2")))
		must(t, outer.Delete("a", []byte("1")))
		inner := NewCache(outer)
		must(t, inner.Set("a", []byte("1"), []byte("i1"))) // resurrects a key deleted by outer
		must(t, inner.Delete("a", []byte("2")))
		must(t, inner.Set("a", []byte("6"), []byte("i6")))
		if got := pairs(t, inner, "a", nil, nil); !slices.Equal(got, []string{"1=i1", "3=p3", "5=p5", "6=i6", "7=p7"}) {
			t.Fatalf("inner view = %v", got)
		}
		if got := pairs(t, outer, "a", nil, nil); !slices.Equal(got, []string{"2=o2", "3=p3", "5=p5", "7=p7"}) {
			t.Fatalf("outer view before inner Write = %v", got)
		}
		must(t, inner.Write())
		if got := pairs(t, outer, "a", nil, nil); !slices.Equal(got, []string{"1=i1", "3=p3", "5=p5", "6=i6", "7=p7"}) {
			t.Fatalf("outer view after inner Write = %v", got)
		}
		if got := pairs(t, s, "a", nil, nil); !slices.Equal(got, []string{"1=p1", "3=p3", "5=p5", "7=p7"}) {
			t.Fatalf("store changed before outer Write: %v", got)
		}
		must(t, outer.Write())
		if got := pairs(t, s, "a", nil, nil); !slices.Equal(got, []string{"1=i1", "3=p3", "5=p5", "6=i6", "7=p7"}) {
			t.Fatalf("store after outer Write = %v", got)
		}
		if _, err := NewCache(NewCache(s)).Get("nope", []byte("k")); !errors.Is(err, ErrUnknownLedger) {
			t.Fatalf("nested unknown ledger: %v", err)
		}
		if err := NewCache(NewCache(s)).Delete("nope", []byte("k")); !errors.Is(err, ErrUnknownLedger) {
			t.Fatalf("nested unknown ledger delete: %v", err)
		}
	})

	t.Run("values are copies", func(t *testing.T) {
		s := setup(t)
		c := NewCache(s)
		v := []byte("abc")
		must(t, c.Set("a", []byte("k"), v))
		v[0] = 'X'
		got, _ := c.Get("a", []byte("k"))
		if string(got) != "abc" {
			t.Fatalf("cache kept caller's slice: %q", got)
		}
		got[1] = 'Y'
		if again, _ := c.Get("a", []byte("k")); string(again) != "abc" {
			t.Fatalf("cache returned its own slice: %q", again)
		}
	})
}

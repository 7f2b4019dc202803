package ledger

import (
	"errors"
	"slices"
	"testing"

	corestore "cosmossdk.io/core/store"
	"github.com/dgraph-io/badger/v4"
)

func openBadger(t *testing.T) *badger.DB {
	t.Helper()
	db, err := badger.Open(badgerOptions("", Options{InMemory: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func collect(t *testing.T, it corestore.Iterator, err error) []string {
	t.Helper()
	must(t, err)
	defer it.Close()
	var out []string
	for ; it.Valid(); it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	must(t, it.Error())
	return out
}

func TestPrefixDB(t *testing.T) {
	db := openBadger(t)
	a := newPrefixDB(db, treePrefix("a"), nil)
	ab := newPrefixDB(db, treePrefix("ab"), nil) // a name that extends another
	all := newPrefixDB(db, []byte{0xFF, 0xFF}, nil)

	b := a.NewBatch()
	for _, k := range []string{"1", "2", "3", "4"} {
		must(t, b.Set([]byte(k), []byte("a"+k)))
	}
	must(t, b.Write())
	b2 := ab.NewBatchWithSize(1000)
	must(t, b2.Set([]byte("1"), []byte("ab1")))
	must(t, b2.Set([]byte("0"), []byte("ab0")))
	must(t, b2.WriteSync())
	b3 := all.NewBatch()
	must(t, b3.Set([]byte{0xFF}, []byte("ff")))
	must(t, b3.Write())

	tests := []struct {
		name       string
		db         *prefixDB
		start, end []byte
		reverse    bool
		want       []string
	}{
		{"full forward", a, nil, nil, false, []string{"1=a1", "2=a2", "3=a3", "4=a4"}},
		{"full reverse", a, nil, nil, true, []string{"4=a4", "3=a3", "2=a2", "1=a1"}},
		{"start inclusive end exclusive", a, []byte("2"), []byte("4"), false, []string{"2=a2", "3=a3"}},
		{"reverse start inclusive end exclusive", a, []byte("2"), []byte("4"), true, []string{"3=a3", "2=a2"}},
		{"reverse end between keys", a, nil, []byte("25"), true, []string{"2=a2", "1=a1"}},
		{"reverse start only", a, []byte("3"), nil, true, []string{"4=a4", "3=a3"}},
		{"forward end only", a, nil, []byte("2"), false, []string{"1=a1"}},
		{"empty domain", a, []byte("3"), []byte("3"), false, nil},
		{"prefix isolation", ab, nil, nil, false, []string{"0=ab0", "1=ab1"}},
		{"prefix isolation reverse", ab, nil, nil, true, []string{"1=ab1", "0=ab0"}},
		{"all-0xFF prefix", all, nil, nil, true, []string{"\xff=ff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var it corestore.Iterator
			var err error
			if tc.reverse {
				it, err = tc.db.ReverseIterator(tc.start, tc.end)
			} else {
				it, err = tc.db.Iterator(tc.start, tc.end)
			}
			if got := collect(t, it, err); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("get has delete", func(t *testing.T) {
		v, err := a.Get([]byte("1"))
		if err != nil || string(v) != "a1" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		if v, _ := ab.Get([]byte("2")); v != nil {
			t.Fatalf("ab sees a's key: %q", v)
		}
		if ok, _ := a.Has([]byte("0")); ok {
			t.Fatal("a sees ab's key")
		}
		b := a.NewBatch()
		must(t, b.Delete([]byte("1")))
		must(t, b.Set([]byte("2"), []byte("new")))
		must(t, b.Delete([]byte("2"))) // last op on a key wins
		must(t, b.Set([]byte("3"), []byte{}))
		if v, _ := a.Get([]byte("1")); v == nil {
			t.Fatal("batch applied before Write")
		}
		must(t, b.Write())
		must(t, b.Close())
		if ok, _ := a.Has([]byte("1")); ok {
			t.Fatal("deleted key still present")
		}
		if v, _ := a.Get([]byte("2")); v != nil {
			t.Fatalf("2 = %q, want deleted", v)
		}
		if v, err := a.Get([]byte("3")); err != nil || v == nil || len(v) != 0 {
			t.Fatalf("empty value = %#v, %v", v, err)
		}
		if ok, _ := ab.Has([]byte("1")); !ok {
			t.Fatal("delete in a removed ab's key")
		}
	})

	t.Run("batch semantics", func(t *testing.T) {
		b := a.NewBatch()
		must(t, b.Set([]byte("x"), []byte("12345")))
		if n, _ := b.GetByteSize(); n < 6 {
			t.Fatalf("GetByteSize = %d", n)
		}
		if err := b.Set(nil, []byte("v")); !errors.Is(err, errKeyEmpty) {
			t.Fatalf("empty key: %v", err)
		}
		if err := b.Set([]byte("k"), nil); !errors.Is(err, errValueNil) {
			t.Fatalf("nil value: %v", err)
		}
		must(t, b.Write())
		if err := b.Set([]byte("y"), []byte("v")); !errors.Is(err, errBatchClosed) {
			t.Fatalf("set after write: %v", err)
		}
		if err := b.Write(); !errors.Is(err, errBatchClosed) {
			t.Fatalf("write after write: %v", err)
		}
		must(t, b.Close())
		must(t, b.Close()) // idempotent
		c := a.NewBatch()
		must(t, c.Set([]byte("z"), []byte("v")))
		must(t, c.Close())
		if err := c.Write(); !errors.Is(err, errBatchClosed) {
			t.Fatalf("write after close: %v", err)
		}
		if v, _ := a.Get([]byte("z")); v != nil {
			t.Fatal("closed batch was written")
		}
	})

	t.Run("empty keys rejected", func(t *testing.T) {
		if _, err := a.Get(nil); !errors.Is(err, errKeyEmpty) {
			t.Fatalf("Get: %v", err)
		}
		if _, err := a.Has([]byte{}); !errors.Is(err, errKeyEmpty) {
			t.Fatalf("Has: %v", err)
		}
		if _, err := a.Iterator([]byte{}, nil); !errors.Is(err, errKeyEmpty) {
			t.Fatalf("Iterator: %v", err)
		}
	})

	t.Run("iterator domain and invalid use", func(t *testing.T) {
		it, err := a.Iterator([]byte("a"), []byte("b"))
		must(t, err)
		s, e := it.Domain()
		if string(s) != "a" || string(e) != "b" {
			t.Fatalf("Domain = %q %q", s, e)
		}
		must(t, it.Close())
		if it.Valid() {
			t.Fatal("closed iterator valid")
		}
		defer func() {
			if recover() == nil {
				t.Fatal("Key on invalid iterator did not panic")
			}
		}()
		it.Key()
	})
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want []byte }{
		{[]byte("t/a/"), []byte("t/a0")},
		{[]byte{1, 0xFF}, []byte{2}},
		{[]byte{0xFF, 0xFF}, nil},
	}
	for _, tc := range tests {
		if got := PrefixEnd(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}

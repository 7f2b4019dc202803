package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func openMem(t testing.TB) *Store {
	t.Helper()
	s, err := Open("", Options{InMemory: true, IAVLCacheSize: 1000})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openDir(t testing.TB, dir string) *Store {
	return openDirCache(t, dir, 1000)
}

func openDirCache(t testing.TB, dir string, cache int) *Store {
	t.Helper()
	s, err := Open(dir, Options{IAVLCacheSize: cache})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCommit(t testing.TB, s *Store) CommitInfo {
	t.Helper()
	want := s.WorkingHash()
	ci, err := s.Commit()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if !bytes.Equal(ci.AppHash, want) {
		t.Fatalf("commit app hash %X != working hash before commit %X", ci.AppHash, want)
	}
	return ci
}

func dump(t testing.TB, kv interface {
	Iterate(string, []byte, []byte, func(k, v []byte) bool) error
}, ledger string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var prev []byte
	err := kv.Iterate(ledger, nil, nil, func(k, v []byte) bool {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("iterate %s: %q after %q", ledger, k, prev)
		}
		prev = k
		out[string(k)] = string(v)
		return true
	})
	must(t, err)
	return out
}

func TestStoreBasics(t *testing.T) {
	s := openMem(t)
	ci := s.LastCommit()
	if ci.Height != 0 || !bytes.Equal(ci.AppHash, AppHash(nil)) || len(ci.Roots) != 0 {
		t.Fatalf("fresh store LastCommit = %+v", ci)
	}
	must(t, s.CreateLedger("payments"))
	must(t, s.CreateLedger("_system"))
	if got := s.Ledgers(); !slices.Equal(got, []string{"_system", "payments"}) {
		t.Fatalf("Ledgers = %v", got)
	}
	must(t, s.Set("payments", []byte("a"), []byte("1")))
	must(t, s.Set("payments", []byte("b"), []byte{}))
	must(t, s.Set("_system", []byte("a"), []byte("sys")))
	if v, _ := s.Get("payments", []byte("a")); string(v) != "1" {
		t.Fatalf("Get a = %q", v)
	}
	if v, _ := s.Get("payments", []byte("b")); v == nil || len(v) != 0 {
		t.Fatalf("Get of empty value = %#v, want non-nil empty", v)
	}
	if v, _ := s.Get("payments", []byte("zz")); v != nil {
		t.Fatalf("Get absent = %q", v)
	}
	ci1 := mustCommit(t, s)
	if ci1.Height != 1 || len(ci1.Roots) != 2 || ci1.Roots[0].Name != "_system" {
		t.Fatalf("commit 1 = %+v", ci1)
	}
	must(t, s.Delete("payments", []byte("a")))
	must(t, s.CreateLedger("assets"))
	must(t, s.Set("assets", []byte("x"), []byte("y")))
	ci2 := mustCommit(t, s)
	if ci2.Height != 2 || bytes.Equal(ci1.AppHash, ci2.AppHash) {
		t.Fatalf("commit 2 = %+v", ci2)
	}

	v1, err := s.View(1)
	must(t, err)
	if got := v1.Ledgers(); !slices.Equal(got, []string{"_system", "payments"}) {
		t.Fatalf("View(1).Ledgers = %v", got)
	}
	if val, _ := v1.Get("payments", []byte("a")); string(val) != "1" {
		t.Fatalf("View(1) a = %q", val)
	}
	if _, err := v1.Get("assets", []byte("x")); !errors.Is(err, ErrUnknownLedger) {
		t.Fatalf("View(1) assets: err = %v", err)
	}
	v0, err := s.View(0)
	must(t, err)
	if v0.Height() != 2 {
		t.Fatalf("View(0).Height = %d", v0.Height())
	}
	if val, _ := v0.Get("payments", []byte("a")); val != nil {
		t.Fatalf("View(latest) a = %q after delete", val)
	}
	if got := dump(t, v0, "assets"); !mapsEqual(got, map[string]string{"x": "y"}) {
		t.Fatalf("View(latest) assets = %v", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestErrors(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("payments"))
	mustCommit(t, s)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"get unknown ledger", func() error { _, err := s.Get("nope", []byte("k")); return err }, ErrUnknownLedger},
		{"has unknown ledger", func() error { _, err := s.Has("nope", []byte("k")); return err }, ErrUnknownLedger},
		{"set unknown ledger", func() error { return s.Set("nope", []byte("k"), []byte("v")) }, ErrUnknownLedger},
		{"delete unknown ledger", func() error { return s.Delete("nope", []byte("k")) }, ErrUnknownLedger},
		{"iterate unknown ledger", func() error { return s.Iterate("nope", nil, nil, func(_, _ []byte) bool { return true }) }, ErrUnknownLedger},
		{"iterate unknown ledger, empty range", func() error {
			return s.Iterate("nope", []byte("b"), []byte("a"), func(_, _ []byte) bool { return true })
		}, ErrUnknownLedger},
		{"cache set unknown ledger", func() error { return NewCache(s).Set("nope", []byte("k"), []byte("v")) }, ErrUnknownLedger},
		{"empty ledger name", func() error { return s.CreateLedger("") }, ErrInvalidLedgerName},
		{"ledger name with slash", func() error { return s.CreateLedger("a/b") }, ErrInvalidLedgerName},
		{"ledger name with space", func() error { return s.CreateLedger("a b") }, ErrInvalidLedgerName},
		{"ledger name too long", func() error { return s.CreateLedger(string(bytes.Repeat([]byte("a"), 65))) }, ErrInvalidLedgerName},
		{"duplicate committed ledger", func() error { return s.CreateLedger("payments") }, ErrLedgerExists},
		{"set empty key", func() error { return s.Set("payments", nil, []byte("v")) }, ErrEmptyKey},
		{"set nil value", func() error { return s.Set("payments", []byte("k"), nil) }, ErrNilValue},
		{"get empty key", func() error { _, err := s.Get("payments", []byte{}); return err }, ErrEmptyKey},
		{"delete empty key", func() error { return s.Delete("payments", nil) }, ErrEmptyKey},
		{"cache set empty key", func() error { return NewCache(s).Set("payments", nil, []byte("v")) }, ErrEmptyKey},
		{"cache set nil value", func() error { return NewCache(s).Set("payments", []byte("k"), nil) }, ErrNilValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("duplicate uncommitted ledger", func(t *testing.T) {
		must(t, s.CreateLedger("fresh"))
		if err := s.CreateLedger("fresh"); !errors.Is(err, ErrLedgerExists) {
			t.Fatalf("err = %v", err)
		}
		s.Rollback()
	})
	t.Run("unknown ledger error names the ledger", func(t *testing.T) {
		_, err := s.Get("nope", []byte("k"))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("nope")) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, h := range []int64{-1, 2, 100} {
		t.Run(fmt.Sprintf("view height %d not available", h), func(t *testing.T) {
			_, err := s.View(h)
			var e ErrHeightNotAvailable
			if !errors.As(err, &e) || e.Height != h || e.Latest != 1 {
				t.Fatalf("err = %#v", err)
			}
		})
	}
	t.Run("valid names accepted", func(t *testing.T) {
		for _, name := range []string{"a", "_system", "Bank-A.v2", string(bytes.Repeat([]byte("z"), 64))} {
			if err := ValidateLedgerName(name); err != nil {
				t.Errorf("%q: %v", name, err)
			}
		}
	})
}

func TestRollback(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("a"))
	must(t, s.Set("a", []byte("k"), []byte("v1")))
	ci1 := mustCommit(t, s)

	must(t, s.Set("a", []byte("k"), []byte("v2")))
	must(t, s.Set("a", []byte("k2"), []byte("x")))
	must(t, s.CreateLedger("b"))
	must(t, s.Set("b", []byte("k"), []byte("v")))
	s.Rollback()
	if got := s.Ledgers(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Ledgers after rollback = %v", got)
	}
	if got := dump(t, s, "a"); !mapsEqual(got, map[string]string{"k": "v1"}) {
		t.Fatalf("a after rollback = %v", got)
	}
	if !bytes.Equal(s.WorkingHash(), ci1.AppHash) {
		t.Fatal("working hash after rollback differs from last commit")
	}
	// The ledger can be created again and lines up with the next height.
	must(t, s.CreateLedger("b"))
	must(t, s.Set("b", []byte("k"), []byte("w")))
	ci2 := mustCommit(t, s)
	if ci2.Height != 2 {
		t.Fatalf("height = %d", ci2.Height)
	}
	v, err := s.View(2)
	must(t, err)
	if got, _ := v.Get("b", []byte("k")); string(got) != "w" {
		t.Fatalf("b/k = %q", got)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	must(t, s.CreateLedger("payments"))
	must(t, s.Set("payments", []byte("k"), []byte("v")))
	mustCommit(t, s)
	must(t, s.CreateLedger("assets"))
	must(t, s.Set("assets", []byte("a"), []byte("1")))
	ci := mustCommit(t, s)
	// Uncommitted work is lost on reopen.
	must(t, s.Set("payments", []byte("k"), []byte("changed")))
	must(t, s.CreateLedger("later"))
	must(t, s.Close())

	s = openDir(t, dir)
	defer s.Close()
	got := s.LastCommit()
	if got.Height != ci.Height || !bytes.Equal(got.AppHash, ci.AppHash) || len(got.Roots) != 2 {
		t.Fatalf("LastCommit after reopen = %+v, want %+v", got, ci)
	}
	if !slices.Equal(s.Ledgers(), []string{"assets", "payments"}) {
		t.Fatalf("Ledgers = %v", s.Ledgers())
	}
	if v, _ := s.Get("payments", []byte("k")); string(v) != "v" {
		t.Fatalf("payments/k = %q", v)
	}
	v1, err := s.View(1)
	must(t, err)
	if !slices.Equal(v1.Ledgers(), []string{"payments"}) {
		t.Fatalf("View(1).Ledgers = %v", v1.Ledgers())
	}
	must(t, s.Set("assets", []byte("b"), []byte("2")))
	if ci3 := mustCommit(t, s); ci3.Height != 3 {
		t.Fatalf("height after reopen commit = %d", ci3.Height)
	}
}

func TestIterateRanges(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("a"))
	for i := 0; i < 600; i++ { // more than one internal batch
		must(t, s.Set("a", []byte(fmt.Sprintf("k%04d", i)), []byte{byte(i)}))
	}
	mustCommit(t, s)
	view, err := s.View(0)
	must(t, err)
	tests := []struct {
		name       string
		start, end []byte
		limit      int
		want       []string
	}{
		{"bounded", []byte("k0010"), []byte("k0013"), 0, []string{"k0010", "k0011", "k0012"}},
		{"start between keys", []byte("k0010x"), []byte("k0012"), 0, []string{"k0011"}},
		{"open start", nil, []byte("k0002"), 0, []string{"k0000", "k0001"}},
		{"open end", []byte("k0598"), nil, 0, []string{"k0598", "k0599"}},
		{"empty range", []byte("k0005"), []byte("k0005"), 0, nil},
		{"reversed range", []byte("k0006"), []byte("k0005"), 0, nil},
		{"early stop", []byte("k0100"), nil, 3, []string{"k0100", "k0101", "k0102"}},
		{"early stop across batch", []byte("k0250"), nil, 8, []string{"k0250", "k0251", "k0252", "k0253", "k0254", "k0255", "k0256", "k0257"}},
	}
	for _, tc := range tests {
		for _, kv := range []struct {
			name string
			it   func(string, []byte, []byte, func(k, v []byte) bool) error
		}{{"store", s.Iterate}, {"view", view.Iterate}, {"cache", NewCache(s).Iterate}} {
			t.Run(tc.name+"/"+kv.name, func(t *testing.T) {
				var got []string
				must(t, kv.it("a", tc.start, tc.end, func(k, _ []byte) bool {
					got = append(got, string(k))
					return tc.limit == 0 || len(got) < tc.limit
				}))
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
	}
	var n int
	must(t, s.Iterate("a", nil, nil, func(_, _ []byte) bool { n++; return true }))
	if n != 600 {
		t.Fatalf("full iteration saw %d keys", n)
	}
}

func TestViewConcurrentWithWrites(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("a"))
	for i := 0; i < 200; i++ {
		must(t, s.Set("a", []byte(fmt.Sprintf("k%03d", i)), []byte("h1")))
	}
	mustCommit(t, s)
	v, err := s.View(1)
	must(t, err)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := 0
				err := v.Iterate("a", nil, nil, func(_, val []byte) bool {
					if string(val) != "h1" {
						errc <- fmt.Errorf("view saw %q", val)
						return false
					}
					n++
					return true
				})
				if err == nil && n != 200 {
					err = fmt.Errorf("view saw %d keys", n)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for h := 0; h < 5; h++ {
		for i := 0; i < 200; i++ {
			must(t, s.Set("a", []byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprintf("h%d", h+2))))
		}
		must(t, s.Delete("a", []byte("k000")))
		_ = s.WorkingHash()
		mustCommit(t, s)
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestWritten(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("a"))
	must(t, s.CreateLedger("ab"))
	set := func(l, k string) {
		t.Helper()
		must(t, s.Set(l, []byte(k), []byte("v")))
	}
	set("a", "b/2")
	set("a", "b/1")
	set("a", "c/1")
	set("ab", "b/3") // another ledger whose name extends "a"
	must(t, s.Delete("a", []byte("b/0")))
	got := s.Written("a", []byte("b/"))
	want := []Write{{[]byte("b/0"), nil}, {[]byte("b/1"), []byte("v")}, {[]byte("b/2"), []byte("v")}}
	if !slices.EqualFunc(got, want, func(x, y Write) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && (x.Value == nil) == (y.Value == nil)
	}) {
		t.Fatalf("written %q, want %q (sorted, deletes included as nil, other prefixes and ledgers left out)", got, want)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := s.Written("a", []byte("b/")); len(got) != 0 {
		t.Fatalf("after Commit: %q, want none", got)
	}
	set("a", "b/9")
	s.Rollback()
	if got := s.Written("a", []byte("b/")); len(got) != 0 {
		t.Fatalf("after Rollback: %q, want none", got)
	}
}

// TestLevelZeroTables: ledger.level_zero_tables reaches Badger, with writes
// stalling at three times as many tables; 0 keeps Badger's 5 and 15.
func TestLevelZeroTables(t *testing.T) {
	for _, c := range []struct{ set, want, stall int }{{0, 5, 15}, {10, 10, 30}} {
		s, err := Open(t.TempDir(), Options{LevelZeroTables: c.set})
		if err != nil {
			t.Fatal(err)
		}
		o := s.db.Opts()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if o.NumLevelZeroTables != c.want || o.NumLevelZeroTablesStall != c.stall {
			t.Errorf("LevelZeroTables %d: Badger's %d, stall %d; want %d, %d", c.set, o.NumLevelZeroTables, o.NumLevelZeroTablesStall, c.want, c.stall)
		}
	}
}

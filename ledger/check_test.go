package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// writeCheckStore fills two ledgers over a few heights and closes the store,
// which flushes its memtable to a table file.
func writeCheckStore(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	return writeCheckStoreWith(t, dir, Options{IAVLCacheSize: 1000})
}

func writeCheckStoreWith(t *testing.T, dir string, opts Options) map[string]map[string]string {
	t.Helper()
	s, err := Open(dir, opts)
	must(t, err)
	want := map[string]map[string]string{"alpha": {}, "beta": {}}
	for _, name := range []string{"alpha", "beta"} {
		must(t, s.CreateLedger(name))
	}
	for h := 0; h < 3; h++ {
		for name, kv := range want {
			for i := range checkStoreKeys {
				k := checkStoreKey(i)
				v := checkStoreValue(name, h, i)
				must(t, s.Set(name, []byte(k), []byte(v)))
				kv[k] = v
			}
		}
		mustCommit(t, s)
	}
	must(t, s.Close())
	return want
}

func tableFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	must(t, err)
	if len(files) == 0 {
		t.Fatalf("no table file in %s", dir)
	}
	return files
}

func TestCheckCleanStore(t *testing.T) {
	dir := t.TempDir()
	writeCheckStore(t, dir)
	r, err := CheckData(dir)
	must(t, err)
	if !r.OK() || r.Height != 3 || len(r.Ledgers) != 2 || r.Flat != "ok" || r.FlatKeys != 6000 {
		t.Fatalf("clean store: %+v", r)
	}
	for _, l := range r.Ledgers {
		if l.Keys != 3000 {
			t.Errorf("ledger %s: %d keys read, want 3000", l.Name, l.Keys)
		}
	}
	s := openDir(t, dir)
	defer s.Close()
	r, err = s.Check()
	must(t, err)
	if !r.OK() {
		t.Fatalf("Store.Check of a clean store: %+v", r)
	}
}

// TestCheckFlatIndex: the check compares the flat index with the trees,
// key by key, and names the first difference: a wrong value, a missing
// record, a record the trees do not hold, records of a ledger the commit
// record does not name. An index that describes no height is "none", not
// damage (the node rebuilds it at its next start).
func TestCheckFlatIndex(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(s *Store) error
		want   string // "" : OK
	}{
		{"untouched", func(*Store) error { return nil }, ""},
		{"a wrong value", func(s *Store) error {
			return s.writeBatch([]AsidePair{{Key: flatKey("alpha", []byte("key-00042")), Value: []byte("forged")}}, nil)
		}, "ledger alpha: key 6b65792d3030303432 holds"},
		{"a missing record", func(s *Store) error { return s.writeBatch(nil, [][]byte{flatKey("beta", []byte("key-02999"))}) }, "ledger beta: key 6b65792d3032393939 is not in it"},
		{"a record the tree does not hold", func(s *Store) error {
			return s.writeBatch([]AsidePair{{Key: flatKey("alpha", []byte("key-00042a")), Value: []byte("x")}}, nil)
		}, "which the tree does not"},
		{"a ledger the commit record does not name", func(s *Store) error {
			return s.writeBatch([]AsidePair{{Key: flatKey("gamma", []byte("k")), Value: []byte("x")}}, nil)
		}, "records of a sub-ledger the commit record does not name"},
		{"no marker", func(s *Store) error { return s.writeBatch(nil, [][]byte{flatMarkerKey}) }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCheckStore(t, dir)
			s := openDir(t, dir)
			must(t, c.tamper(s))
			must(t, s.Close())
			r, err := CheckData(dir)
			must(t, err)
			if c.want == "" {
				want := "ok"
				if c.name == "no marker" {
					want = "none"
				}
				if !r.OK() || r.Flat != want {
					t.Fatalf("flat %q, ok %v, want %q", r.Flat, r.OK(), want)
				}
				return
			}
			if r.OK() || !r.FlatDiffers || !strings.Contains(r.Flat, c.want) {
				t.Fatalf("flat %q (ok %v), want a difference naming %q", r.Flat, r.OK(), c.want)
			}
			var d ErrDataDamaged
			if err := r.Err(dir); !errors.As(err, &d) || !strings.Contains(err.Error(), "ledger.flat_index = false") {
				t.Fatalf("report error %v", err)
			}
			for _, l := range r.Ledgers {
				if l.Problem != "" {
					t.Errorf("the trees are fine, ledger %s: %s", l.Name, l.Problem)
				}
			}
		})
	}
}

func TestCheckRefusesWhileOpen(t *testing.T) {
	dir := t.TempDir()
	writeCheckStore(t, dir)
	s := openDir(t, dir)
	defer s.Close()
	if _, err := CheckData(dir); err == nil || !strings.Contains(err.Error(), "stop the node") {
		t.Fatalf("CheckData of an open store: %v", err)
	}
}

// TestFlippedTableBytesDetected flips one byte in the middle of every table
// file (the data blocks) and requires the damage to be reported as
// ErrDataDamaged, by Open or by a read or by the check, and never a wrong value.
func TestFlippedTableBytesDetected(t *testing.T) {
	for _, where := range []float64{0.25, 0.5} {
		t.Run(fmt.Sprint(where), func(t *testing.T) {
			dir := t.TempDir()
			writeCheckStore(t, dir)
			for _, f := range tableFiles(t, dir) {
				flipByte(t, f, where)
			}
			requireDamageReported(t, dir, Options{IAVLCacheSize: 10}, "checksum")
		})
	}
}

// flipByte flips the byte of file f at where (a fraction of its length).
func flipByte(t *testing.T, f string, where float64) {
	t.Helper()
	b, err := os.ReadFile(f)
	must(t, err)
	b[int(float64(len(b))*where)] ^= 0xff
	must(t, os.WriteFile(f, b, 0o600))
}

// requireDamageReported: the store writeCheckStore wrote in dir was
// damaged. CheckData must report it (naming what, and the operator's
// page), and a store opened with opts must answer every read, of the last
// height (Get) and of every height (Views: Get and Iterate), with the value
// written or ErrDataDamaged, never a wrong one; its Check must see the
// damage too. Open may refuse, with ErrDataDamaged.
func requireDamageReported(t *testing.T, dir string, opts Options, what string) {
	t.Helper()
	r, err := CheckData(dir)
	must(t, err)
	if r.OK() {
		t.Fatalf("CheckData did not see the damage: %+v", r)
	}
	var dd ErrDataDamaged
	if err := r.Err(dir); !errors.As(err, &dd) || !strings.Contains(err.Error(), what) ||
		!strings.Contains(err.Error(), "docs/operations.md") {
		t.Fatalf("report error %v: want ErrDataDamaged naming %q", err, what)
	}

	s, err := Open(dir, opts)
	if err != nil {
		if !errors.As(err, &dd) {
			t.Fatalf("Open of damaged store: %v is not ErrDataDamaged", err)
		}
		return
	}
	defer s.Close()
	// read checks one answer: the value written at height h, or damage.
	read := func(how string, h int64, name string, k, got []byte, err error) {
		t.Helper()
		if err != nil {
			if !errors.As(err, &dd) {
				t.Fatalf("%s %s/%s at %d: %v is not ErrDataDamaged", how, name, k, h, err)
			}
			return
		}
		if want := checkStoreValue(name, int(h)-1, keyNumber(t, k)); string(got) != want {
			t.Fatalf("%s %s/%s at %d: silently wrong value %q, want %q", how, name, k, h, got, want)
		}
	}
	const last = 3
	for _, name := range []string{"alpha", "beta"} {
		for i := range checkStoreKeys {
			k := []byte(checkStoreKey(i))
			got, err := s.Get(name, k)
			read("get", last, name, k, got, err)
		}
	}
	// Views (queries, old heights) report damage the same way.
	for h := int64(1); h <= last; h++ {
		v, err := s.View(h)
		if err != nil {
			if !errors.As(err, &dd) {
				t.Fatalf("view at %d: %v is not ErrDataDamaged", h, err)
			}
			continue
		}
		for _, name := range []string{"alpha", "beta"} {
			err := v.Iterate(name, nil, nil, func(k, val []byte) bool {
				read("iterate", h, name, k, val, nil)
				return true
			})
			if err != nil && !errors.As(err, &dd) {
				t.Fatalf("iterate %s at %d: %v is not ErrDataDamaged", name, h, err)
			}
			for i := range checkStoreKeys {
				k := []byte(checkStoreKey(i))
				got, err := v.Get(name, k)
				read("view get", h, name, k, got, err)
			}
		}
	}
	r, err = s.Check()
	must(t, err)
	if r.OK() {
		t.Fatal("Store.Check did not see the damage")
	}
}

func TestMissingTableIsDamage(t *testing.T) {
	dir := t.TempDir()
	writeCheckStore(t, dir)
	for _, f := range tableFiles(t, dir) {
		must(t, os.Remove(f))
	}
	var dd ErrDataDamaged
	if _, err := CheckData(dir); !errors.As(err, &dd) {
		t.Fatalf("CheckData without its table: %v", err)
	}
	_, err := Open(dir, Options{})
	if !errors.As(err, &dd) || !strings.Contains(err.Error(), "restore") {
		t.Fatalf("Open without its table: %v", err)
	}
}

func TestCorruptManifestIsDamage(t *testing.T) {
	dir := t.TempDir()
	writeCheckStore(t, dir)
	f := filepath.Join(dir, "MANIFEST")
	b, err := os.ReadFile(f)
	must(t, err)
	b[len(b)/2] ^= 0xff
	must(t, os.WriteFile(f, b, 0o600))
	_, err = Open(dir, Options{})
	var dd ErrDataDamaged
	if !errors.As(err, &dd) {
		t.Fatalf("Open with a damaged MANIFEST: %v", err)
	}
}

// A leaf whose value changed on disk, under a root that did not, is found
// by the rehash: the check recomputes every node's hash from the exported
// keys and values, where the stored root alone still matches the record.
func TestCheckRehashFindsAChangedValue(t *testing.T) {
	dir := t.TempDir()
	writeCheckStore(t, dir)
	db, err := badger.Open(badgerOptions(dir, Options{}))
	must(t, err)
	old := []byte("alpha-value-2-1234-")
	changed := 0
	err = db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		var keys, vals [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.HasPrefix(k, flatKeyPrefix) {
				continue // the flat index's copy: the trees are checked here
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if bytes.Contains(v, old) {
				keys, vals = append(keys, k), append(vals, bytes.ReplaceAll(v, old, []byte("alpha-VALUE-2-1234-")))
			}
		}
		for i := range keys {
			if err := txn.Set(keys[i], vals[i]); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	must(t, err)
	must(t, db.Close())
	if changed != 1 {
		t.Fatalf("%d nodes hold %q, want the one leaf", changed, old)
	}
	r, err := CheckData(dir)
	must(t, err)
	var alpha *LedgerCheck
	for i := range r.Ledgers {
		if r.Ledgers[i].Name == "alpha" {
			alpha = &r.Ledgers[i]
		}
	}
	if r.OK() || alpha == nil || !strings.Contains(alpha.Problem, "nodes hash to") {
		t.Fatalf("a changed leaf value: %+v", r)
	}
	for _, l := range r.Ledgers {
		if l.Name != "alpha" && l.Problem != "" {
			t.Errorf("ledger %s: %s", l.Name, l.Problem)
		}
	}
}

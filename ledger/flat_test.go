package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// flatRecords returns the flat index's records as ledger → key → value.
func flatRecords(s *Store) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = flatKeyPrefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(flatKeyPrefix); it.ValidForPrefix(flatKeyPrefix); it.Next() {
			rest := string(it.Item().Key()[len(flatKeyPrefix):])
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				return fmt.Errorf("malformed flat key %q", it.Item().Key())
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if out[rest[:i]] == nil {
				out[rest[:i]] = map[string]string{}
			}
			out[rest[:i]][rest[i+1:]] = string(v)
		}
		return nil
	})
	return out, err
}

// flatMismatch says how the flat index differs from the trees at the last
// commit (nil when it is valid and holds exactly the trees' keys), or, for
// a store with the index off, whether any of it is left.
func flatMismatch(s *Store) error {
	last := s.LastCommit()
	got, err := flatRecords(s)
	if err != nil {
		return err
	}
	marker, err := s.readFlatMarker()
	if err != nil {
		return err
	}
	if s.opts.NoFlatIndex {
		if len(got) != 0 || marker != 0 || s.flatHeight.Load() != -1 {
			return fmt.Errorf("index off, yet %d ledgers in it, marker %d, flatHeight %d", len(got), marker, s.flatHeight.Load())
		}
		return nil
	}
	if h := s.flatHeight.Load(); h != last.Height {
		return fmt.Errorf("flatHeight %d, last commit %d", h, last.Height)
	}
	if last.Height > 0 && marker != last.Height {
		return fmt.Errorf("marker %d, last commit %d", marker, last.Height)
	}
	v, err := s.View(0)
	if err != nil {
		return err
	}
	want := map[string]map[string]string{}
	for _, l := range v.Ledgers() {
		err := v.Iterate(l, nil, nil, func(k, val []byte) bool {
			if want[l] == nil {
				want[l] = map[string]string{}
			}
			want[l][string(k)] = string(val)
			return true
		})
		if err != nil {
			return err
		}
	}
	if !maps.EqualFunc(got, want, maps.Equal) {
		return fmt.Errorf("flat index at height %d = %v, trees %v", last.Height, got, want)
	}
	return nil
}

func checkFlat(t testing.TB, s *Store) {
	t.Helper()
	if err := flatMismatch(s); err != nil {
		t.Fatal(err)
	}
}

func TestFlatIndexFollowsCommits(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("a"))
	must(t, s.Set("a", []byte("k1"), []byte("v1")))
	must(t, s.Set("a", []byte("empty"), []byte{}))
	must(t, s.Set("a", []byte("gone"), []byte("x")))
	mustCommit(t, s)
	checkFlat(t, s)

	must(t, s.CreateLedger("b"))
	must(t, s.Set("b", []byte("k"), []byte("b1")))
	must(t, s.Delete("a", []byte("gone")))
	must(t, s.Set("a", []byte("k1"), []byte("v2")))
	long := bytes.Repeat([]byte("L"), flatMaxKeyLen+1)
	must(t, s.Set("a", long, []byte("long")))
	mustCommit(t, s)
	checkFlatAllButLong := func() {
		t.Helper()
		recs, err := flatRecords(s)
		must(t, err)
		if _, ok := recs["a"][string(long)]; ok {
			t.Fatal("a key longer than flatMaxKeyLen is in the index")
		}
		want := map[string]map[string]string{"a": {"k1": "v2", "empty": ""}, "b": {"k": "b1"}}
		if !maps.EqualFunc(recs, want, maps.Equal) {
			t.Fatalf("flat index = %v, want %v", recs, want)
		}
	}
	checkFlatAllButLong()

	// Reads answered by the index: the latest cache is bypassed by asking
	// flatGet itself, and through Get and a View.
	v, err := s.View(0)
	must(t, err)
	for _, tc := range []struct {
		ledger, key string
		want        []byte
	}{
		{"a", "k1", []byte("v2")},
		{"a", "empty", []byte{}},
		{"a", "gone", nil},
		{"a", "never", nil},
		{"b", "k", []byte("b1")},
		{"a", string(long), []byte("long")},
	} {
		for name, get := range map[string]func(string, []byte) ([]byte, error){"store": s.Get, "view": v.Get} {
			got, err := get(tc.ledger, []byte(tc.key))
			must(t, err)
			if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("%s Get %s/%.10s = %q, want %q", name, tc.ledger, tc.key, got, tc.want)
			}
		}
		got, ok, err := s.flatGet(2, tc.ledger, []byte(tc.key))
		must(t, err)
		if wantOK := len(tc.key) <= flatMaxKeyLen; ok != wantOK || ok && (!bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil)) {
			t.Errorf("flatGet %s/%.10s = %q, %v; want %q, %v", tc.ledger, tc.key, got, ok, tc.want, wantOK)
		}
	}
	if _, ok, _ := s.flatGet(1, "a", []byte("k1")); ok {
		t.Error("the flat index answered for a height it does not describe")
	}

	// Rollback leaves it alone; so does an empty block.
	must(t, s.Set("a", []byte("k1"), []byte("rolled back")))
	must(t, s.CreateLedger("c"))
	must(t, s.Set("c", []byte("k"), []byte("c")))
	s.Rollback()
	mustCommit(t, s)
	checkFlatAllButLong()
	if h := s.flatHeight.Load(); h != 3 {
		t.Fatalf("flatHeight after an empty block = %d", h)
	}
}

// TestFlatIndexRebuiltAtOpen: Open rebuilds the index when its marker is
// not the committed height, and removes it when the index is turned off.
func TestFlatIndexRebuiltAtOpen(t *testing.T) {
	fill := func(t *testing.T, s *Store, from, to int) {
		for h := from; h < to; h++ {
			if !s.HasLedger("a") {
				must(t, s.CreateLedger("a"))
				must(t, s.CreateLedger("b"))
			}
			for i := 0; i < 40; i++ {
				must(t, s.Set("a", fmt.Appendf(nil, "k%02d", (i*7+h)%50), fmt.Appendf(nil, "%d@%d", i, h)))
			}
			must(t, s.Delete("a", fmt.Appendf(nil, "k%02d", h%50)))
			must(t, s.Set("b", fmt.Appendf(nil, "h%d", h), []byte{}))
			mustCommit(t, s)
		}
	}
	reopen := func(t *testing.T, s *Store, dir string, opts Options) *Store {
		t.Helper()
		must(t, s.Close())
		s, err := Open(dir, opts)
		must(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	setMarker := func(t *testing.T, s *Store, h int64) {
		must(t, s.db.Update(func(txn *badger.Txn) error {
			return txn.Set(flatMarkerKey, binary.BigEndian.AppendUint64(nil, uint64(h)))
		}))
	}
	tests := []struct {
		name string
		// damage runs on an open store with the index at height 5.
		damage func(t *testing.T, s *Store)
	}{
		{"marker of an earlier height, stale records", func(t *testing.T, s *Store) {
			must(t, s.writeBatch([]AsidePair{{Key: flatKey("a", []byte("stale")), Value: []byte("x")}}, [][]byte{flatKey("a", []byte("k10"))}))
			setMarker(t, s, 4)
		}},
		{"no marker (a crash while Commit wrote the index)", func(t *testing.T, s *Store) {
			must(t, s.writeBatch([]AsidePair{{Key: flatKey("b", []byte("h9")), Value: []byte("from block 6")}}, [][]byte{flatMarkerKey}))
		}},
		{"marker of a later height", func(t *testing.T, s *Store) { setMarker(t, s, 6) }},
		{"a database from before the index", func(t *testing.T, s *Store) {
			s = reopen(t, s, s.dir, Options{NoFlatIndex: true})
			checkFlat(t, s)
			fill(t, s, 5, 8) // commits without the index
			must(t, s.Close())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			fill(t, s, 0, 5)
			checkFlat(t, s)
			s = reopen(t, s, dir, Options{IAVLCacheSize: 1000})
			if r := s.FlatRebuilt(); r.Keys != 0 {
				t.Fatalf("a valid index was rebuilt at open: %+v", r)
			}
			tc.damage(t, s)
			s = reopen(t, s, dir, Options{IAVLCacheSize: 1000})
			checkFlat(t, s)
			if r := s.FlatRebuilt(); r.Keys == 0 || r.Height != s.LastHeight() {
				t.Fatalf("the rebuild at open is not reported: %+v at height %d", r, s.LastHeight())
			}
			// And it follows commits again.
			fill(t, s, 10, 12)
			checkFlat(t, s)
		})
	}
}

func TestFlatIndexAfterRestore(t *testing.T) {
	src, at4 := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 4, 1000)
	dst := openDir(t, t.TempDir())
	defer dst.Close()
	must(t, dst.Restore(snap.info, snap.source, at4.AppHash))
	checkFlat(t, dst)
	must(t, dst.Set("payments", []byte("acct/0007"), []byte("after restore")))
	mustCommit(t, dst)
	checkFlat(t, dst)
}

// TestFlatIndexReadAcrossCommit: a View's read that checked the index's
// height and then reads while a Commit rewrites the index falls back to the
// tree instead of returning the next height's value.
func TestFlatIndexReadAcrossCommit(t *testing.T) {
	for _, key := range []string{"k", "gone"} {
		s, err := Open("", Options{InMemory: true, IAVLCacheSize: 1000, LatestCacheSize: 1})
		must(t, err)
		defer s.Close()
		must(t, s.CreateLedger("a"))
		must(t, s.Set("a", []byte("k"), []byte("1")))
		must(t, s.Set("a", []byte("gone"), []byte("1")))
		mustCommit(t, s)
		v, err := s.View(0)
		must(t, err)
		for _, other := range []string{"o1", "o2", "o3"} { // pushes key out of the latest cache
			_, err := v.Get("a", []byte(other))
			must(t, err)
		}
		ran := false
		s.testHookFlatRead = func() {
			s.testHookFlatRead, ran = nil, true
			must(t, s.Set("a", []byte("k"), []byte("2")))
			must(t, s.Delete("a", []byte("gone")))
			mustCommit(t, s)
		}
		got, err := v.Get("a", []byte(key))
		if err != nil || string(got) != "1" {
			t.Fatalf("View(1) read %s = %q, %v while height %d was committed", key, got, err, s.LastHeight())
		}
		if !ran {
			t.Fatalf("the read of %s did not reach the flat index", key)
		}
	}
}

// TestFlatIndexViewsDuringCommit reads the latest View while blocks commit:
// every value must be the one of the View's height, never of the block
// being written to the index.
func TestFlatIndexViewsDuringCommit(t *testing.T) {
	s, err := Open("", Options{InMemory: true, IAVLCacheSize: 1000, LatestCacheSize: 1})
	must(t, err)
	defer s.Close()
	must(t, s.CreateLedger("a"))
	const keys = 200
	block := func(h int) {
		for i := 0; i < keys; i++ {
			must(t, s.Set("a", fmt.Appendf(nil, "k%03d", i), fmt.Appendf(nil, "%d", h)))
		}
		mustCommit(t, s)
	}
	block(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := s.View(0)
				if err != nil {
					errs <- err
					return
				}
				for range 50 {
					got, err := v.Get("a", fmt.Appendf(nil, "k%03d", rng.IntN(keys)))
					if err != nil || string(got) != fmt.Sprint(v.Height()) {
						errs <- fmt.Errorf("View(%d) read %q, %v", v.Height(), got, err)
						return
					}
				}
			}
		}()
	}
	for h := 2; h <= 150; h++ {
		block(h)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

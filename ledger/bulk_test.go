package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// bulkGenesis is a genesis as the app writes one: a few ordinary writes,
// then a bulk load of n keys over two ledgers (one key also written
// before it, which the bulk load must update in the working tree), then
// the first block's writes over them.
type bulkGenesis struct {
	n       int
	shuffle uint64 // order of the bulk writes (0: in order)
}

func (g bulkGenesis) bulkKey(i int) (string, []byte, []byte) {
	l := "alpha"
	if i%3 == 0 {
		l = "beta"
	}
	return l, fmt.Appendf(nil, "acct/%06d", i*7919%1_000_003), fmt.Appendf(nil, "v%d", i)
}

// apply writes the genesis and the first block to s, with the bulk load
// when bulk; model gets the state it must leave.
func (g bulkGenesis) apply(t testing.TB, s *Store, bulk bool, model map[string]map[string]string) {
	t.Helper()
	set := func(l string, k, v []byte) {
		must(t, s.Set(l, k, v))
		if model[l] == nil {
			model[l] = map[string]string{}
		}
		model[l][string(k)] = string(v)
	}
	for _, l := range []string{"alpha", "beta", "gamma"} {
		must(t, s.CreateLedger(l))
	}
	set("alpha", []byte("supply"), []byte("0"))
	set("gamma", []byte("param"), []byte("x"))
	order := make([]int, g.n)
	for i := range order {
		order[i] = i
	}
	if g.shuffle != 0 {
		rand.New(rand.NewPCG(g.shuffle, 1)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	write := func() error {
		for _, i := range order {
			l, k, v := g.bulkKey(i)
			// read before writing, as a balance is (a stale read of
			// "absent" must not outlive the bulk load)
			if got, err := s.Get(l, k); err != nil || got != nil {
				return fmt.Errorf("read %s/%s before writing it: %q %v", l, k, got, err)
			}
			set(l, k, v)
			// read back what was just written, and a running total
			if got, err := s.Get(l, k); err != nil || !bytes.Equal(got, v) {
				return fmt.Errorf("read back %s/%s: %q %v", l, k, got, err)
			}
			sup, err := s.Get("alpha", []byte("supply"))
			if err != nil {
				return err
			}
			set("alpha", []byte("supply"), fmt.Appendf(nil, "%s+", sup))
		}
		return nil
	}
	if bulk {
		must(t, s.BulkLoad(write))
	} else {
		must(t, write())
	}
	if bulk != s.BulkLoaded() && g.n > 0 {
		t.Fatalf("BulkLoaded %v after a genesis written with bulk %v", s.BulkLoaded(), bulk)
	}
	// the first block: overwrite a bulk key, delete one, add one
	if g.n > 2 {
		l, k, _ := g.bulkKey(1)
		set(l, k, []byte("changed at height 1"))
		l, k, _ = g.bulkKey(2)
		must(t, s.Delete(l, k))
		delete(model[l], string(k))
	}
	set("beta", []byte("acct/new"), []byte{})
}

func checkState(t testing.TB, what string, kv interface {
	Get(string, []byte) ([]byte, error)
	Iterate(string, []byte, []byte, func(k, v []byte) bool) error
}, model map[string]map[string]string) {
	t.Helper()
	for l, m := range model {
		if got := dump(t, kv, l); !maps.Equal(got, m) {
			t.Fatalf("%s: ledger %s iterates to %d keys, want %d", what, l, len(got), len(m))
		}
		for k, v := range m {
			got, err := kv.Get(l, []byte(k))
			if err != nil || got == nil || string(got) != v {
				t.Fatalf("%s: get %s/%s = %q, %v; want %q", what, l, k, got, err, v)
			}
		}
		// a range starting and ending inside the ledger
		var keys int
		must(t, kv.Iterate(l, []byte("acct/1"), []byte("acct/5"), func(k, _ []byte) bool { keys++; return true }))
		want := 0
		for k := range m {
			if k >= "acct/1" && k < "acct/5" {
				want++
			}
		}
		if keys != want {
			t.Fatalf("%s: ledger %s has %d keys in [acct/1, acct/5), want %d", what, l, keys, want)
		}
	}
	if got, err := kv.Get("alpha", []byte("acct/none")); err != nil || got != nil {
		t.Fatalf("%s: absent key reads %q, %v", what, got, err)
	}
}

// TestBulkLoad: a genesis written through a bulk load reads, iterates,
// hashes and commits as the same writes through the working trees; the
// app hash is a function of the state alone (the order of the writes does
// not change it); the committed store passes the data check, its flat
// index holds every key, it reopens, prunes, snapshots and restores, and
// later heights change it as any.
func TestBulkLoad(t *testing.T) {
	defer func(n int) { bulkIterChunk = n }(bulkIterChunk)
	bulkIterChunk = 7 // iterations move through many Badger transactions
	for _, c := range []struct {
		name string
		g    bulkGenesis
	}{
		{"one key", bulkGenesis{n: 1}},
		{"a few keys", bulkGenesis{n: 5}},
		{"more than a buffer and an iterate batch", bulkGenesis{n: 3000}},
		{"shuffled", bulkGenesis{n: 3000, shuffle: 7}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref, bulk := openMem(t), openDir(t, t.TempDir())
			defer bulk.Close()
			refModel, model := map[string]map[string]string{}, map[string]map[string]string{}
			c.g.apply(t, ref, false, refModel)
			c.g.apply(t, bulk, true, model)
			if !maps.EqualFunc(refModel, model, maps.Equal) {
				t.Fatal("the two paths' models differ")
			}
			checkState(t, "working set of the bulk load", bulk, model)
			checkState(t, "working set of the working trees", ref, model)

			ci := mustCommit(t, bulk)
			if bulk.BulkLoaded() {
				t.Fatal("still BulkLoaded after the first commit")
			}
			mustCommit(t, ref)
			checkState(t, "after the first commit", bulk, model)
			v, err := bulk.View(1)
			must(t, err)
			checkState(t, "view of height 1", v, model)
			checkFlat(t, bulk)
			r, err := bulk.Check()
			must(t, err)
			if !r.OK() {
				t.Fatalf("check-data after a bulk load: %+v", r)
			}

			// the same writes in another order: the same hash
			other := openMem(t)
			c.g.shuffle += 99
			c.g.apply(t, other, true, map[string]map[string]string{})
			c.g.shuffle -= 99
			if oci := mustCommit(t, other); !bytes.Equal(oci.AppHash, ci.AppHash) {
				t.Fatalf("the same genesis written in another order: app hash %X, want %X", oci.AppHash, ci.AppHash)
			}

			// later heights
			l, k, _ := c.g.bulkKey(0)
			must(t, bulk.Set(l, k, []byte("height 2")))
			model[l][string(k)] = "height 2"
			mustCommit(t, bulk)
			must(t, bulk.Set("gamma", []byte("param"), []byte("y")))
			model["gamma"]["param"] = "y"
			last := mustCommit(t, bulk)
			_, err = bulk.PruneTo(2)
			must(t, err)
			checkFlat(t, bulk)

			dir := bulk.dir
			must(t, bulk.Close())
			bulk = openDir(t, dir)
			if got := bulk.LastCommit(); !bytes.Equal(got.AppHash, last.AppHash) || got.Height != 3 {
				t.Fatalf("reopened at %d %X, want 3 %X", got.Height, got.AppHash, last.AppHash)
			}
			checkState(t, "reopened", bulk, model)

			var chunks [][]byte
			info, err := bulk.Snapshot(3, func(_ int, c []byte) error { chunks = append(chunks, bytes.Clone(c)); return nil }, SnapshotOptions{ChunkSize: 4096})
			must(t, err)
			restored := openMem(t)
			must(t, restored.Restore(info, func(i int) ([]byte, error) { return chunks[i], nil }, last.AppHash))
			checkState(t, "restored from a snapshot", restored, model)
		})
	}
}

// TestBulkLoadCrashBeforeFirstCommit: a node that stops after its bulk
// load and before its first commit finished (at any point of it) reopens
// empty, with no bulk record or tree left, and the genesis written again
// gives the same state and hash as a run without the crash.
func TestBulkLoadCrashBeforeFirstCommit(t *testing.T) {
	g := bulkGenesis{n: 500}
	clean := openMem(t)
	g.apply(t, clean, true, map[string]map[string]string{})
	want := mustCommit(t, clean)

	for _, point := range []string{"", "tree alpha", "tree beta", "tree gamma", "flat index"} {
		t.Run("stop at "+point, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			g.apply(t, s, true, map[string]map[string]string{})
			if point != "" {
				s.testHookCommit = func(p string) error {
					if p == point {
						return errors.New("crash")
					}
					return nil
				}
				if _, err := s.Commit(); err == nil {
					t.Fatal("commit did not stop")
				}
			} else {
				_ = s.WorkingHash()
			}
			must(t, s.Close())

			s = openDir(t, dir)
			defer s.Close()
			if h := s.LastHeight(); h != 0 || len(s.Ledgers()) != 0 || s.BulkLoaded() {
				t.Fatalf("reopened at height %d with ledgers %v, bulk %v", h, s.Ledgers(), s.BulkLoaded())
			}
			recs, err := flatRecords(s)
			must(t, err)
			names, err := s.treeNamesOnDisk()
			must(t, err)
			if len(recs) != 0 || len(names) != 0 {
				t.Fatalf("left after the crash: bulk or flat records of %d ledgers, trees %v", len(recs), names)
			}
			model := map[string]map[string]string{}
			g.apply(t, s, true, model)
			if got := mustCommit(t, s); !bytes.Equal(got.AppHash, want.AppHash) {
				t.Fatalf("replayed genesis: app hash %X, want %X", got.AppHash, want.AppHash)
			}
			checkState(t, "replayed", s, model)
			checkFlat(t, s)
		})
	}
}

// TestBulkLoadRollbackAndRules: a rolled-back genesis leaves no bulk
// record; a bulk load runs only before the first commit, once at a time;
// a bulk ledger cannot be iterated during one; the flat index off, the
// bulk records go at the first commit.
func TestBulkLoadRollbackAndRules(t *testing.T) {
	s := openMem(t)
	must(t, s.CreateLedger("alpha"))
	err := s.BulkLoad(func() error {
		must(t, s.Set("alpha", []byte("k"), []byte("v")))
		if err := s.BulkLoad(func() error { return nil }); !errors.Is(err, ErrBulkLoad) {
			t.Fatalf("nested bulk load: %v", err)
		}
		if err := s.Iterate("alpha", nil, nil, func(_, _ []byte) bool { return true }); !errors.Is(err, ErrBulkLoad) {
			t.Fatalf("iterate during a bulk load: %v", err)
		}
		return errors.New("genesis refused")
	})
	if err == nil || err.Error() != "genesis refused" {
		t.Fatalf("BulkLoad returned %v, want fn's error", err)
	}
	s.Rollback()
	recs, err := flatRecords(s)
	must(t, err)
	if s.BulkLoaded() || len(recs) != 0 || len(s.Ledgers()) != 0 {
		t.Fatalf("after Rollback: bulk %v, records %v, ledgers %v", s.BulkLoaded(), recs, s.Ledgers())
	}
	must(t, s.CreateLedger("alpha"))
	mustCommit(t, s)
	if err := s.BulkLoad(func() error { return nil }); !errors.Is(err, ErrBulkLoad) {
		t.Fatalf("bulk load after the first commit: %v", err)
	}

	off, err := Open("", Options{InMemory: true, NoFlatIndex: true})
	must(t, err)
	defer off.Close()
	model := map[string]map[string]string{}
	bulkGenesis{n: 50}.apply(t, off, true, model)
	mustCommit(t, off)
	checkState(t, "flat index off", off, model)
	checkFlat(t, off)
}

// TestBulkLoadShapeIsPinned: the tree shape of a bulk ledger is part of
// the app hash of every chain whose genesis uses a bulk load, so a version
// that built another (balanced the other way round, another version
// number, the block's writes applied differently) would fork from nodes
// of this one.
func TestBulkLoadShapeIsPinned(t *testing.T) {
	s := openMem(t)
	bulkGenesis{n: 6}.apply(t, s, true, map[string]map[string]string{})
	const want = "071639EBCA41EAF8A3DEBF2147036A4E5078F69F61A1256DB8C7A24258A3921D"
	if got := fmt.Sprintf("%X", mustCommit(t, s).AppHash); got != want {
		t.Fatalf("app hash of the pinned bulk genesis %s, want %s", got, want)
	}
}

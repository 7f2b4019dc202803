package consensus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// fakeBlocks is a block store of heights base..top: random transfers
// among three organisations, a block in ten empty.
type fakeBlocks struct {
	base, top int64
	txs       map[int64][]*abci.TxResult
	reads     map[int64]int
	fail      int64 // BlockTxs of this height fails
}

var genesisTime = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)

// testMemos are the fake transfers' memos: one the prefix of others, with
// zero and one bytes (escaped in the memo keys), and none.
var testMemos = []string{"m", "m\x00", "m\x00\x01", "m\x01", "m\x01\x01", "INV-1", ""}

func newFakeBlocks(top int64, seed uint64) *fakeBlocks {
	f := &fakeBlocks{base: 1, txs: map[int64][]*abci.TxResult{}, reads: map[int64]int{}}
	f.grow(top, seed)
	return f
}

func (f *fakeBlocks) grow(top int64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(top)))
	orgs := []string{"bankA", "bankB", "bankC"}
	for h := f.top + 1; h <= top; h++ {
		n := rng.IntN(4)
		if rng.IntN(10) == 0 {
			n = 0
		}
		for i := range n {
			from, to := orgs[rng.IntN(3)], orgs[rng.IntN(3)]
			sender := fmt.Sprintf("%040x", rng.IntN(6))
			r := &abci.TxResult{Height: h, Index: uint32(i), Tx: []byte(fmt.Sprintf("tx %d/%d", h, i))}
			if rng.IntN(8) == 0 {
				r.Result.Code = 5 // failed: moves nothing
			} else {
				r.Result.Events = []abci.Event{
					wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: sender, To: fmt.Sprintf("%040x", 10+rng.IntN(6)),
						Amount: uint64(1 + rng.IntN(1000)), FromBalance: 5, ToBalance: 7, ToOrg: to, Memo: testMemos[rng.IntN(len(testMemos))]}),
					wire.Event(&txpb.EventJinlianTx{Id: fmt.Sprintf("%064x", h<<8|int64(i)), Ledger: "payments", Sender: sender, Org: from, Type: "transfer"}),
				}
			}
			f.txs[h] = append(f.txs[h], r)
		}
	}
	f.top = top
}

func (f *fakeBlocks) Stored() (int64, int64, error) { return f.base, f.top, nil }

func (f *fakeBlocks) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	if h < f.base || h > f.top || h == f.fail {
		return time.Time{}, nil, fmt.Errorf("no block at height %d", h)
	}
	f.reads[h]++
	return genesisTime.Add(time.Duration(h) * time.Second), f.txs[h], nil
}

// want is org's rows of heights from..to, decoded from the blocks.
func (f *fakeBlocks) want(t *testing.T, org string, from, to int64) []recon.Row {
	t.Helper()
	var out []recon.Row
	for h := from; h <= to; h++ {
		at, txs, err := f.BlockTxs(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range txs {
			mv, err := recon.TxMovements(r, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range mv {
				if m.Org == org {
					out = append(out, m.Row)
				}
			}
		}
	}
	return out
}

func orgRows(t *testing.T, m *movementIndex, org string, from, to int64) []recon.Row {
	t.Helper()
	var out []recon.Row
	if err := m.OrgRows(context.Background(), org, from, to, func(r recon.Row) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameRows(t *testing.T, what string, got, want []recon.Row) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w []byte
		if i < len(got) {
			g, _ = json.Marshal(got[i])
		}
		if i < len(want) {
			w, _ = json.Marshal(want[i])
		}
		if string(g) != string(w) {
			t.Fatalf("%s: %d rows from the index, %d from the blocks; row %d:\n%s\nwant\n%s", what, len(got), len(want), i, g, w)
		}
	}
}

// checkIndex compares every organisation's rows over the index's heights
// and over random ranges of them with the blocks'.
func checkIndex(t *testing.T, m *movementIndex, f *fakeBlocks, from, to int64) {
	t.Helper()
	if lo, hi := m.Indexed(); lo != from || hi != to {
		t.Fatalf("indexed %d-%d, want %d-%d", lo, hi, from, to)
	}
	rng := rand.New(rand.NewPCG(uint64(from), uint64(to)))
	for _, org := range []string{"bankA", "bankB", "bankC", "bankZ"} {
		sameRows(t, org+" whole", orgRows(t, m, org, from, to), f.want(t, org, from, to))
		for range 5 {
			a := from + rng.Int64N(to-from+1)
			b := a + rng.Int64N(to-a+1)
			sameRows(t, fmt.Sprintf("%s %d-%d", org, a, b), orgRows(t, m, org, a, b), f.want(t, org, a, b))
		}
	}
}

func openTestIndex(t *testing.T, db dbm.DB, f *fakeBlocks) *movementIndex {
	t.Helper()
	m, err := openMovementIndex(db, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMovementIndexFollowsTheBlocks: the index holds every organisation's
// movements as the blocks give them, catches up in batches, resumes where
// it stopped after a restart, reading no height twice.
func TestMovementIndexFollowsTheBlocks(t *testing.T) {
	db := dbm.NewMemDB()
	f := newFakeBlocks(3*movementBatchHeights+17, 1)
	m := openTestIndex(t, db, f)
	if lo, hi := m.Indexed(); lo != 0 || hi != 0 {
		t.Fatalf("a new index holds %d-%d", lo, hi)
	}
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, m, f, 1, f.top)

	// A restart: the index is read back and continues, reading only the
	// new heights, each once.
	f.grow(f.top+40, 2)
	m = openTestIndex(t, db, f)
	if _, hi := m.Indexed(); hi != f.top-40 {
		t.Fatalf("reopened at %d, want %d", hi, f.top-40)
	}
	if orgs := slices.Sorted(maps.Keys(m.orgs)); !slices.Equal(orgs, []string{"bankA", "bankB", "bankC"}) {
		t.Fatalf("reopened knowing the organisations %v", orgs)
	}
	clear(f.reads)
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	for h, n := range f.reads {
		if h <= f.top-40 || n != 1 {
			t.Fatalf("catching up read height %d %d times", h, n)
		}
	}
	if len(f.reads) != 40 {
		t.Fatalf("catching up read %d heights, want 40", len(f.reads))
	}
	checkIndex(t, m, f, 1, f.top)

	// A height that cannot be read stops the index before it, whole
	// batches only, and it goes on once the height can be read.
	f.grow(f.top+20, 3)
	f.fail = f.top - 5
	if err := m.catchUp(nil); err == nil {
		t.Fatal("no error for an unreadable height")
	}
	if _, hi := m.Indexed(); hi != f.top-20 {
		t.Fatalf("after a failed batch the index holds up to %d, want %d", hi, f.top-20)
	}
	f.fail = 0
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, m, f, 1, f.top)
}

// TestMovementIndexStartsAgain: a block store that no longer continues the
// index (pruned past it while the index was off, restored from a
// snapshot, rolled back) makes it index again from the store's base; a
// pruned store makes it drop the heights below the base.
func TestMovementIndexStartsAgain(t *testing.T) {
	cases := []struct {
		name string
		move func(f *fakeBlocks)
		from int64
	}{
		{"pruned past the index", func(f *fakeBlocks) { f.grow(f.top+50, 4); f.base = f.top - 10 }, 0},
		{"rolled back below it", func(f *fakeBlocks) { f.top -= 3 }, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := dbm.NewMemDB()
			f := newFakeBlocks(100, 5)
			m := openTestIndex(t, db, f)
			if err := m.catchUp(nil); err != nil {
				t.Fatal(err)
			}
			// The index is off while the store moves on.
			c.move(f)
			m = openTestIndex(t, db, f)
			if err := m.catchUp(nil); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, m, f, f.base, f.top)
			if n := len(orgRows(t, m, "bankA", 1, f.base-1)) + len(orgRows(t, m, "bankB", 1, f.base-1)); f.base > 1 && n != 0 {
				t.Fatalf("%d rows below the store's base %d", n, f.base)
			}
		})
	}
	t.Run("pruned while following", func(t *testing.T) {
		db := dbm.NewMemDB()
		f := newFakeBlocks(movementPruneStep+300, 6)
		m := openTestIndex(t, db, f)
		if err := m.catchUp(nil); err != nil {
			t.Fatal(err)
		}
		f.base = movementPruneStep / 2 // not far enough to prune
		if err := m.catchUp(nil); err != nil {
			t.Fatal(err)
		}
		if lo, _ := m.Indexed(); lo != 1 {
			t.Fatalf("pruned at base %d: index from %d", f.base, lo)
		}
		f.base = movementPruneStep + 1
		f.grow(f.top+5, 7)
		if err := m.catchUp(nil); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, m, f, f.base, f.top)
		for _, org := range []string{"bankA", "bankB", "bankC"} {
			it, err := db.Iterator(orgHeightKey(org, 0), orgHeightKey(org, f.base))
			if err != nil {
				t.Fatal(err)
			}
			if it.Valid() {
				t.Fatalf("%s keeps a row below the base: %x", org, it.Key())
			}
			it.Close()
		}
	})
}

// A row the index cannot decode fails the read, naming its key.
func TestMovementIndexRefusesAMalformedRow(t *testing.T) {
	db := dbm.NewMemDB()
	f := newFakeBlocks(20, 8)
	m := openTestIndex(t, db, f)
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Set(orgHeightKey("bankA", 3), []byte{9}); err != nil {
		t.Fatal(err)
	}
	err := m.OrgRows(context.Background(), "bankA", 1, 20, func(recon.Row) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "malformed indexed row") || !strings.Contains(err.Error(), fmt.Sprintf("%x", orgHeightKey("bankA", 3))) {
		t.Fatalf("error %v", err)
	}
	if err := db.Set(movToKey, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := openMovementIndex(db, f, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "malformed mto record") {
		t.Fatalf("open with a malformed record: %v", err)
	}
}

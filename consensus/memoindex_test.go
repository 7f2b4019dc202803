package consensus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/state/txindex/kv"

	"github.com/jinlian-ledger/jinlian/recon"
)

// wantMemo is what a search by memo must find in the blocks: every
// transaction with a transfer of that memo that org may read (every one
// for org ""), newest first.
func (f *fakeBlocks) wantMemo(t *testing.T, org, memo string) []string {
	t.Helper()
	var out []string
	for h := f.top; h >= f.base; h-- {
		_, txs, err := f.BlockTxs(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range slices.Backward(txs) {
			memos, parties, err := recon.TxMemos(r)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(memos, memo) && (org == "" || slices.Contains(parties, org)) {
				out = append(out, string(r.Tx))
			}
		}
	}
	return out
}

// checkMemos asks chain for every memo and organisation, whole and in
// pages, and compares with the blocks.
func checkMemos(t *testing.T, chain indexedChain, f *fakeBlocks) {
	t.Helper()
	ctx := context.Background()
	for _, org := range []string{"", "bankA", "bankB", "bankC", "bankZ"} {
		for _, memo := range append(slices.Clone(testMemos), "m\x02", "INV") {
			want := f.wantMemo(t, org, memo)
			if memo == "" && len(want) != 0 {
				t.Fatalf("an empty memo is searchable: %d", len(want))
			}
			for _, pg := range []struct{ skip, limit int }{{0, 1 << 20}, {0, 7}, {7, 7}, {len(want) - 3, 20}, {len(want), 5}, {len(want) + 40, 5}} {
				pg.skip = max(pg.skip, 0)
				page, total, ok, err := chain.MemoTxs(ctx, org, memo, pg.skip, pg.limit)
				if err != nil || !ok {
					t.Fatalf("%q of %q: ok %v, %v", memo, org, ok, err)
				}
				var got []string
				for _, r := range page {
					got = append(got, string(r.Tx))
				}
				end := min(pg.skip+pg.limit, len(want))
				if total != len(want) || !slices.Equal(got, want[min(pg.skip, end):end]) {
					t.Fatalf("%q of %q, %d after %d: %d of %d %q, want %d %q", memo, org, pg.limit, pg.skip, len(got), total, got, len(want), want[min(pg.skip, end):end])
				}
			}
		}
	}
}

// TestMemoIndexAnswersAsTheBlocks: the movement index's memo keys find, for
// every organisation and the regulator's "", exactly the transfers with a
// memo that the blocks hold, newest first, page by page: a memo that is
// the prefix of another, or holds zero bytes, finds only its own; the
// heights the index has not reached are read from the block store, up to
// recon.MaxTail of them, and past that the index says it cannot answer; the
// transactions come from the tx index, or from the block store where it
// has not indexed them; an index written before memo keys is indexed
// again when opened.
func TestMemoIndexAnswersAsTheBlocks(t *testing.T) {
	db := dbm.NewMemDB()
	f := newFakeBlocks(2*movementBatchHeights+9, 11)
	txIndex := kv.NewTxIndex(dbm.NewMemDB())
	for h := f.base; h <= f.top; h += 2 { // every other height: the others from the block store
		for _, r := range f.txs[h] {
			if err := txIndex.Index(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := openTestIndex(t, db, f)
	chain := indexedChain{chainSource{env: &rpccore.Environment{TxIndexer: txIndex}}, m}
	if _, _, ok, err := chain.MemoTxs(context.Background(), "", "INV-1", 0, 20); ok || err != nil {
		t.Fatalf("an empty index answered: %v %v", ok, err)
	}
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkMemos(t, chain, f)
	// The follower has written a batch and not yet said so (writeBatch
	// stores to after the write): the search reads those heights from the
	// block store, and not twice.
	m.to.Add(-3)
	checkMemos(t, chain, f)
	m.to.Add(3)

	// Blocks the index has not read yet: the search reads them.
	f.grow(f.top+recon.MaxTail, 12)
	checkMemos(t, chain, f)
	if _, to := m.Indexed(); to != f.top-recon.MaxTail {
		t.Fatalf("the index moved to %d", to)
	}
	f.grow(f.top+1, 13)
	if _, _, ok, err := chain.MemoTxs(context.Background(), "bankA", "INV-1", 0, 20); ok || err != nil {
		t.Fatalf("%d heights behind, the index answered: %v %v", recon.MaxTail+1, ok, err)
	}
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkMemos(t, chain, f)

	// A transaction the index names that neither the tx index nor the
	// block store holds is an error, not a silent gap.
	for h := int64(2); f.fail == 0; h += 2 { // a height the tx index lacks, with a memo m
		if slices.ContainsFunc(f.txs[h], func(r *abci.TxResult) bool { memos, _, _ := recon.TxMemos(r); return slices.Contains(memos, "m") }) {
			f.fail = h
		}
	}
	if _, _, _, err := chain.MemoTxs(context.Background(), "", "m", 0, 1<<20); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no block at height %d", f.fail)) {
		t.Fatalf("a missing transaction: %v", err)
	}
	f.fail = 0

	// An index of the format before memo keys (no mver record) is
	// indexed again on open.
	if err := db.Delete(movVerKey); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"E", "e"} { // what an older index lacks
		if err := m.deleteRange([]byte(k), []byte{k[0] + 1}); err != nil {
			t.Fatal(err)
		}
	}
	m = openTestIndex(t, db, f)
	if lo, hi := m.Indexed(); lo != 0 || hi != 0 {
		t.Fatalf("an older index kept %d-%d", lo, hi)
	}
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkMemos(t, indexedChain{chain.chainSource, m}, f)
	checkIndex(t, m, f, 1, f.top)
	if v, err := db.Get(movVerKey); err != nil || fmt.Sprint(v) != fmt.Sprint([]byte{movementIndexFormat}) {
		t.Fatalf("format record %v %v", v, err)
	}
}

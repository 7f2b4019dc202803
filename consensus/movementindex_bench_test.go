package consensus

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/pubsub/query"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BenchmarkStatementFromIndex: a statement of 100,000 movements (bankA's
// of 200 blocks of 500 transfers between two banks) built from a movement
// index on disk, as a node's API builds the first page of a busy day
// (docs/performance.md, Statements).
func BenchmarkStatementFromIndex(b *testing.B) {
	f := busyBlocks(200, 500)
	m, _ := indexOnDisk(b, f)
	followAll(b, m, f.top)
	c := indexChain{m}
	b.ResetTimer()
	for b.Loop() {
		st, err := recon.Build(context.Background(), c, time.UTC, recon.Request{Org: "bankA", Date: "2026-12-05"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(st.Rows)), "rows")
	}
}

// busyBlocks is a block store of heights 1..heights, each of perBlock
// transfers between two banks' accounts, with a memo per height.
func busyBlocks(heights int64, perBlock int) *fakeBlocks {
	f := &fakeBlocks{base: 1, txs: map[int64][]*abci.TxResult{}, reads: map[int64]int{}}
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := []string{"bankA", "bankB"}
	for h := int64(1); h <= heights; h++ {
		for i := range perBlock {
			from, to := orgs[rng.IntN(2)], orgs[rng.IntN(2)]
			sender := fmt.Sprintf("%040x", rng.IntN(6))
			r := &abci.TxResult{Height: h, Index: uint32(i), Tx: []byte(fmt.Sprintf("tx %d/%d", h, i))}
			r.Result.Events = []abci.Event{
				wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: sender, To: fmt.Sprintf("%040x", 10+rng.IntN(6)),
					Amount: uint64(1 + rng.IntN(1000)), FromBalance: 5, ToBalance: 7, ToOrg: to, Memo: fmt.Sprintf("m%d", h)}),
				wire.Event(&txpb.EventJinlianTx{Id: fmt.Sprintf("%064x", h<<12|int64(i)), Ledger: "payments", Sender: sender, Org: from, Type: "transfer"}),
			}
			f.txs[h] = append(f.txs[h], r)
		}
	}
	f.top = heights
	return f
}

// BenchmarkMovementIndexFollow: what the movement index's follower spends
// a transfer on a validator that serves the API (ADR 0029): it decodes
// each transfer's events into rows and writes them, with the memo keys,
// into goleveldb on disk, in batches, as it follows blocks of 500
// transfers. Reading the blocks and results from CometBFT's stores is not
// included (the fake block store hands them over decoded).
//
//	go test ./consensus -run '^$' -bench MovementIndexFollow -benchtime 6x
func BenchmarkMovementIndexFollow(b *testing.B) {
	f := busyBlocks(200, 500)
	for b.Loop() {
		b.StopTimer()
		m, db := indexOnDisk(b, f)
		b.StartTimer()
		followAll(b, m, f.top)
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(f.top*500)/1e3, "µs/transfer")
}

// indexOnDisk opens a new movement index of f in goleveldb on disk, as a
// node keeps it.
func indexOnDisk(b *testing.B, f *fakeBlocks) (*movementIndex, dbm.DB) {
	db, err := dbm.NewGoLevelDB("movements", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m, err := openMovementIndex(db, f, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return m, db
}

// followAll catches m up to height top.
func followAll(b *testing.B, m *movementIndex, top int64) {
	for {
		if err := m.catchUp(nil); err != nil {
			b.Fatal(err)
		}
		if _, hi := m.Indexed(); hi == top {
			return
		}
	}
}

// indexChain is a chain of heights 1..200 whose movement index is m.
type indexChain struct{ *movementIndex }

func (indexChain) Heights() (int64, int64, error) { return 1, 200, nil }
func (indexChain) BlockTime(h int64) (time.Time, error) {
	return genesisTime.Add(time.Duration(h) * time.Second), nil
}
func (indexChain) SearchTxs(context.Context, string) ([]*abci.TxResult, error) { panic("search") }
func (indexChain) FirstTx(int64, int64, func(*abci.TxResult) bool) (*abci.TxResult, error) {
	panic("first")
}

// BenchmarkMemoSearch: a search by memo that one transfer in 263 carries
// (as the console's paint benchmark searches a million transfers), among
// JINLIAN_MEMO_TXS transfers (default 200,000) in blocks of 1,000: a
// twentieth paid to bankA under the shared memos, a twentieth sent by it
// with references of their own, the rest between bench accounts. It
// compares the first page of 20 read from the movement index's memo keys,
// as bankA (its 1 in 20 of the hits) and as a regulator (every hit), with
// CometBFT's kv tx index search for the memo, which reads every match
// before anything is paged (the API's path without a memo index, and a
// plain RPC's tx_search). Both databases are goleveldb on disk.
//
//	JINLIAN_MEMO_TXS=1000000 go test ./consensus -run '^$' -bench MemoSearch -benchtime 20x
func BenchmarkMemoSearch(b *testing.B) {
	n := 200_000
	if v := os.Getenv("JINLIAN_MEMO_TXS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("JINLIAN_MEMO_TXS=%q: want a number of transfers from 1000", v)
		}
	}
	const perBlock = 1000
	f := &fakeBlocks{base: 1, txs: map[int64][]*abci.TxResult{}, reads: map[int64]int{}}
	dir := b.TempDir()
	txDB, err := dbm.NewGoLevelDB("tx_index", dir)
	if err != nil {
		b.Fatal(err)
	}
	txIndex := kv.NewTxIndex(txDB)
	addr := func(i int) string { return fmt.Sprintf("%040x", i) }
	for i := range n {
		h, k := int64(1+i/perBlock), i/20
		from, fromOrg, to, toOrg, memo := addr(1+(i+k)%9), "bench", addr(1+(i/2+k)%9), "bench", fmt.Sprintf("batch-%03d", k%250)
		switch i % 20 {
		case 0:
			from, fromOrg, memo = addr(100), "bankA", fmt.Sprintf("INV-%07d", i)
		case 10:
			to, toOrg = addr(100), "bankA"
		}
		r := &abci.TxResult{Height: h, Index: uint32(len(f.txs[h])), Tx: []byte(fmt.Sprintf("tx %d", i))}
		r.Result.Events = []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: 1, FromBalance: 5, ToBalance: 7, ToOrg: toOrg, Memo: memo}),
			wire.Event(&txpb.EventJinlianTx{Id: fmt.Sprintf("%064x", i), Ledger: "payments", Sender: from, Org: fromOrg, Type: "transfer"}),
		}
		f.txs[h] = append(f.txs[h], r)
		f.top = h
	}
	for h := f.base; h <= f.top; h++ {
		batch := txindex.NewBatch(int64(len(f.txs[h])))
		for _, r := range f.txs[h] {
			if err := batch.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := txIndex.AddBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	db, err := dbm.NewGoLevelDB("movements", dir)
	if err != nil {
		b.Fatal(err)
	}
	m, err := openMovementIndex(db, f, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	for _, to := m.Indexed(); to < f.top; _, to = m.Indexed() {
		if err := m.catchUp(nil); err != nil {
			b.Fatal(err)
		}
	}
	chain := indexedChain{chainSource{env: &rpccore.Environment{TxIndexer: txIndex}}, m}
	ctx := context.Background()
	const memo = "batch-042"
	for _, org := range []string{"bankA", ""} {
		name := "memo index, " + cmp.Or(org, "regulator")
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				page, total, ok, err := chain.MemoTxs(ctx, org, memo, 0, 20)
				if err != nil || !ok || len(page) != 20 {
					b.Fatalf("%d of %d, %v %v", len(page), total, ok, err)
				}
				b.ReportMetric(float64(total), "hits")
			}
		})
	}
	q, err := query.New("transfer.memo = '" + memo + "'")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("tx index search", func(b *testing.B) {
		for b.Loop() {
			found, err := txIndex.Search(ctx, q)
			if err != nil || len(found) < 20 {
				b.Fatalf("%d found, %v", len(found), err)
			}
			b.ReportMetric(float64(len(found)), "hits")
		}
	})
}

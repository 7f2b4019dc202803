package consensus

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BenchmarkStatementFromIndex: a statement of 100,000 movements (bankA's
// of 200 blocks of 500 transfers between two banks) built from a movement
// index on disk, as a node's API builds the first page of a busy day
// (docs/performance.md, Statements).
func BenchmarkStatementFromIndex(b *testing.B) {
	f := &fakeBlocks{base: 1, txs: map[int64][]*abci.TxResult{}, reads: map[int64]int{}}
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := []string{"bankA", "bankB"}
	for h := int64(1); h <= 200; h++ {
		for i := range 500 {
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
	f.top = 200
	db, err := dbm.NewGoLevelDB("movements", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m, err := openMovementIndex(db, f, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	for {
		if err := m.catchUp(nil); err != nil {
			b.Fatal(err)
		}
		if _, hi := m.Indexed(); hi == 200 {
			break
		}
	}
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

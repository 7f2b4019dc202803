package console

import (
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/recon"
)

// rpcChain is a node's plain CometBFT RPC as package recon reads it for a
// statement: the console builds a statement itself when the node serves
// no API (a localnet's nodes, by default), from the same block headers and
// tx index the API's /v1/statement reads. A plain RPC has no read gate, so
// this widens nothing: whoever reaches it reads everything anyway.
type rpcChain struct {
	ctx context.Context
	c   rpcclient.Client
}

var _ recon.Chain = rpcChain{}

// Heights is the block store's base and its latest height but one:
// CometBFT indexes a block after committing it, so the latest may not be
// in the tx index yet.
func (r rpcChain) Heights() (int64, int64, error) {
	st, err := r.c.Status(r.ctx)
	if err != nil {
		return 0, 0, err
	}
	top := st.SyncInfo.LatestBlockHeight
	if top > 1 {
		top--
	}
	return max(st.SyncInfo.EarliestBlockHeight, 1), top, nil
}

func (r rpcChain) BlockTime(h int64) (time.Time, error) {
	res, err := r.c.Header(r.ctx, &h)
	if err != nil {
		return time.Time{}, fmt.Errorf("header %d: %w", h, err)
	}
	return res.Header.Time, nil
}

// rpcPage is CometBFT's largest tx_search page.
const rpcPage = 100

func (r rpcChain) SearchTxs(ctx context.Context, query string) ([]*abci.TxResult, error) {
	var out []*abci.TxResult
	for page := 1; ; page++ {
		p, per := page, rpcPage
		res, err := r.c.TxSearch(ctx, query, false, &p, &per, "asc")
		if err != nil {
			return nil, err
		}
		for _, t := range res.Txs {
			out = append(out, &abci.TxResult{Height: t.Height, Index: t.Index, Tx: t.Tx, Result: t.TxResult})
		}
		if len(res.Txs) < per || len(out) >= res.TotalCount {
			return out, nil
		}
	}
}

// FirstTx pages through the indexed transactions of the heights, lowest
// first, until match accepts one.
func (r rpcChain) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	q := fmt.Sprintf("tx.height >= %d AND tx.height <= %d", from, to)
	for page := 1; ; page++ {
		p, per := page, rpcPage
		res, err := r.c.TxSearch(r.ctx, q, false, &p, &per, "asc")
		if err != nil {
			return nil, err
		}
		for _, t := range res.Txs {
			tr := &abci.TxResult{Height: t.Height, Index: t.Index, Tx: t.Tx, Result: t.TxResult}
			if match(tr) {
				return tr, nil
			}
		}
		if len(res.Txs) < per || page*per >= res.TotalCount {
			return nil, nil
		}
	}
}

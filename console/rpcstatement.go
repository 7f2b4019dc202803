package console

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/api"
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

// heightRanged is a statement's search (recon's searchedRows): a height
// range, then the condition.
var heightRanged = regexp.MustCompile(`^tx\.height >= (\d+) AND tx\.height <= (\d+) AND (.+)$`)

// SearchTxs returns every match of query. CometBFT's tx_search reads every
// match of its query for each page it answers, so paging a query of T
// matches 100 at a time would read T²/100 results (a busy day's statement:
// hours). A statement's search, which names its heights, is asked in
// height ranges instead: a range whose matches fit in one page is asked
// once, a larger one is split in halves, so that each match is read about
// log₂(T/100) times; a single height with more than a page is paged.
func (r rpcChain) SearchTxs(ctx context.Context, query string) ([]*abci.TxResult, error) {
	var out []*abci.TxResult
	m := heightRanged.FindStringSubmatch(query)
	if m == nil {
		return out, r.pageAll(ctx, query, &out)
	}
	lo, err1 := strconv.ParseInt(m[1], 10, 64)
	hi, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil {
		return out, r.pageAll(ctx, query, &out)
	}
	return out, r.searchRange(ctx, lo, hi, m[3], &out)
}

// searchRange appends to out the matches of cond in heights lo..hi.
func (r rpcChain) searchRange(ctx context.Context, lo, hi int64, cond string, out *[]*abci.TxResult) error {
	if lo > hi {
		return nil
	}
	q := fmt.Sprintf("tx.height >= %d AND tx.height <= %d AND %s", lo, hi, cond)
	if lo == hi {
		return r.pageAll(ctx, q, out)
	}
	p, per := 1, rpcPage
	res, err := r.txSearch(ctx, q, &p, &per)
	if err != nil {
		return err
	}
	if res.TotalCount <= per && len(res.Txs) == res.TotalCount {
		appendResults(out, res.Txs)
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := r.searchRange(ctx, lo, mid, cond, out); err != nil {
		return err
	}
	return r.searchRange(ctx, mid+1, hi, cond, out)
}

// pageAll appends to out every match of query, a page at a time.
func (r rpcChain) pageAll(ctx context.Context, query string, out *[]*abci.TxResult) error {
	for page, got := 1, 0; ; page++ {
		p, per := page, rpcPage
		res, err := r.txSearch(ctx, query, &p, &per)
		if err != nil {
			return err
		}
		appendResults(out, res.Txs)
		if got += len(res.Txs); len(res.Txs) < per || got >= res.TotalCount {
			return nil
		}
	}
}

// errNoTxIndex says that the node asked keeps no tx index.
var errNoTxIndex = errors.New("this node keeps no tx index (a validator without the API keeps none: events.index = auto, ADR 0028); statements from a plain RPC need a node that keeps one (events.index = lean or full), or ask a node's API (https://HOST:PORT)")

// txSearch is one page of tx_search, in chain order; a node without a tx
// index is named as such.
func (r rpcChain) txSearch(ctx context.Context, q string, page, per *int) (*ctypes.ResultTxSearch, error) {
	res, err := r.c.TxSearch(ctx, q, false, page, per, "asc")
	if api.NoTxIndex(err) {
		return nil, fmt.Errorf("%w: %v", errNoTxIndex, err)
	}
	return res, err
}

func appendResults(out *[]*abci.TxResult, txs []*ctypes.ResultTx) {
	for _, t := range txs {
		*out = append(*out, &abci.TxResult{Height: t.Height, Index: t.Index, Tx: t.Tx, Result: t.TxResult})
	}
}

// FirstTx pages through the indexed transactions of the heights, lowest
// first, until match accepts one.
func (r rpcChain) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	q := fmt.Sprintf("tx.height >= %d AND tx.height <= %d", from, to)
	for page := 1; ; page++ {
		p, per := page, rpcPage
		res, err := r.txSearch(r.ctx, q, &p, &per)
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

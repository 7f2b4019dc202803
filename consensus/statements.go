package consensus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/pubsub/query"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/state/txindex/kv"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/recon"
)

// maxIndexLag is how far below the block store's height Statements looks
// for the highest indexed height before it reports the index as behind.
const maxIndexLag = 100

// Statements is the node's block store and kv tx index as package recon
// reads them for statements (GET /v1/statement on the node's API), with
// the movement index when the node keeps one (a recon.OrgIndex).
func (n *Node) Statements() recon.Chain {
	if n.movements != nil {
		return indexedChain{chainSource{env: n.env}, n.movements}
	}
	return chainSource{env: n.env}
}

type chainSource struct{ env *rpccore.Environment }

// indexedChain is a chainSource with the node's movement index, and the
// heights the index has not reached read from the blocks
// (recon.BlockTail). On a node without a kv tx index (events.index =
// none with the API, ADR 0028) it is the statements' only source.
type indexedChain struct {
	chainSource
	*movementIndex
}

var errNoTxIndex = errors.New(`this node keeps no kv tx index ([tx_index] indexer = "kv" in config.toml), so it cannot list movements`)

// kvIndexed reports whether the node keeps CometBFT's kv tx index.
func (c chainSource) kvIndexed() bool {
	_, ok := c.env.TxIndexer.(*kv.TxIndex)
	return ok
}

// Heights is the block store's base and, without a kv tx index, its
// highest height whose results are saved: the movement index and the
// blocks serve every height up to it.
func (c indexedChain) Heights() (int64, int64, error) {
	if c.kvIndexed() {
		return c.chainSource.Heights()
	}
	return c.blocks.Stored()
}

// BlockTxs implements recon.BlockTail.
func (c indexedChain) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	return c.blocks.BlockTxs(h)
}

// SearchTxs searches the kv tx index. Without one, a statement reaches it
// only for heights neither the movement index nor the blocks' tail serve
// (the index is catching up), and the answer says so.
func (c indexedChain) SearchTxs(ctx context.Context, q string) ([]*abci.TxResult, error) {
	if !c.kvIndexed() {
		return nil, c.catchingUp()
	}
	return c.chainSource.SearchTxs(ctx, q)
}

// FirstTx: see SearchTxs.
func (c indexedChain) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	if !c.kvIndexed() {
		return nil, c.catchingUp()
	}
	return c.chainSource.FirstTx(from, to, match)
}

func (c indexedChain) catchingUp() error {
	from, to := c.Indexed()
	_, top, err := c.blocks.Stored()
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: it holds heights %d..%d of %d (0..0: none yet), and this node keeps no tx index (events.index = none) to search the others in; ask again when it has caught up, or ask a node with a tx index", recon.ErrCatchingUp, from, to, top)
}

// Heights is the block store's base and the highest height that is also
// indexed: CometBFT indexes a block after committing it, asynchronously,
// so the index may trail the store by a block.
func (c chainSource) Heights() (int64, int64, error) {
	if !c.kvIndexed() {
		return 0, 0, errNoTxIndex
	}
	bs := c.env.BlockStore
	base, stored := bs.Base(), bs.Height()
	for top := stored; top >= max(base, 1); top-- {
		if stored-top > maxIndexLag {
			return 0, 0, fmt.Errorf("the tx index is more than %d heights behind the block store (height %d): is the node re-indexing?", maxIndexLag, stored)
		}
		ok, err := heightIndexed(c.env, top)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			return base, top, nil
		}
	}
	return base, 0, nil
}

func (c chainSource) BlockTime(h int64) (time.Time, error) {
	meta := c.env.BlockStore.LoadBlockMeta(h)
	if meta == nil {
		return time.Time{}, fmt.Errorf("no block header at height %d", h)
	}
	return meta.Header.Time, nil
}

// SearchTxs asks the kv indexer itself, in one call: the RPC's tx_search
// runs the whole search again for every page of at most 100.
func (c chainSource) SearchTxs(ctx context.Context, q string) ([]*abci.TxResult, error) {
	if !c.kvIndexed() {
		return nil, errNoTxIndex
	}
	parsed, err := query.New(q)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	return c.env.TxIndexer.Search(ctx, parsed)
}

// FirstTx walks the heights up from from, reading only the blocks that
// hold transactions, until match accepts an indexed one.
func (c chainSource) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	bs := c.env.BlockStore
	for h := from; h <= to; h++ {
		meta := bs.LoadBlockMeta(h)
		if meta == nil {
			return nil, fmt.Errorf("no block header at height %d", h)
		}
		if meta.NumTxs == 0 {
			continue
		}
		b := bs.LoadBlock(h)
		if b == nil {
			return nil, fmt.Errorf("no block at height %d", h)
		}
		for _, tx := range b.Txs {
			r, err := c.env.TxIndexer.Get(tx.Hash())
			if err != nil {
				return nil, fmt.Errorf("tx index at height %d: %w", h, err)
			}
			if r != nil && match(r) {
				return r, nil
			}
		}
	}
	return nil, nil
}

// Blocks is the node's block store and state store as the event feed
// (recon.ReadFeed, GET /v1/events) reads them: committed blocks and their
// saved FinalizeBlock results, not the tx index. Reads take only the
// stores' own short locks, never the consensus state's.
func (n *Node) Blocks() recon.Blocks { return &blockSource{env: n.env} }

type blockSource struct {
	env *rpccore.Environment
	// top is the highest height known to have its results saved, with
	// the results Stored read to learn it: a feed polling for new blocks
	// reads one pointer, not a block's results, while nothing commits,
	// and the follower and the feed, which read that height next, take
	// its results from here instead of decoding them again. A height's
	// saved results never change while the node runs.
	top atomic.Pointer[heightResults]
}

type heightResults struct {
	h    int64
	resp *abci.ResponseFinalizeBlock
}

// results is height h's saved results.
func (b *blockSource) results(h int64) (*abci.ResponseFinalizeBlock, error) {
	if t := b.top.Load(); t != nil && t.h == h {
		return t.resp, nil
	}
	return b.env.StateStore.LoadFinalizeBlockResponse(h)
}

// Stored is the block store's base and its highest height whose results
// are saved: consensus saves a block before the app finalizes it, so the
// newest block may not have results yet (the one below it has: consensus
// moves to a height only after applying the one before).
func (b *blockSource) Stored() (int64, int64, error) {
	bs := b.env.BlockStore
	base, top := bs.Base(), bs.Height()
	if t := b.top.Load(); t != nil && top <= t.h || top < max(base, 1) {
		return base, top, nil
	}
	resp, err := b.env.StateStore.LoadFinalizeBlockResponse(top)
	if err != nil {
		return base, top - 1, nil
	}
	b.top.Store(&heightResults{top, resp})
	return base, top, nil
}

func (b *blockSource) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	blk := b.env.BlockStore.LoadBlock(h)
	if blk == nil {
		return time.Time{}, nil, fmt.Errorf("no block at height %d", h)
	}
	if len(blk.Txs) == 0 {
		return blk.Time, nil, nil
	}
	resp, err := b.results(h)
	if err != nil {
		return time.Time{}, nil, resultsNotSaved(h, err)
	}
	if len(resp.TxResults) != len(blk.Txs) {
		return time.Time{}, nil, fmt.Errorf("height %d: %d results for %d transactions", h, len(resp.TxResults), len(blk.Txs))
	}
	txs := make([]*abci.TxResult, len(blk.Txs))
	for i, tx := range blk.Txs {
		txs[i] = &abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *resp.TxResults[i]}
	}
	return blk.Time, txs, nil
}

// TxResults reads height h's saved results without its block
// (recon.ResultsReader): an account's movements need only their events.
// Where they are not saved, only an empty block is no error, as in
// BlockTxs.
func (b *blockSource) TxResults(h int64) ([]*abci.TxResult, error) {
	resp, err := b.results(h)
	if err == nil {
		return recon.ResultsAt(h, resp.TxResults), nil
	}
	if meta := b.env.BlockStore.LoadBlockMeta(h); meta != nil && meta.NumTxs == 0 {
		return nil, nil
	}
	return nil, resultsNotSaved(h, err)
}

func resultsNotSaved(h int64, err error) error {
	return fmt.Errorf("results of height %d not saved (storage.discard_abci_responses = true keeps only the latest): %w", h, err)
}

// MemoTxs finds the committed transactions with a transfer whose memo is
// memo that org may read (recon.TxMemos; every one for org ""), newest
// first: the page of at most limit after the first skip, and how many
// there are. It reads one page of the movement index's memo keys, not
// every match as the tx index's search does, and the heights the index
// has not reached from the block store. ok is false when the index cannot
// answer: it holds nothing yet, or is more than recon.MaxTail heights
// behind.
func (c indexedChain) MemoTxs(ctx context.Context, org, memo string, skip, limit int) (page []*abci.TxResult, total int, ok bool, err error) {
	from, to := c.Indexed()
	if from == 0 {
		return nil, 0, false, nil
	}
	_, top, err := c.blocks.Stored()
	if err != nil {
		return nil, 0, false, err
	}
	if top-to > recon.MaxTail {
		return nil, 0, false, nil
	}
	keep := func(r *abci.TxResult) {
		if total >= skip && total < skip+limit {
			page = append(page, r)
		}
		total++
	}
	for h := top; h > to; h-- {
		_, txs, err := c.blocks.BlockTxs(h)
		if err != nil {
			return nil, 0, false, err
		}
		for _, r := range slices.Backward(txs) {
			memos, parties, err := recon.TxMemos(r)
			if err != nil {
				return nil, 0, false, err
			}
			if slices.Contains(memos, memo) && (org == "" || slices.Contains(parties, org)) {
				keep(r)
			}
		}
	}
	// Heights up to to only: what the follower writes meanwhile was read
	// above.
	prefix := memoPrefix(org, memo)
	it, err := c.db.ReverseIterator(prefix, binary.BigEndian.AppendUint64(slices.Clip(prefix), uint64(to+1)))
	if err != nil {
		return nil, 0, false, err
	}
	defer it.Close()
	type hit struct {
		h    int64
		tx   uint32
		hash []byte
	}
	var hits []hit
	for ; it.Valid(); it.Next() {
		if total%4096 == 0 && ctx.Err() != nil {
			return nil, 0, false, ctx.Err()
		}
		if total >= skip && total < skip+limit {
			k := it.Key()[len(prefix):]
			if len(k) != 12 {
				return nil, 0, false, fmt.Errorf("movement index: malformed memo key %x", it.Key())
			}
			hits = append(hits, hit{int64(binary.BigEndian.Uint64(k)), binary.BigEndian.Uint32(k[8:]), slices.Clone(it.Value())})
		}
		total++
	}
	if err := it.Error(); err != nil {
		return nil, 0, false, err
	}
	for _, x := range hits {
		r, err := c.txAt(x.h, x.tx, x.hash)
		if err != nil {
			return nil, 0, false, err
		}
		page = append(page, r)
	}
	return page, total, true, nil
}

// txAt reads transaction tx of height h, whose hash is hash: from the tx
// index, or, where CometBFT has not indexed it yet (it indexes after the
// commit, asynchronously) or keeps no kv index, from the block store.
func (c indexedChain) txAt(h int64, tx uint32, hash []byte) (*abci.TxResult, error) {
	if c.kvIndexed() {
		if r, err := c.env.TxIndexer.Get(hash); err != nil {
			return nil, fmt.Errorf("tx index: %w", err)
		} else if r != nil {
			return r, nil
		}
	}
	_, txs, err := c.blocks.BlockTxs(h)
	if err != nil {
		return nil, err
	}
	if int(tx) >= len(txs) || !bytes.Equal(cmttypes.Tx(txs[tx].Tx).Hash(), hash) {
		return nil, fmt.Errorf("movement index: no transaction %X at height %d position %d", hash, h, tx)
	}
	return txs[tx], nil
}

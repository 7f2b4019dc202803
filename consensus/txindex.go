package consensus

import (
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/cometbft/cometbft/types"
)

// IndexRepairWindow is how many of the latest heights StartNode checks in
// the kv tx and block index, re-indexing any height that is missing.
//
// CometBFT indexes a block after committing it, asynchronously (the
// IndexerService follows the event bus), and never again: a kill -9
// between the commit and the index write leaves the last height or two
// out of the index for good, although the block, its results and the app
// state have them. The indexer works through heights in order, so after
// an unclean stop the holes are at the top; the window also covers holes
// left by earlier versions that did not repair. Older holes are repaired by
// one start with index.repair_from set (docs/operations.md).
const IndexRepairWindow = 1000

// IndexRepair is what repairIndex did on start.
type IndexRepair struct {
	From, To int64   // the heights checked (0, 0: none)
	Heights  []int64 // the heights re-indexed
}

// repairIndex re-indexes, from the block store and the saved FinalizeBlock
// responses, every executed height from `from` (0: the last
// IndexRepairWindow heights) that the kv indexer lacks, the way
// `cometbft reindex-event` does offline. Indexing is idempotent, so racing
// the IndexerService on a new height is harmless.
func repairIndex(env *rpccore.Environment, from int64) (IndexRepair, error) {
	if _, ok := env.TxIndexer.(*kv.TxIndex); !ok {
		return IndexRepair{}, nil // null or psql
	}
	state, err := env.StateStore.Load()
	if err != nil {
		return IndexRepair{}, fmt.Errorf("repair tx index: load state: %w", err)
	}
	// Heights above the state's last block are not executed yet: their
	// results, and their indexing, are still to come.
	top := state.LastBlockHeight
	if from <= 0 {
		from = top - IndexRepairWindow + 1
	}
	from = max(from, env.BlockStore.Base(), 1)
	r := IndexRepair{From: from, To: top}
	if top < from {
		return IndexRepair{}, nil
	}
	for h := from; h <= top; h++ {
		ok, err := heightIndexed(env, h)
		if err != nil {
			return r, fmt.Errorf("repair tx index: check height %d: %w", h, err)
		}
		if ok {
			continue
		}
		if err := reindexHeight(env, h); err != nil {
			return r, err
		}
		r.Heights = append(r.Heights, h)
	}
	return r, nil
}

// heightIndexed reports whether height h is in the block index and its
// last transaction in the tx index. The IndexerService writes the block
// first, then all the block's transactions in one atomic batch, so the
// last transaction stands for all of them.
func heightIndexed(env *rpccore.Environment, h int64) (bool, error) {
	has, err := env.BlockIndexer.Has(h)
	if err != nil || !has {
		return false, err
	}
	meta := env.BlockStore.LoadBlockMeta(h)
	if meta == nil {
		return false, fmt.Errorf("no block meta at height %d", h)
	}
	if meta.NumTxs == 0 {
		return true, nil
	}
	b := env.BlockStore.LoadBlock(h)
	if b == nil || len(b.Txs) == 0 {
		return false, fmt.Errorf("no block at height %d", h)
	}
	r, err := env.TxIndexer.Get(b.Txs[len(b.Txs)-1].Hash())
	return r != nil && r.Height == h, err
}

func reindexHeight(env *rpccore.Environment, h int64) error {
	b := env.BlockStore.LoadBlock(h)
	if b == nil {
		return fmt.Errorf("reindex height %d: block not in the block store", h)
	}
	resp, err := env.StateStore.LoadFinalizeBlockResponse(h)
	if err != nil {
		return fmt.Errorf("reindex height %d: results not saved (storage.discard_abci_responses?): %w", h, err)
	}
	if len(resp.TxResults) != len(b.Txs) {
		return fmt.Errorf("reindex height %d: %d results for %d transactions", h, len(resp.TxResults), len(b.Txs))
	}
	if len(b.Txs) > 0 {
		batch := txindex.NewBatch(int64(len(b.Txs)))
		for i, tx := range b.Txs {
			if err := batch.Add(&abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *resp.TxResults[i]}); err != nil {
				return fmt.Errorf("reindex height %d: %w", h, err)
			}
		}
		if err := env.TxIndexer.AddBatch(batch); err != nil {
			return fmt.Errorf("reindex height %d: transactions: %w", h, err)
		}
	}
	// The block last, so that a crash here leaves the height still
	// missing (heightIndexed) and the next start repairs it again.
	if err := env.BlockIndexer.Index(types.EventDataNewBlockEvents{Height: h, Events: resp.Events, NumTxs: int64(len(b.Txs))}); err != nil {
		return fmt.Errorf("reindex height %d: block events: %w", h, err)
	}
	return nil
}

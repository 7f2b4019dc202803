package consensus

import (
	"context"
	"errors"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/state/txindex/null"

	"github.com/jinlian-ledger/jinlian/recon"
)

// TestStatementsWithoutTxIndex: a node that keeps no tx index (events.index
// = none with the API, ADR 0028) serves statements' heights up to its
// block store's last with saved results, finds memos from its movement
// index and blocks alone, and answers what it cannot serve (its movement
// index catching up) by naming why, never with the null indexer's empty
// search.
func TestStatementsWithoutTxIndex(t *testing.T) {
	f := newFakeBlocks(movementBatchHeights+40, 21)
	m := openTestIndex(t, dbm.NewMemDB(), f)
	chain := indexedChain{chainSource{env: &rpccore.Environment{TxIndexer: &null.TxIndex{}}}, m}
	var _ recon.BlockTail = chain
	if base, top, err := chain.Heights(); err != nil || base != f.base || top != f.top {
		t.Fatalf("heights %d-%d %v, want the block store's %d-%d", base, top, err, f.base, f.top)
	}
	if err := m.catchUp(nil); err != nil {
		t.Fatal(err)
	}
	checkMemos(t, chain, f)
	m.to.Add(-recon.MaxTail)
	checkMemos(t, chain, f)
	m.to.Add(recon.MaxTail)

	// What only a tx index could answer.
	f.grow(f.top+recon.MaxTail+1, 22)
	_, err := chain.SearchTxs(context.Background(), "jinlian_tx.org = 'bankA'")
	want := "holds heights 1..296 of 313"
	if !errors.Is(err, recon.ErrCatchingUp) || !strings.Contains(err.Error(), "keeps no tx index (events.index = none)") || !strings.Contains(err.Error(), want) {
		t.Fatalf("a search without a tx index: %v, want %q", err, want)
	}
	if _, err := chain.FirstTx(1, f.top, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("FirstTx without a tx index: %v", err)
	}
	if _, err := chain.chainSource.SearchTxs(context.Background(), "jinlian_tx.org = 'bankA'"); err != errNoTxIndex {
		t.Fatalf("the plain chain's search without a tx index: %v", err)
	}
}

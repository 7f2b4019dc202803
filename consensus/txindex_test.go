package consensus

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	"github.com/cometbft/cometbft/types"
)

// TestStartRepairsTxIndex commits transactions on a node that keeps no tx
// index (NodeOptions.NoTxIndex over config.toml's kv, as a validator
// without the API runs: the heights a kill -9 leaves unindexed look the
// same), restarts it with the kv index, and expects StartNode to have
// indexed those heights again from the block store and the saved
// results, so that tx and tx_search find every transaction.
func TestStartRepairsTxIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node: e2e, skipped with -short")
	}
	net := writeTestNetwork(t, 1)
	home := net.Nodes[0].Home
	setIndexer := func(kind string) {
		t.Helper()
		c, err := LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		c.TxIndex.Indexer = kind
		if err := WriteConfig(home, c); err != nil {
			t.Fatal(err)
		}
	}
	setIndexer("kv")
	app := kvstore.NewInMemoryApplication()
	n, err := StartNode(home, app, NodeOptions{NoTxIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	txs := []types.Tx{types.Tx("a=1"), types.Tx("b=2"), types.Tx("c=3")}
	var heights []int64
	for _, tx := range txs {
		heights = append(heights, commitTx(t, n, tx))
	}
	if got := n.Config().TxIndex.Indexer; got != "null" {
		t.Errorf("NoTxIndex: indexer %q, want null", got)
	}
	if _, err := n.Client().TxSearch(context.Background(), "app.key='b'", false, nil, nil, ""); err == nil || !strings.Contains(err.Error(), "indexing is disabled") {
		t.Errorf("tx_search without a tx index: %v, want indexing is disabled", err)
	}
	if c, err := LoadConfig(home); err != nil {
		t.Fatal(err)
	} else if c.TxIndex.Indexer != "kv" {
		t.Errorf("NoTxIndex rewrote config.toml: indexer %q", c.TxIndex.Indexer)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	setIndexer("kv")
	n, err = StartNode(home, app, NodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	for _, h := range heights {
		if !slices.Contains(n.IndexRepair.Heights, h) {
			t.Errorf("height %d not re-indexed; repair %+v", h, n.IndexRepair)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, tx := range txs {
		res, err := n.Client().Tx(ctx, tx.Hash(), false)
		if err != nil || res.Height != heights[i] || res.TxResult.Code != 0 {
			t.Fatalf("tx %q after repair: %v %+v, want height %d", tx, err, res, heights[i])
		}
	}
	found, err := n.Client().TxSearch(ctx, "app.key='b'", false, nil, nil, "")
	if err != nil || found.TotalCount != 1 {
		t.Fatalf("event search after repair: %v %+v", err, found)
	}
	// A second start finds those heights indexed. (A height committed
	// just before this Stop may still be re-indexed: Stop does not wait
	// for the indexer.)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n, err = StartNode(home, app, NodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	for _, h := range heights {
		if slices.Contains(n.IndexRepair.Heights, h) {
			t.Errorf("second start re-indexed height %d again; repair %+v", h, n.IndexRepair)
		}
	}
}

package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
)

// haltingApp is a kvstore whose FinalizeBlock fails once fail is set:
// CometBFT's consensus then stops (CONSENSUS FAILURE) while RPC stays up.
type haltingApp struct {
	*kvstore.Application
	fail atomic.Bool
}

func (a *haltingApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	if a.fail.Load() {
		return nil, errors.New("no space left on device")
	}
	return a.Application.FinalizeBlock(ctx, req)
}

// TestStatusReportsHaltedNode: `jinlian status` of a node whose consensus
// stopped says halted and exits 1, where it used to print "catching up:
// false" at the frozen height and exit 0.
func TestStatusReportsHaltedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node: e2e, skipped with -short")
	}
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	net, err := consensus.WriteNetwork(consensus.NetworkOptions{Dir: t.TempDir(), ChainID: "halt-test", BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, Nodes: []consensus.NodeSpec{{Moniker: "node0", Power: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	app := &haltingApp{Application: kvstore.NewInMemoryApplication()}
	n, err := consensus.StartNode(net.Nodes[0].Home, app, consensus.NodeOptions{Logger: cmtlog.NewNopLogger(), SuperviseInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, n.Client(), 2); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JINLIAN_NODE", "")
	status := func() (string, error) {
		return runCLI(t, "status", "--node", n.RPCAddr(), "--max-block-age", "1s")
	}
	if out, err := status(); err != nil || !strings.Contains(out, "halted:     no") || !strings.Contains(out, "peers:      0") {
		t.Fatalf("status of a running node: %v\n%s", err, out)
	}
	app.fail.Store(true)
	select {
	case <-n.Halted():
	case <-ctx.Done():
		t.Fatal("consensus never halted")
	}
	for {
		out, err := status()
		if err != nil && strings.Contains(err.Error(), "looks halted") && strings.Contains(out, "halted:     PROBABLY") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("status of a halted node: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

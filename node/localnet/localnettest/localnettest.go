package localnettest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// Options are a test localnet's: localnet.Options (Home defaults to a
// temporary directory, BasePort to free ports, Validators to 1,
// TimeoutCommit to 100 ms) and the harness's own.
type Options struct {
	localnet.Options
	// Heavy, when not empty, says why the test is heavy: it then skips
	// under -short and takes the machine-wide heavy-test lock.
	Heavy string
	// Prepare edits the prepared homes before the nodes start.
	Prepare func(ln *localnet.Net)
	// CometLogger gets the nodes' CometBFT logs (nil: errors only);
	// AppLogger the node's own (nil: none).
	CometLogger cmtlog.Logger
	AppLogger   *slog.Logger
	// WaitHeight is the height node 0 must reach before Start returns
	// (default 1; negative: do not wait).
	WaitHeight int64
}

// Net is a started test localnet.
type Net struct {
	*localnet.Net
	Nodes   []*node.Node
	Clients []rpcclient.Client
	opts    Options
}

// Start prepares and starts a localnet for t; its nodes stop when t ends.
func Start(t testing.TB, o Options) *Net {
	t.Helper()
	if o.Heavy != "" {
		heavytest.Begin(t, o.Heavy)
	}
	if o.Home == "" {
		o.Home = t.TempDir()
	}
	if o.Validators == 0 {
		o.Validators = 1
	}
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 100 * time.Millisecond
	}
	if o.BasePort == 0 {
		base, err := consensus.FreeBasePort(o.Validators + o.Observers)
		if err != nil {
			t.Fatal(err)
		}
		o.BasePort = base
	}
	n := &Net{opts: o}
	n.start(t, o.Prepare)
	t.Cleanup(func() { _ = node.StopAll(n.Nodes) })
	return n
}

// start prepares (or, on the same homes, resumes) the localnet and starts
// its nodes.
func (n *Net) start(t testing.TB, prepare func(*localnet.Net)) {
	t.Helper()
	ln, err := localnet.Prepare(n.opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(ln)
	}
	appLogger := n.opts.AppLogger
	if appLogger == nil {
		appLogger = slog.New(slog.DiscardHandler)
	}
	nodes, err := ln.Start(context.Background(), n.opts.CometLogger, appLogger)
	if err != nil {
		t.Fatal(err)
	}
	n.Net, n.Nodes, n.Clients = ln, nodes, make([]rpcclient.Client, len(nodes))
	for i, jn := range nodes {
		n.Clients[i] = jn.Client()
	}
	if h := n.opts.WaitHeight; h >= 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := consensus.WaitForHeight(ctx, n.Clients[0], max(h, 1)); err != nil {
			t.Fatalf("localnet: node 0 did not reach height %d: %v", max(h, 1), err)
		}
	}
}

// Stop stops every node.
func (n *Net) Stop(t testing.TB) {
	t.Helper()
	if err := node.StopAll(n.Nodes); err != nil {
		t.Fatalf("stop localnet: %v", err)
	}
}

// Restart starts the nodes again on their homes (after Stop).
func (n *Net) Restart(t testing.TB) {
	t.Helper()
	n.start(t, nil)
}

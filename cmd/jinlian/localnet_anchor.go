package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/jinlian-ledger/jinlian/node"
)

// localnetEthFlags choose the localnet's Ethereum chain.
type localnetEthFlags struct {
	listen string // the development chain's JSON-RPC address
	rpc    string // an endpoint to use instead
	key    string // its paying key (default: one funded by its dev account)
}

// startLocalnetAnchoring starts node0's prover and relayer when the
// localnet's genesis enables checkpoints: in this process in a
// development build (localnet_dev.go), else as a jinlian-anchor process
// (localnet_nodev.go). Without a chain to anchor on it says that anchoring
// is off and how to turn it on.
func startLocalnetAnchoring(ctx context.Context, w io.Writer, n *node.Node, home string, f localnetEthFlags, logger *slog.Logger) (stop func(), err error) {
	if n.App.Params().CheckpointInterval <= 0 {
		return func() {}, nil
	}
	return localnetAnchoring(ctx, w, n, home, f, logger)
}

//go:build !dev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jinlian-ledger/jinlian/node"
)

// anchoringOffHint is printed when a plain build's localnet cannot anchor.
const anchoringOffHint = "checkpoint anchoring is off: this build proves checkpoints with jinlian-anchor, which is not installed; " +
	"for anchoring run `go run -tags dev ./cmd/jinlian localnet`, or go install ./cmd/jinlian-anchor (it anchors on geth --dev, or on --eth-rpc URL)"

// localnetAnchoring: a production build runs `jinlian-anchor localnet` for
// node0, which anchors on --eth-rpc or on geth --dev; without
// jinlian-anchor the localnet runs unanchored and says so.
func localnetAnchoring(ctx context.Context, w io.Writer, n *node.Node, home string, f localnetEthFlags, logger *slog.Logger) (stop func(), err error) {
	args := []string{"localnet", "--home", n.Home(), "--localnet-home", home, "--node", n.RPCAddr(), "--eth.listen", f.listen}
	if f.rpc != "" {
		args = append(args, "--eth-rpc", f.rpc)
	}
	if f.key != "" {
		args = append(args, "--eth-key", f.key)
	}
	p, err := node.StartAnchorProcess(ctx, node.AnchorProcessOptions{Args: args, Out: w, Stderr: w, Logger: logger})
	if errors.Is(err, node.ErrNoAnchorCommand) {
		fmt.Fprintln(w, anchoringOffHint)
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	return p.Stop, nil
}

// inProcessAnchoring: a production build runs the prover that
// checkpoint.prover turns on as a jinlian-anchor process (node.Start's
// default).
func inProcessAnchoring(*slog.Logger) func(ctx context.Context, n *node.Node) (node.Anchorer, error) {
	return nil
}

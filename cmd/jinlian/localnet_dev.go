//go:build dev

package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
)

// inProcessEthereum starts the development build's in-process Ethereum
// chain, serving its JSON-RPC at listen (unless empty). It mines a block
// every second.
func inProcessEthereum(listen string) (*anchoring.Chain, error) {
	sim, err := devchain.NewWith(devchain.LiveRules(), listen)
	if err != nil {
		return nil, err
	}
	sim.MineEvery(time.Second)
	url := ""
	if listen != "" {
		url = "http://" + listen
	}
	return &anchoring.Chain{Client: sim.Client(), Auth: sim.Auth, Mine: sim.Mine, URL: url,
		What: "the in-process Ethereum chain", Close: func() { _ = sim.Close() }}, nil
}

// localnetAnchoring: a development build proves and anchors in this
// process, on the in-process chain unless --eth-rpc names another.
func localnetAnchoring(ctx context.Context, w io.Writer, n *node.Node, home string, f localnetEthFlags, logger *slog.Logger) (stop func(), err error) {
	stop, err = anchoring.StartLocalnet(ctx, w, n.Client(), n.Home(), home,
		anchoring.LocalnetEth{Listen: f.listen, RPC: f.rpc, Key: f.key, InProcess: inProcessEthereum}, logger)
	if stop == nil && err == nil {
		stop = func() {}
	}
	return stop, err
}

// inProcessAnchoring: in a development build, jinlian start runs the
// prover that checkpoint.prover turns on in its own process.
func inProcessAnchoring(logger *slog.Logger) func(ctx context.Context, n *node.Node) (node.Anchorer, error) {
	return func(ctx context.Context, n *node.Node) (node.Anchorer, error) {
		an, err := anchoring.StartFromConfig(ctx, n.Config, n.Client(), logger)
		if err != nil {
			return nil, err
		}
		return an, nil
	}
}

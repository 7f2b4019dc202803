package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/node"
)

// devEthereum is the Ethereum chain a localnet anchors its checkpoints on.
type devEthereum struct {
	client relay.Backend
	auth   *bind.TransactOpts
	mine   func() // a simulated chain's Commit; nil for one that mines on its own
	url    string // its JSON-RPC; "" when not served
	what   string // for the start line
	close  func()
}

// localnetEthFlags choose the localnet's Ethereum chain.
type localnetEthFlags struct {
	listen string // the development chain's JSON-RPC address
	rpc    string // an endpoint to use instead
	key    string // its paying key (default: one funded by its dev account)
}

// anchoringOffHint is printed when a localnet has nothing to anchor on.
const anchoringOffHint = "checkpoint anchoring is off: this build has no in-process Ethereum chain and geth is not on PATH; " +
	"for anchoring run `go run -tags dev ./cmd/jinlian localnet`, put geth on PATH, or pass --eth-rpc URL"

// localnetEthereum picks the chain: --eth-rpc if given, else the
// in-process chain of a development build (-tags dev), else `geth --dev`
// when geth is on PATH (a fresh chain under home each start, removed at
// stop). nil: none.
func localnetEthereum(ctx context.Context, f localnetEthFlags, home string) (*devEthereum, error) {
	if f.rpc != "" {
		c, err := ethclient.DialContext(ctx, f.rpc)
		if err != nil {
			return nil, fmt.Errorf("--eth-rpc %s: %w", f.rpc, err)
		}
		var auth *bind.TransactOpts
		if f.key != "" {
			auth, err = relay.KeyedTransactor(ctx, c, f.key)
		} else if key, ferr := relay.FundDevKey(ctx, c, 100); ferr != nil {
			err = fmt.Errorf("--eth-rpc %s without --eth-key: %w", f.rpc, ferr)
		} else if id, ierr := c.ChainID(ctx); ierr != nil {
			err = fmt.Errorf("chain id of %s: %w", f.rpc, ierr)
		} else {
			auth, err = bind.NewKeyedTransactorWithChainID(key, id)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		return &devEthereum{client: c, auth: auth, url: f.rpc, what: "the Ethereum chain of --eth-rpc", close: c.Close}, nil
	}
	if eth, err := inProcessEthereum(f.listen); eth != nil || err != nil {
		return eth, err
	}
	bin, err := exec.LookPath("geth")
	if err != nil {
		return nil, nil
	}
	// A fresh chain each start, in a directory of its own: a geth left
	// by a killed localnet may still be shutting down in the last one.
	stale, _ := filepath.Glob(filepath.Join(home, "geth-dev-*"))
	for _, d := range stale {
		_ = os.RemoveAll(d)
	}
	dir, err := os.MkdirTemp(home, "geth-dev-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(home, "geth-dev.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	g, err := relay.StartGethDev(ctx, relay.GethDevOptions{Bin: bin, DataDir: dir, Addr: f.listen, Log: logf, Args: []string{"--dev.period", "1"}})
	if err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w (log: %s)", err, logf.Name())
	}
	return &devEthereum{client: g.Client, auth: g.Auth, url: g.URL, what: fmt.Sprintf("geth --dev (%s, log %s)", bin, logf.Name()),
		close: func() { _ = g.Close(); logf.Close(); os.RemoveAll(dir) }}, nil
}

// startLocalnetAnchoring starts node0's prover and relayer when the
// localnet's genesis enables checkpoints, on the chain localnetEthereum
// picks; without one it says that anchoring is off and how to turn it on.
func startLocalnetAnchoring(ctx context.Context, w io.Writer, n *node.Node, home string, f localnetEthFlags, logger *slog.Logger) (stop func(), err error) {
	p := n.App.Params()
	if p.CheckpointInterval <= 0 {
		return func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	eth, err := localnetEthereum(ctx, f, home)
	if err != nil {
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	if eth == nil {
		fmt.Fprintln(w, anchoringOffHint)
		return func() {}, nil
	}
	an, err := node.StartAnchoring(ctx, n, node.AnchoringOptions{
		Chain: eth.client, Auth: eth.auth, Deploy: true, Mine: eth.mine, ChainURL: eth.url, Logger: logger,
	})
	if err != nil {
		eth.close()
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	fmt.Fprintf(w, "checkpoints every %d blocks, proved by %s and anchored at %s on %s", p.CheckpointInterval, n.Home(), an.Address().Hex(), eth.what)
	if eth.url != "" {
		fmt.Fprintf(w, " (JSON-RPC %s)", eth.url)
	}
	fmt.Fprintf(w, "\n  jinlian checkpoint status --home %s\n", n.Home())
	return func() { an.Stop(); eth.close() }, nil
}

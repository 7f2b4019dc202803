package anchoring

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
)

// Chain is the Ethereum chain a localnet anchors its checkpoints on.
type Chain struct {
	Client relay.Backend
	Auth   *bind.TransactOpts
	Mine   func() // a simulated chain's Commit; nil for one that mines on its own
	URL    string // its JSON-RPC; "" when not served
	What   string // for the start line
	Close  func()
}

// LocalnetEth chooses a localnet's Ethereum chain.
type LocalnetEth struct {
	Listen string // the development chain's JSON-RPC address
	RPC    string // an endpoint to use instead
	Key    string // its paying key (default: one funded by its dev account)
	// InProcess, if set, starts an in-process chain serving JSON-RPC at
	// Listen (the development build's; nil, nil: none).
	InProcess func(listen string) (*Chain, error)
}

// OffHint is printed when a localnet has nothing to anchor on.
const OffHint = "checkpoint anchoring is off: this build has no in-process Ethereum chain and geth is not on PATH; " +
	"for anchoring run `go run -tags dev ./cmd/jinlian localnet`, put geth on PATH, or pass --eth-rpc URL"

// LocalnetChain picks the chain: f.RPC if given, else the in-process
// chain of f.InProcess, else `geth --dev` when geth is on PATH (a fresh
// chain under home each start, removed at stop). nil: none.
func LocalnetChain(ctx context.Context, f LocalnetEth, home string) (*Chain, error) {
	if f.RPC != "" {
		c, err := ethclient.DialContext(ctx, f.RPC)
		if err != nil {
			return nil, fmt.Errorf("--eth-rpc %s: %w", f.RPC, err)
		}
		var auth *bind.TransactOpts
		if f.Key != "" {
			auth, err = relay.KeyedTransactor(ctx, c, f.Key)
		} else if key, ferr := relay.FundDevKey(ctx, c, 100); ferr != nil {
			err = fmt.Errorf("--eth-rpc %s without --eth-key: %w", f.RPC, ferr)
		} else if id, ierr := c.ChainID(ctx); ierr != nil {
			err = fmt.Errorf("chain id of %s: %w", f.RPC, ierr)
		} else {
			auth, err = bind.NewKeyedTransactorWithChainID(key, id)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		return &Chain{Client: c, Auth: auth, URL: f.RPC, What: "the Ethereum chain of --eth-rpc", Close: c.Close}, nil
	}
	if f.InProcess != nil {
		if eth, err := f.InProcess(f.Listen); eth != nil || err != nil {
			return eth, err
		}
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
	g, err := relay.StartGethDev(ctx, relay.GethDevOptions{Bin: bin, DataDir: dir, Addr: f.Listen, Log: logf, Args: []string{"--dev.period", "1"}})
	if err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w (log: %s)", err, logf.Name())
	}
	return &Chain{Client: g.Client, Auth: g.Auth, URL: g.URL, What: fmt.Sprintf("geth --dev (%s, log %s)", bin, logf.Name()),
		Close: func() { _ = g.Close(); logf.Close(); os.RemoveAll(dir) }}, nil
}

// StartLocalnet starts the prover and relayer of a localnet's first node
// (src, home nodeHome) when the localnet's genesis enables checkpoints,
// on the chain LocalnetChain picks (lnHome: the localnet's directory);
// without one it says on w that anchoring is off and how to turn it on.
// The first line it writes on w says what it started; stop is nil when it
// started nothing.
func StartLocalnet(ctx context.Context, w io.Writer, src Source, nodeHome, lnHome string, f LocalnetEth, logger *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	r0, err := waitCheckpoint0(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	if r0.Interval <= 0 {
		fmt.Fprintln(w, "checkpoints are off in this localnet's genesis")
		return nil, nil
	}
	eth, err := LocalnetChain(ctx, f, lnHome)
	if err != nil {
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	if eth == nil {
		fmt.Fprintln(w, OffHint)
		return nil, nil
	}
	an, err := Start(ctx, Options{
		Node: src, Home: nodeHome, Chain: eth.Client, Auth: eth.Auth, Deploy: true, Mine: eth.Mine, ChainURL: eth.URL, Logger: logger,
	})
	if err != nil {
		eth.Close()
		return nil, fmt.Errorf("checkpoint anchoring: %w", err)
	}
	fmt.Fprintf(w, "checkpoints every %d blocks, proved by %s and anchored at %s on %s", an.Interval, nodeHome, an.Address().Hex(), eth.What)
	if eth.URL != "" {
		fmt.Fprintf(w, " (JSON-RPC %s)", eth.URL)
	}
	fmt.Fprintf(w, "\n  jinlian checkpoint status --home %s\n", nodeHome)
	return func() { an.Stop(); eth.Close() }, nil
}

// Package devchain is an in-process development Ethereum chain (go-ethereum's
// simulated backend) with one funded account: what the localnet of a
// development build (go build -tags dev) and the tests anchor checkpoints on.
//
// It links a whole go-ethereum node (eth, miner, p2p, the EVM, a pebble
// database), about a quarter of a binary's code. The production binary must
// not import it: cmd/jinlian does so only in files built with the dev tag,
// and cmd/jinlian's TestProductionDeps fails if it comes back. A production
// relayer talks to a real endpoint through ethclient (consensus/prover/relay).
package devchain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
)

// LiveRules is the chain's configuration: go-ethereum's dev configuration
// less the forks not live on Ethereum mainnet. v1.17.8's dev chain also
// enables the unscheduled Bogota fork, whose repricing makes storage writes
// far dearer than on mainnet; pinned to Osaka (live since December 2025) the
// gas figures are what a mainnet submission pays.
func LiveRules() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	c.BogotaTime = nil
	c.UBTTime = nil
	return &c
}

// Chain is an in-process Ethereum chain with one funded account.
type Chain struct {
	*simulated.Backend
	Key  *ecdsa.PrivateKey
	Auth *bind.TransactOpts

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts a chain on LiveRules, funding a fresh key. Close it when done.
func New() (*Chain, error) { return NewWith(LiveRules(), "") }

// NewWith starts a chain with the given rules. A non-empty httpAddr
// (host:port, loopback) also serves its JSON-RPC there, so that tools in
// other processes (jinlian checkpoint status) can reach it.
func NewWith(cfg *params.ChainConfig, httpAddr string) (*Chain, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	var host string
	var port int
	if httpAddr != "" {
		h, p, err := net.SplitHostPort(httpAddr)
		if err != nil {
			return nil, fmt.Errorf("development chain's RPC address %q: %w", httpAddr, err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("development chain's RPC address %q: %w", httpAddr, err)
		}
		host = h
		// go-ethereum panics when its HTTP server cannot listen.
		l, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return nil, fmt.Errorf("development chain's RPC address: %w", err)
		}
		l.Close()
	}
	funds := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	b := simulated.NewBackend(types.GenesisAlloc{crypto.PubkeyToAddress(key.PublicKey): {Balance: funds}},
		func(n *node.Config, eth *ethconfig.Config) {
			eth.Genesis.Config = cfg
			if host != "" {
				n.HTTPHost, n.HTTPPort = host, port
				n.HTTPModules = []string{"eth", "net", "web3"}
			}
		})
	auth, err := bind.NewKeyedTransactorWithChainID(key, cfg.ChainID)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Chain{Backend: b, Key: key, Auth: auth, cancel: func() {}}, nil
}

// Client is the chain's endpoint for a relay.Relayer.
func (c *Chain) Client() simulated.Client { return c.Backend.Client() }

// Mine seals a block (a relay.Config's Mine).
func (c *Chain) Mine() { c.Commit() }

// MineEvery seals a block every period until Close, as a real chain moves
// on without transactions of ours. Call it at most once.
func (c *Chain) MineEvery(period time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.Commit()
			}
		}
	}()
}

// Close stops the miner and the chain.
func (c *Chain) Close() error {
	c.cancel()
	c.wg.Wait()
	return c.Backend.Close()
}

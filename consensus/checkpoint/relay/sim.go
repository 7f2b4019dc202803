package relay

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"strconv"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
)

// LiveRules is the simulated chain's configuration: go-ethereum's dev
// configuration less the forks not live on Ethereum mainnet. v1.17.8's dev
// chain also enables the unscheduled Bogota fork, whose repricing makes
// storage writes far dearer than on mainnet; pinned to Osaka (live since
// December 2025) the gas figures are what a mainnet submission pays.
func LiveRules() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	c.BogotaTime = nil
	c.UBTTime = nil
	return &c
}

// Simulated is an in-process Ethereum chain with one funded account.
type Simulated struct {
	*simulated.Backend
	Key  *ecdsa.PrivateKey
	Auth *bind.TransactOpts
}

// NewSimulated starts a simulated chain on LiveRules, funding a fresh key.
// Close it when done.
func NewSimulated() (*Simulated, error) { return NewSimulatedWith(LiveRules(), "") }

// NewSimulatedWith starts a simulated chain with the given rules. A
// non-empty httpAddr (host:port, loopback) also serves its JSON-RPC there,
// so that tools in other processes (jinlian checkpoint status) can reach it.
func NewSimulatedWith(cfg *params.ChainConfig, httpAddr string) (*Simulated, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	var host string
	var port int
	if httpAddr != "" {
		h, p, err := net.SplitHostPort(httpAddr)
		if err != nil {
			return nil, fmt.Errorf("simulated chain's RPC address %q: %w", httpAddr, err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("simulated chain's RPC address %q: %w", httpAddr, err)
		}
		host = h
		// go-ethereum panics when its HTTP server cannot listen.
		l, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return nil, fmt.Errorf("simulated chain's RPC address: %w", err)
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
	return &Simulated{Backend: b, Key: key, Auth: auth}, nil
}

// Client is the chain's endpoint for a Relayer.
func (s *Simulated) Client() Backend { return s.Backend.Client() }

// Mine seals a block (the Relayer's Config.Mine).
func (s *Simulated) Mine() { s.Commit() }

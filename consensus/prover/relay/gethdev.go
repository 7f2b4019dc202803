package relay

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
)

// GethDev is a `geth --dev` child process: a development Ethereum chain for
// a localnet built without the in-process one (devchain), and for the tests
// tagged gethdev. Its JSON-RPC is an ordinary endpoint; nothing of geth is
// linked.
type GethDev struct {
	URL    string
	Client *ethclient.Client
	// Key is a fresh key funded by the dev account, and Auth its transactor.
	Key  *ecdsa.PrivateKey
	Auth *bind.TransactOpts

	cmd  *exec.Cmd
	done chan struct{}
}

// GethDevOptions configure StartGethDev.
type GethDevOptions struct {
	// Bin is the geth binary (default: geth on PATH).
	Bin string
	// DataDir holds the chain; a fresh directory gives a fresh chain.
	DataDir string
	// Addr is the loopback host:port of its JSON-RPC (default: a free port).
	Addr string
	// Log receives geth's output (default: discarded).
	Log io.Writer
	// Args are further geth flags (--dev.period 1).
	Args []string
}

// StartGethDev starts geth --dev, waits until its JSON-RPC answers and
// funds a fresh key with 100 ether from the dev account. Close it when done.
func StartGethDev(ctx context.Context, o GethDevOptions) (*GethDev, error) {
	if o.Bin == "" {
		o.Bin = "geth"
	}
	if o.DataDir == "" {
		return nil, errors.New("geth --dev: no data directory")
	}
	host, port := "127.0.0.1", 0
	if o.Addr != "" {
		h, p, err := net.SplitHostPort(o.Addr)
		if err == nil {
			port, err = strconv.Atoi(p)
		}
		if err != nil {
			return nil, fmt.Errorf("geth --dev's RPC address %q: %w", o.Addr, err)
		}
		host = h
	}
	// Refuse a taken address here: geth would only log it and run on.
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("geth --dev's RPC address: %w", err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"--dev", "--datadir", o.DataDir, "--http", "--http.addr", host,
		"--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3", "--nodiscover", "--maxpeers", "0",
		"--ipcdisable", "--port", "0", "--authrpc.port", "0", "--verbosity", "2"}, o.Args...)
	cmd := exec.Command(o.Bin, args...)
	if o.Log != nil {
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
	}
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("geth --dev: %w", err)
	}
	g := &GethDev{URL: "http://" + net.JoinHostPort(host, strconv.Itoa(port)), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(g.done) }()
	fail := func(err error) (*GethDev, error) { _ = g.Close(); return nil, fmt.Errorf("geth --dev: %w", err) }

	for {
		if g.Client, err = ethclient.DialContext(ctx, g.URL); err == nil {
			var accts []common.Address
			if err = g.Client.Client().CallContext(ctx, &accts, "eth_accounts"); err == nil && len(accts) > 0 {
				break
			}
			g.Client.Close()
			g.Client = nil
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("did not come up: %w", err))
		case <-g.done:
			return fail(fmt.Errorf("exited: %s", cmd.ProcessState))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if g.Key, err = FundDevKey(ctx, g.Client, 100); err != nil {
		return fail(err)
	}
	chainID, err := g.Client.ChainID(ctx)
	if err != nil {
		return fail(err)
	}
	if g.Auth, err = bind.NewKeyedTransactorWithChainID(g.Key, chainID); err != nil {
		return fail(err)
	}
	return g, nil
}

// Close stops geth (SIGINT, then SIGKILL after 10 s).
func (g *GethDev) Close() error {
	if g.Client != nil {
		g.Client.Close()
	}
	if err := g.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = g.cmd.Process.Kill()
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
	return nil
}

// FundDevKey makes a fresh key and sends it ether from the endpoint's first
// account, which a development node (geth --dev, anvil, hardhat) keeps
// unlocked, and waits until the transfer is mined.
func FundDevKey(ctx context.Context, c *ethclient.Client, ether int64) (*ecdsa.PrivateKey, error) {
	var accts []common.Address
	if err := c.Client().CallContext(ctx, &accts, "eth_accounts"); err != nil {
		return nil, fmt.Errorf("eth_accounts: %w", err)
	}
	if len(accts) == 0 {
		return nil, errors.New("the endpoint has no unlocked account to fund a key from (is it a development node?)")
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	funds := new(big.Int).Mul(big.NewInt(ether), big.NewInt(params.Ether))
	var txHash common.Hash
	if err := c.Client().CallContext(ctx, &txHash, "eth_sendTransaction", map[string]any{
		"from": accts[0], "to": crypto.PubkeyToAddress(key.PublicKey), "value": "0x" + funds.Text(16),
	}); err != nil {
		return nil, fmt.Errorf("fund a key from %s: %w", accts[0].Hex(), err)
	}
	if _, err := bind.WaitMinedHash(ctx, c, txHash); err != nil {
		return nil, fmt.Errorf("fund a key from %s: %w", accts[0].Hex(), err)
	}
	return key, nil
}

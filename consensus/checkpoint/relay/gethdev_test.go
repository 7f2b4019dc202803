//go:build gethdev

package relay

// Runs the relayer against a real `geth --dev` process:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./consensus/checkpoint/relay
//
// GETH names the binary (default: geth on PATH). geth --dev enables the
// same unscheduled forks as the simulated backend's dev configuration, so
// its gas figures are not mainnet's (see LiveRules).

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/jinlian-ledger/jinlian/consensus/checkpoint"
)

func TestGethDev(t *testing.T) {
	bin := os.Getenv("GETH")
	if bin == "" {
		bin = "geth"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not found: go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--dev", "--datadir", t.TempDir(), "--http", "--http.addr", "127.0.0.1",
		"--http.port", fmt.Sprint(port), "--http.api", "eth,net,web3", "--nodiscover", "--maxpeers", "0",
		"--ipcdisable", "--port", "0", "--authrpc.port", "0", "--verbosity", "2")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	var rc *rpc.Client
	var coinbase common.Address
	for {
		if rc, err = rpc.DialContext(ctx, url); err == nil {
			var accts []common.Address
			if err = rc.CallContext(ctx, &accts, "eth_accounts"); err == nil && len(accts) > 0 {
				coinbase = accts[0]
				break
			}
			rc.Close()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("geth --dev did not come up: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	client := ethclient.NewClient(rc)
	defer client.Close()

	// Fund a relayer key from the dev account, which geth keeps unlocked.
	key, _ := crypto.GenerateKey()
	me := crypto.PubkeyToAddress(key.PublicKey)
	var txHash common.Hash
	funds := new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))
	if err := rc.CallContext(ctx, &txHash, "eth_sendTransaction", map[string]any{
		"from": coinbase, "to": me, "value": (*hexBig)(funds),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMinedHash(ctx, client, txHash); err != nil {
		t.Fatal(err)
	}
	chainID, err := client.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := bind.NewKeyedTransactorWithChainID(key, chainID)
	if err != nil {
		t.Fatal(err)
	}

	p := dev(t)
	keys, vals := checkpoint.TestValidators(t, 1, 10, 10, 10, 10)
	g := checkpoint.TestGenesis(t, "jinlian-gethdev", vals, checkpoint.DevSlots)
	addr, err := Deploy(ctx, client, auth, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(client, addr, auth, Config{Backoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpoint.TestNext(prev, e*20, "gethdev")
		res, err := r.Submit(ctx, cp, prove(t, p, keys, vals, cp, 0, 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("geth --dev: epoch %d anchored in block %d, %d gas", e, res.Block, res.GasUsed)
		prev = cp
	}
	st, err := r.Status(ctx)
	if err != nil || st.Epoch != 2 || st.CheckpointHash != prev.Hash() {
		t.Fatalf("status %+v %v", st, err)
	}
}

type hexBig big.Int

func (h *hexBig) MarshalText() ([]byte, error) {
	return []byte("0x" + (*big.Int)(h).Text(16)), nil
}

//go:build gethdev

package relay

import (
	"context"
	"crypto/ecdsa"
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
)

// StartGethDev runs a `geth --dev` process for the test (GETH names the
// binary, default geth on PATH; the test is skipped without one) and returns
// its JSON-RPC URL, a client, and a fresh key funded with 100 ether by the
// dev account. extra are further geth flags. Only in builds tagged gethdev:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./consensus/checkpoint/relay ./cmd/jinlian
func StartGethDev(t testing.TB, extra ...string) (string, *ethclient.Client, *ecdsa.PrivateKey) {
	t.Helper()
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
	args := append([]string{"--dev", "--datadir", t.TempDir(), "--http", "--http.addr", "127.0.0.1",
		"--http.port", fmt.Sprint(port), "--http.api", "eth,net,web3", "--nodiscover", "--maxpeers", "0",
		"--ipcdisable", "--port", "0", "--authrpc.port", "0", "--verbosity", "2"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

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
	t.Cleanup(client.Close)

	// Fund a fresh key from the dev account, which geth keeps unlocked.
	key, _ := crypto.GenerateKey()
	funds := new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))
	var txHash common.Hash
	if err := rc.CallContext(ctx, &txHash, "eth_sendTransaction", map[string]any{
		"from": coinbase, "to": crypto.PubkeyToAddress(key.PublicKey), "value": "0x" + funds.Text(16),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMinedHash(ctx, client, txHash); err != nil {
		t.Fatal(err)
	}
	return url, client, key
}

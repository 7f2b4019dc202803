package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proof"
)

// TestProveAndVerifyCLI: query balance, account and tx write bundles
// that verify proof checks offline from the genesis, from a trusted block
// and with SM2/SM3 alone; an edited bundle is refused naming the field.
func TestProveAndVerifyCLI(t *testing.T) {
	ln, nodes := startCLILocalnet(t, 2)
	keys := localnet.KeysDir(ln.Home)
	bankB, err := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankB.json"))
	if err != nil {
		t.Fatal(err)
	}
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr}
	genesis := filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json")
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append(args, node...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	var res txResult
	out := cli("tx", "transfer", "-o", "json", "--from", filepath.Join(keys, "bankA.json"), "--asset", "CNY", "--to", bankB.Address, "--amount", "250")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Code != 0 {
		t.Fatalf("transfer: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), res.Height+3); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bal, acct, txb := filepath.Join(dir, "balance.json"), filepath.Join(dir, "account.json"), filepath.Join(dir, "tx.json")
	if out := cli("query", "balance", "--asset", "CNY", "--account", bankB.Address, "--prove", bal); !strings.Contains(out, "proof bundle written to") {
		t.Fatalf("query balance --prove:\n%s", out)
	}
	if out := cli("query", "account", "--account", bankB.Address, "--asset", "CNY", "--asset", "NOPE", "--prove", acct); !strings.Contains(out, "NOPE     0") {
		t.Fatalf("query account --prove:\n%s", out)
	}
	if out := cli("query", "tx", res.TxID, "--prove", txb); !strings.Contains(out, "proof:") {
		t.Fatalf("query tx --prove:\n%s", out)
	}
	// Completeness: bankB's CNY around the transfer, one credit of 250.
	mov := filepath.Join(dir, "movements.json")
	rng := []string{"--from-height", fmt.Sprint(res.Height - 1), "--to-height", fmt.Sprint(res.Height + 1)}
	if out := cli(append([]string{"query", "movements", "--account", bankB.Address, "--asset", "CNY", "--prove", mov}, rng...)...); !strings.Contains(out, ": 1 movements") ||
		!strings.Contains(out, "credit 250") {
		t.Fatalf("query movements --prove:\n%s", out)
	}
	// From height 1: the opening balance is the genesis's.
	mov1 := filepath.Join(dir, "movements-from-1.json")
	if out := cli("query", "movements", "--account", bankB.Address, "--asset", "CNY", "--from-height", "1", "--to-height", fmt.Sprint(res.Height+1), "--prove", mov1); !strings.Contains(out, ": 1 movements") {
		t.Fatalf("query movements --from-height 1 --prove:\n%s", out)
	}
	if out, err := runCLI(t, "verify", "proof", mov1, "--trust", genesis); err != nil || !strings.Contains(out, fmt.Sprintf("at heights 1..%d (balance %d before", res.Height+1, localnet.Funding)) {
		t.Fatalf("verify the bundle from height 1: %v\n%s", err, out)
	}
	if _, err := runCLI(t, append([]string{"query", "movements", "--account", bankB.Address, "--asset", "CNY", "--from-height", "0"}, node...)...); err == nil ||
		!strings.Contains(err.Error(), "want 1 ≤ --from-height") {
		t.Fatalf("query movements from height 0: %v", err)
	}
	one := int64(1)
	c1, err := nodes[0].Client().Commit(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"balance from the genesis", []string{"verify", "proof", bal, "--trust", genesis}, "proven: payments key"},
		{"account from the genesis", []string{"verify", "proof", acct, "--trust", genesis}, "is not set"},
		{"tx from the genesis", []string{"verify", "proof", txb, "--trust", genesis}, "CometBFT commitments: true, SM3 results commitment: true"},
		{"tx from a trusted block", []string{"verify", "proof", txb, "--trust-height", "1", "--trust-hash", c1.Commit.BlockID.Hash.String()}, "OK"},
		{"tx with SM2/SM3 alone", []string{"verify", "proof", txb, "--trust", genesis, "--guomi"}, "CometBFT commitments: false, SM3 results commitment: true"},
		{"completeness from the genesis", []string{"verify", "proof", mov, "--trust", genesis}, "the 1 movements listed are every movement of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runCLI(t, c.args...)
			if err != nil || !strings.Contains(out, c.want) || !strings.Contains(out, "OK") {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
	raw, _ := os.ReadFile(txb)
	edited := strings.Replace(string(raw), `"code": 0`, `"code": 1`, 1)
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(edited), 0o600)
	if _, err := runCLI(t, "verify", "proof", bad, "--trust", genesis); err == nil || !strings.Contains(err.Error(), "tx.result") {
		t.Fatalf("edited code: %v", err)
	}
	raw, _ = os.ReadFile(mov)
	mb, err := proof.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	mb.Completeness.Movements = mb.Completeness.Movements[:0]
	if raw, err = mb.Encode(); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(bad, raw, 0o600)
	if _, err := runCLI(t, "verify", "proof", bad, "--trust", genesis); err == nil || !strings.Contains(err.Error(), "completeness") {
		t.Fatalf("a completeness bundle with its movement dropped: %v", err)
	}
	if _, err := runCLI(t, "verify", "proof", filepath.Join(dir, "none.json"), "--trust", genesis); err == nil {
		t.Fatal("missing bundle accepted")
	}
	// --eth-rpc: the balance bundle's height anchored by a CheckpointAnchor
	// on a real in-process Ethereum chain (deployed trusting that height's
	// checkpoint, as an anchor trusts its epoch 0), read over its JSON-RPC.
	{
		raw, _ := os.ReadFile(bal)
		bb, err := proof.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ethAddr := l.Addr().String()
		l.Close()
		eth, err := devchain.NewWith(devchain.LiveRules(), ethAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer eth.Close()
		cp := checkpoint.Checkpoint{ChainID: bb.ChainID, Epoch: 1, Height: uint64(bb.Height)}
		copy(cp.AppHash[:], bb.AppHash)
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		anchor, err := relay.Deploy(dctx, eth.Client(), eth.Auth, cp, eth.Mine)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := runCLI(t, "verify", "proof", bal, "--trust", genesis, "--eth-rpc", "http://"+ethAddr, "--anchor", anchor.Hex()); err != nil ||
			!strings.Contains(out, fmt.Sprintf("anchored: checkpoint 1 (height %d, app hash %X) by contract", bb.Height, []byte(bb.AppHash))) {
			t.Fatalf("verify proof --eth-rpc: %v\n%s", err, out)
		}
		if out, err := runCLI(t, "verify", "proof", txb, "--trust", genesis, "--eth-rpc", "http://"+ethAddr, "--anchor", anchor.Hex()); err == nil ||
			!strings.Contains(err.Error(), "anchored no checkpoint of height") {
			t.Fatalf("verify proof --eth-rpc of a height not anchored: %v\n%s", err, out)
		}
		if _, err := runCLI(t, "verify", "proof", bal, "--trust", genesis, "--eth-rpc", "http://"+ethAddr); err == nil ||
			!strings.Contains(err.Error(), "--eth-rpc and --anchor go together") {
			t.Fatalf("--eth-rpc without --anchor: %v", err)
		}
	}
	// verify qc from the genesis, and the bundle it saves.
	qcb := filepath.Join(dir, "qc.json")
	if out := cli("verify", "qc", "--height", "2", "--trust", genesis, "--save", qcb); !strings.Contains(out, "OK: every SM2 signature verifies") {
		t.Fatalf("verify qc:\n%s", out)
	}
	if out, err := runCLI(t, "verify", "proof", qcb, "--trust", genesis); err != nil || !strings.Contains(out, "qc bundle") {
		t.Fatalf("qc bundle: %v\n%s", err, out)
	}
}

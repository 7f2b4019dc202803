package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// A transaction signed on a machine without a node is sent later by
// another: once, and a second broadcast of the same file cannot pay twice.
func TestSignOnlyThenBroadcast(t *testing.T) {
	heavytest.Begin(t, "starts a localnet")
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, BasePort: base, TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	t.Setenv("JINLIAN_NODE", "")
	keys := localnet.KeysDir(ln.Home)
	to := ln.Identities[0].Address // bankA pays itself: one validator, one bank
	file := filepath.Join(t.TempDir(), "pay.json")
	pay := []string{"tx", "transfer", "--from", filepath.Join(keys, "bankA.json"), "--asset", "CNY", "--to", to, "--amount", "17",
		"--memo", "offline 1"}

	// Offline: no node runs yet, and none is asked.
	if _, err := runCLI(t, append(pay, "--sign-only", file)...); err == nil || !strings.Contains(err.Error(), "--chain-id") {
		t.Fatalf("sign-only without a chain id: %v", err)
	}
	if _, err := runCLI(t, append(pay, "--sign-only", file, "--chain-id", ln.Network.ChainID, "--node", "tcp://127.0.0.1:1")...); err != nil {
		t.Fatalf("sign-only: %v", err)
	}
	var st signedTx
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &st); err != nil || st.Format != SignedTxFormat || st.ChainID != ln.Network.ChainID || st.Type != "transfer" || len(st.Envelope) == 0 {
		t.Fatalf("signed file: %v %s", err, b)
	}

	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr}
	var status txStatus
	out, err := runCLI(t, append([]string{"tx", "status", st.TxID, "-o", "json"}, node...)...)
	if err != nil || json.Unmarshal([]byte(out), &status) != nil || status.Status != "not_committed" || status.AsOf < 1 {
		t.Fatalf("status before broadcast: %v %s", err, out)
	}
	out, err = runCLI(t, append([]string{"tx", "broadcast", file, "-o", "json"}, node...)...)
	var res txResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 || res.TxID != st.TxID || res.Height == 0 {
		t.Fatalf("broadcast: %v %s", err, out)
	}
	out, err = runCLI(t, append([]string{"tx", "status", st.TxID, "-o", "json"}, node...)...)
	if err != nil || json.Unmarshal([]byte(out), &status) != nil || status.Status != "committed" || status.Result == nil || status.Result.Height != res.Height {
		t.Fatalf("status after broadcast: %v %s", err, out)
	}
	if _, err := runCLI(t, append([]string{"tx", "broadcast", file}, node...)...); err == nil || !strings.Contains(err.Error(), "sent before") {
		t.Fatalf("second broadcast of the same file: %v", err)
	}

	// A file altered after signing, or for another chain, is refused
	// before it reaches the node.
	tampered := st
	tampered.Envelope = append([]byte{}, st.Envelope...)
	tampered.Envelope[len(tampered.Envelope)-5] ^= 1
	other := st
	other.ChainID = "another-chain"
	for name, s := range map[string]signedTx{"tampered": tampered, "relabelled": other} {
		f := filepath.Join(t.TempDir(), name+".json")
		b, _ := json.Marshal(s)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, append([]string{"tx", "broadcast", f}, node...)...); err == nil {
			t.Errorf("%s file was broadcast", name)
		}
	}
}

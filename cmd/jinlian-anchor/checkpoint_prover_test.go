package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/anchortest"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
	"github.com/jinlian-ledger/jinlian/node/localnet"

	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// jsonRPCChain serves a simulated Ethereum chain over JSON-RPC that mines
// on its own, as a real one does, and writes its funded key to a file.
func jsonRPCChain(t *testing.T) (url, keyFile string, sim *devchain.Chain) {
	t.Helper()
	url, sim = anchortest.Chain(t)
	sim.MineEvery(100 * time.Millisecond)
	keyFile = filepath.Join(t.TempDir(), "eth.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(sim.Key))), 0o600); err != nil {
		t.Fatal(err)
	}
	return url, keyFile, sim
}

// `jinlian checkpoint deploy` deploys the anchor from a node's genesis over
// JSON-RPC and records it; the prover of `jinlian start --checkpoint.prover`
// (node.Start, which runs and supervises `jinlian-anchor run`: here this
// test binary) then proves and anchors the chain's checkpoints there,
// reading them over the node's RPC. A prover pointed at an anchor deployed
// for another genesis refuses to start, and so does its node. (Against a
// real geth --dev: TestGethDevDeployAndProver, behind the gethdev build
// tag.)
func TestCheckpointDeployAndProver(t *testing.T) {
	heavytest.Begin(t, "runs a localnet and proves checkpoints")
	url, keyFile, _ := jsonRPCChain(t)
	testDeployAndProver(t, url, keyFile)
}

// testDeployAndProver runs deploy and the prover against the Ethereum
// JSON-RPC endpoint url, paying with the key in keyFile.
func testDeployAndProver(t *testing.T, url, keyFile string) {
	asAnchorCommand(t)
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: 4})
	if err != nil {
		t.Fatal(err)
	}
	home := ln.Network.Nodes[1].Home
	out, err := runCLI(t, "checkpoint", "deploy", "-o", "json", "--home", home, "--eth-rpc", url, "--eth-key", keyFile)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	var dep checkpointDeployed
	if err := json.Unmarshal([]byte(out), &dep); err != nil || !common.IsHexAddress(dep.Anchor) || dep.ChainID != ln.Network.ChainID {
		t.Fatalf("deploy printed %s (%v)", out, err)
	}
	if info, ok := nodecfg.ReadAnchorInfo(home); !ok || info.Contract != dep.Anchor || info.RPC != url {
		t.Fatalf("anchor.json %+v", info)
	}
	if _, err := runCLI(t, "checkpoint", "deploy", "--home", home, "--eth-rpc", url, "--eth-key", filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "--eth-key") {
		t.Fatalf("deploy without a key file: %v", err)
	}
	// An anchor for another genesis: trusts a different epoch 0.
	g0, err := anchoring.GenesisCheckpoint(home)
	if err != nil {
		t.Fatal(err)
	}
	g0.AppHash[0] ^= 1
	ecl, err := ethclient.DialContext(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer ecl.Close()
	auth, err := relay.KeyedTransactor(context.Background(), ecl, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := relay.Deploy(context.Background(), ecl, auth, g0, nil)
	if err != nil {
		t.Fatal(err)
	}

	// node1's jinlian.toml turns its prover on, as an operator's would.
	ctx := heavytest.Context(t, 8*time.Minute)
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Checkpoint.Prover, cfg.Checkpoint.EthRPC, cfg.Checkpoint.EthKey = true, url, keyFile
	cfg.Checkpoint.Anchor = other.Hex()
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	if nodes, err := ln.Start(ctx, cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "deployed for another chain") {
		_ = node.StopAll(nodes)
		t.Fatalf("prover against another chain's anchor: %v", err)
	}
	cfg.Checkpoint.Anchor = "" // from anchor.json
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(ctx, cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	if nodes[1].Anchoring == nil || nodes[0].Anchoring != nil {
		t.Fatalf("anchoring on node0 %v, node1 %v: want node1's only", nodes[0].Anchoring, nodes[1].Anchoring)
	}
	cl, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := relay.New(cl, common.HexToAddress(dep.Anchor), nil, relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := r.Status(ctx)
		if err == nil && st.Epoch >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor at %+v, waiting for epoch 2: %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err = runCLI(t, "checkpoint", "verify", "--home", home, "--epoch", "2")
	if err != nil || !strings.Contains(out, "anchor: match") {
		t.Fatalf("verify against the deployed anchor: %v\n%s", err, out)
	}
}

package main

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/checkpointtest"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

type testCollector map[uint64][3]any

func (c testCollector) Collected(e uint64) (checkpoint.Checkpoint, []checkpoint.Validator, [][]byte, bool, error) {
	x, ok := c[e]
	if !ok {
		return checkpoint.Checkpoint{}, nil, nil, false, nil
	}
	return x[0].(checkpoint.Checkpoint), x[1].([]checkpoint.Validator), x[2].([][]byte), true, nil
}

// Proofs made by the worker are submitted with `jinlian checkpoint submit`
// over JSON-RPC to a simulated chain, then shown, and verified against the
// anchor.
func TestCheckpointCommands(t *testing.T) {
	heavytest.Begin(t, "proves checkpoints and anchors them on a simulated chain")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sim, err := devchain.NewWith(devchain.LiveRules(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.MineEvery(100 * time.Millisecond) // a chain that mines on its own, as a real one does

	p, err := prover.NewEdDSAGroth16(prover.DevSlots)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Setup(prover.DevKeysDir(), true); err != nil {
		t.Fatal(err)
	}
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	g := checkpointtest.Genesis(t, "jinlian-cli", vals, prover.DevSlots)
	anchor, err := relay.Deploy(context.Background(), sim.Client(), sim.Auth, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := testCollector{}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpointtest.Next(prev, 20*e, "cli")
		col[e] = [3]any{cp, vals, checkpointtest.Sign(t, keys, cp, 0, 1, 2)}
		prev = cp
	}
	dir := t.TempDir()
	store, _ := prover.OpenStore(filepath.Join(dir, "store"))
	w := &prover.Worker{Prover: p, Store: store, Collector: col}
	if proved, err := w.Step(context.Background()); err != nil || len(proved) != 2 {
		t.Fatalf("worker proved %v: %v", proved, err)
	}

	keyFile := filepath.Join(dir, "eth.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(sim.Key))), 0o600); err != nil {
		t.Fatal(err)
	}
	eth := []string{"--store", filepath.Join(dir, "store"), "--eth-rpc", "http://" + addr, "--anchor", anchor.Hex()}
	out, err := runCLI(t, append([]string{"checkpoint", "submit", "--eth-key", keyFile}, eth...)...)
	if err != nil || !strings.Contains(out, "epoch 1: anchored") || !strings.Contains(out, "epoch 2: anchored") {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	if out, err = runCLI(t, append([]string{"checkpoint", "submit", "--eth-key", keyFile}, eth...)...); err != nil || !strings.Contains(out, "nothing to submit") {
		t.Fatalf("second submit: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"checkpoint", "status"}, eth...)...)
	if err != nil || !strings.Contains(out, "latest anchored here:  2") || !strings.Contains(out, "epoch 2, height 40") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = runCLI(t, "checkpoint", "show", "--epoch", "2", "--store", filepath.Join(dir, "store"))
	if err != nil || !strings.Contains(out, "height:             40") || !strings.Contains(out, "gas") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"checkpoint", "verify", "--epoch", "2"}, eth...)...)
	if err != nil || !strings.Contains(out, "epoch 2: proof valid, chained to 1: true, anchor: match") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	// A record edited after proving no longer verifies.
	rec, _, _ := store.Load(2)
	rec.Checkpoint.AppHash[0] ^= 1
	if err := store.Save(rec); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, append([]string{"checkpoint", "verify", "--epoch", "2"}, eth...)...)
	if err == nil || !strings.Contains(out, "proof INVALID") || !strings.Contains(out, "anchor: mismatch") {
		t.Fatalf("verify of a tampered record: %v\n%s", err, out)
	}
}

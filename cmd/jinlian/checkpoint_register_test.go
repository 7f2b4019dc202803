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

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// TestCheckpointRegisterCommand rotates a running validator's checkpoint
// key with `jinlian checkpoint register --new-key`: another organisation's
// admin is refused; its own admin's registration makes that block a
// checkpoint handing over to the new set, which node0 proves and anchors,
// and the running node signs the next checkpoint with its new key.
func TestCheckpointRegisterCommand(t *testing.T) {
	heavytest.Begin(t, "runs a localnet and proves checkpoints")
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: 10})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	sim, err := devchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.MineEvery(time.Second)
	an, err := anchoring.Start(context.Background(), anchoring.Options{Node: nodes[0].Client(), Home: nodes[0].Home(), Chain: sim.Client(), Auth: sim.Auth, Deploy: true, Mine: sim.Mine, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(an.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 2); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	t.Setenv("JINLIAN_NODE", "")
	admins := map[string]string{}
	for _, id := range ln.Identities {
		admins[id.Org] = id.KeyFile
	}
	home1 := nodes[1].Home()
	oldKey, err := os.ReadFile(checkpoint.KeyFile(home1))
	if err != nil {
		t.Fatal(err)
	}
	register := func(from string) (string, error) {
		return runCLI(t, "checkpoint", "register", "-o", "json", "--home", home1, "--node", nodes[0].RPCAddr(), "--from", from, "--new-key")
	}
	if _, err := register(admins["bankA"]); err == nil || !strings.Contains(err.Error(), "lacks role admin of organisation bankB") {
		t.Fatalf("bankA's admin registered bankB's validator key: %v", err)
	}
	if b, _ := os.ReadFile(checkpoint.KeyFile(home1)); string(b) != string(oldKey) {
		t.Fatal("a refused registration replaced the key file")
	}
	out, err := register(admins["bankB"])
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	var res txResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Code != 0 || res.Height == 0 {
		t.Fatalf("register: %v %s", err, out)
	}
	newKey, err := checkpoint.LoadKey(checkpoint.KeyFile(home1), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), res.Height+2); err != nil {
		t.Fatal(err)
	}
	v, err := nodes[0].Store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	epoch, ok, err := app.CheckpointEpochAt(v, uint64(res.Height))
	if err != nil || !ok {
		t.Fatalf("the registration's height %d is not a checkpoint: %v", res.Height, err)
	}
	next, err := app.CheckpointSigners(v, epoch+1)
	if err != nil || len(next) != 2 {
		t.Fatalf("next set %+v %v", next, err)
	}
	found := false
	for _, val := range next {
		found = found || string(val.Key) == string(newKey.Public())
	}
	if !found {
		t.Fatal("the new key is not in the set the checkpoint hands over to")
	}
	for {
		st, err := an.Relayer.Status(ctx)
		if err == nil && st.Epoch >= epoch {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor at %+v, waiting for epoch %d: %v", st, epoch, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rec, ok, err := an.Store.Load(epoch)
	if err != nil || !ok || rec.Checkpoint.NextValidatorSet == rec.Checkpoint.ValidatorSet {
		t.Fatalf("anchored hand-over checkpoint %+v %v", rec.Checkpoint, err)
	}
	// The next checkpoint needs both validators' signatures (2 of 2 equal
	// powers), node1's with the new key: the running node picked up the
	// rotated key file without a restart.
	for {
		st, err := an.Relayer.Status(ctx)
		if err == nil && st.Epoch >= epoch+1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor at %+v, waiting for epoch %d signed with the new key: %v", st, epoch+1, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// `jinlian checkpoint encrypt-key` converts a plain checkpoint key file of
// an earlier version, under the node key's passphrase only.
func TestCheckpointEncryptKeyCommand(t *testing.T) {
	home := t.TempDir()
	nk, _ := gmcrypto.GenerateKey()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := gmcrypto.SaveKey(node.SM2KeyFile(home), gmcrypto.KeyInfo{Name: "node"}, nk, []byte("node pass")); err != nil {
		t.Fatal(err)
	}
	k, _ := checkpoint.GenerateKey(nil)
	plain, _ := json.Marshal(map[string]string{"public_key": hex.EncodeToString(k.Public()), "private_key": hex.EncodeToString(k.Bytes())})
	if err := os.WriteFile(checkpoint.KeyFile(home), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, pass, wantOut, wantErr string
		encrypted                    bool
	}{
		{"another passphrase than the node key's", "other", "", "wrong passphrase", false},
		{"the node key's passphrase", "node pass", "encrypted ", "", true},
		{"again", "node pass", "already encrypted", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(gmcrypto.PassphraseEnv, c.pass)
			out, err := runCLI(t, "checkpoint", "encrypt-key", "--home", home)
			if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) || !strings.Contains(out, c.wantOut) {
				t.Fatalf("out %q err %v", out, err)
			}
			if isPlain, _ := checkpoint.IsPlainKeyFile(checkpoint.KeyFile(home)); isPlain == c.encrypted {
				t.Fatalf("plain = %v", isPlain)
			}
		})
	}
	if got, err := checkpoint.LoadKey(checkpoint.KeyFile(home), []byte("node pass")); err != nil || string(got.Public()) != string(k.Public()) {
		t.Fatalf("encrypted key: %v", err)
	}
}

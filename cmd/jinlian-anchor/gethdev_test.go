//go:build gethdev

package main

// Runs `jinlian checkpoint deploy` and the prover of `jinlian start
// --checkpoint.prover` against a real `geth --dev` process:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./cmd/jinlian-anchor
//
// GETH names the binary (default: geth on PATH).

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

func TestGethDevDeployAndProver(t *testing.T) {
	heavytest.Begin(t, "runs geth --dev, a localnet, and proves checkpoints")
	bin := os.Getenv("GETH")
	if bin == "" {
		bin = "geth"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not found: go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	geth, err := relay.StartGethDev(ctx, relay.GethDevOptions{Bin: bin, DataDir: t.TempDir(), Log: os.Stderr, Args: []string{"--dev.period", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = geth.Close() })
	keyFile := filepath.Join(t.TempDir(), "eth.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(geth.Key))), 0o600); err != nil {
		t.Fatal(err)
	}
	testDeployAndProver(t, geth.URL, keyFile)
}

//go:build gethdev

package main

// Runs `jinlian checkpoint deploy` and the prover of `jinlian start
// --checkpoint.prover` against a real `geth --dev` process:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./cmd/jinlian
//
// GETH names the binary (default: geth on PATH).

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/jinlian-ledger/jinlian/consensus/checkpoint/relay"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

func TestGethDevDeployAndProver(t *testing.T) {
	heavytest.Begin(t, "runs geth --dev, a localnet, and proves checkpoints")
	url, _, key := relay.StartGethDev(t, "--dev.period", "1")
	keyFile := filepath.Join(t.TempDir(), "eth.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(key))), 0o600); err != nil {
		t.Fatal(err)
	}
	testDeployAndProver(t, url, keyFile)
}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionDeps keeps development-only code out of the production
// binary (a plain go build): the in-process Ethereum chain (a whole
// go-ethereum node and pebble), the benchmark harness (CometBFT's kvstore)
// and test helpers are linked only with -tags dev or by tests, and no
// package of ours imports testing. Dependencies that import testing
// (CometBFT's libs/log) are theirs. The checkpoint prover and relayer
// (gnark, go-ethereum) are jinlian-anchor's (cmd/jinlian-anchor): jinlian
// runs that binary, and links neither; the checkpoint core's gnark-crypto
// (BN254 EdDSA signatures, the MiMC commitment) is the state machine's.
func TestProductionDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/jinlian-ledger/jinlian"
	// A trailing * forbids every package whose path starts so.
	forbidden := []string{
		module + "/consensus/prover/relay/devchain",
		module + "/consensus/prover/checkpointtest",
		module + "/test/*",
		"github.com/ethereum/go-ethereum/ethclient/simulated",
		"github.com/ethereum/go-ethereum/eth",
		"github.com/ethereum/go-ethereum/miner",
		"github.com/ethereum/go-ethereum/node",
		"github.com/ethereum/go-ethereum/p2p",
		"github.com/ethereum/go-ethereum/core/vm",
		"github.com/cockroachdb/pebble*",
		// The prover and relayer: jinlian-anchor's.
		module + "/consensus/prover*",
		module + "/node/anchoring",
		"github.com/consensys/gnark",
		"github.com/consensys/gnark/*",
		"github.com/ethereum/go-ethereum*",
		"github.com/ethereum/c-kzg-4844*",
		"github.com/crate-crypto/go-eth-kzg*",
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, f := range forbidden {
			if prefix, ok := strings.CutSuffix(f, "*"); pkg == f || ok && strings.HasPrefix(pkg, prefix) {
				t.Errorf("the production binary links %s (development only: build it with -tags dev; the prover and relayer: cmd/jinlian-anchor)", pkg)
			}
		}
		if strings.HasPrefix(pkg, module+"/") || pkg == "main" {
			for _, imp := range strings.Fields(imports) {
				if imp == "testing" {
					t.Errorf("%s imports testing outside its tests", pkg)
				}
			}
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// `jinlian checkpoint deploy|status|verify|submit|show|ceremony` run
// `jinlian-anchor checkpoint ...` with the same arguments (flags before the
// command included) and its exit status; without jinlian-anchor they say
// which command to install.
func TestCheckpointCommandsRunJinlianAnchor(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := filepath.Join(dir, node.AnchorCommand)
	script := "#!/bin/sh\necho \"$@\" > " + args + "\necho anchored\n[ \"$3\" = --fail ] && exit 4\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(node.AnchorCommandEnv, fake)
	out, err := runCLI(t, "--home", "/h", "checkpoint", "deploy", "--eth-rpc", "http://x", "-o", "json")
	if err != nil || out != "anchored\n" {
		t.Fatalf("deploy through jinlian-anchor: %v, printed %q", err, out)
	}
	if got, _ := os.ReadFile(args); string(got) != "checkpoint deploy --home /h --eth-rpc http://x -o json\n" {
		t.Fatalf("jinlian-anchor got %q", got)
	}
	if _, err := runCLI(t, "checkpoint", "ceremony", "--fail"); err == nil || err.Error() != "exit status 4" {
		t.Fatalf("a failing jinlian-anchor: %v", err)
	}
	if got, _ := os.ReadFile(args); string(got) != "checkpoint ceremony --fail\n" {
		t.Fatalf("jinlian-anchor got %q", got)
	}

	t.Setenv(node.AnchorCommandEnv, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := runCLI(t, "checkpoint", "status"); err == nil || !strings.Contains(err.Error(), "jinlian checkpoint status runs jinlian-anchor checkpoint status, and jinlian-anchor not found") {
		t.Fatalf("without jinlian-anchor: %v", err)
	}
}

// `jinlian start` of a node whose configuration turns the prover on runs
// jinlian-anchor; without it the node does not start, and says what to
// install or run. --eth-rpc and --eth-key are short for
// --checkpoint.eth_rpc and --checkpoint.eth_key, which the configuration's
// check sees.
func TestStartProverNeedsJinlianAnchor(t *testing.T) {
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, BasePort: base, CheckpointInterval: 4})
	if err != nil {
		t.Fatal(err)
	}
	home := ln.Network.Nodes[0].Home
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	t.Setenv(node.AnchorCommandEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err = runCLI(t, "start", "--home", home, "--checkpoint.prover", "--eth-rpc", "http://127.0.0.1:1", "--eth-key", filepath.Join(home, "eth.key"))
	if err == nil || !strings.Contains(err.Error(), "checkpoint.prover is on and jinlian-anchor not found") ||
		!strings.Contains(err.Error(), "jinlian-anchor run --home "+home) {
		t.Fatalf("start with the prover and no jinlian-anchor: %v", err)
	}
}

package main

import (
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// lines collects what a supervised process writes.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// What a plain build's `jinlian localnet` runs for node0
// (cmd/jinlian/localnet_nodev.go): `jinlian-anchor localnet`, here this
// test binary, supervised by node.StartAnchorProcess, deploys a fresh
// anchor on the endpoint of --eth-rpc once the localnet has made block 1,
// says so in its first line, and anchors the localnet's checkpoints there
// until stopped.
func TestLocalnetCommand(t *testing.T) {
	heavytest.Begin(t, "runs a localnet and proves checkpoints")
	asAnchorCommand(t)
	url, keyFile, _ := jsonRPCChain(t)
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := heavytest.Context(t, 8*time.Minute)
	// The anchoring starts as the nodes do, before block 1.
	nodes, err := ln.Start(ctx, cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	var out lines
	p, err := node.StartAnchorProcess(ctx, node.AnchorProcessOptions{
		Args: []string{"localnet", "--home", nodes[0].Home(), "--localnet-home", ln.Home, "--node", nodes[0].RPCAddr(), "--eth-rpc", url, "--eth-key", keyFile},
		Out:  &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	m := regexp.MustCompile(`^checkpoints every 4 blocks, proved by .* and anchored at (0x[0-9a-fA-F]{40}) on the Ethereum chain of --eth-rpc`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("first line: %q", out.String())
	}
	cl, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := relay.New(cl, common.HexToAddress(m[1]), nil, relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := r.Status(ctx)
		if err == nil && st.Epoch >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor at %+v, waiting for epoch 1: %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

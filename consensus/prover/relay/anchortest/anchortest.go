// Package anchortest serves a development Ethereum chain over HTTP with
// CheckpointAnchor contracts on it, for the tests of the anchor's readers
// and relayers (proof, node, console, jinlian-anchor). Only tests import
// it: it imports testing.
package anchortest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
)

// Chain starts an in-process Ethereum chain (devchain's live rules)
// serving JSON-RPC at the returned http://127.0.0.1:PORT; it stops with
// the test.
func Chain(t testing.TB) (url string, eth *devchain.Chain) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if eth, err = devchain.NewWith(devchain.LiveRules(), addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eth.Close() })
	return "http://" + addr, eth
}

// Deploy deploys on eth a CheckpointAnchor that trusts cp as a chain's
// anchor trusts its epoch 0, so that cp is its latest anchored
// checkpoint, and returns its address.
func Deploy(t testing.TB, eth *devchain.Chain, cp checkpoint.Checkpoint) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := relay.Deploy(ctx, eth.Client(), eth.Auth, cp, eth.Mine)
	if err != nil {
		t.Fatal(err)
	}
	return a.Hex()
}

// Serve is Chain with one anchor trusting cp: the endpoint and the
// contract.
func Serve(t testing.TB, cp checkpoint.Checkpoint) (url, contract string) {
	t.Helper()
	url, eth := Chain(t)
	return url, Deploy(t, eth, cp)
}

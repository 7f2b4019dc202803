package proof_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/anchortest"
	"github.com/jinlian-ledger/jinlian/proof"
)

// CheckAnchor against CheckpointAnchor contracts on a real in-process
// Ethereum chain, read over its HTTP JSON-RPC as a verifier would: each
// contract trusts, at deployment, one checkpoint (as a chain's anchor
// trusts its epoch 0), so the test chooses what is anchored without
// proving. A contract anchoring the bundle's height and app hash passes;
// another app hash at that height, another height, another chain, or no
// contract at the address fails with the named error.
func TestCheckAnchor(t *testing.T) {
	ch := startChain(t)
	rep, err := proof.Verify(reencode(t, ch.State), proof.Trust{Genesis: ch.Genesis})
	if err != nil {
		t.Fatal(err)
	}
	url, eth := anchortest.Chain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var appHash checkpoint.Hash32
	copy(appHash[:], ch.State.AppHash)
	deploy := func(cp checkpoint.Checkpoint) string { return anchortest.Deploy(t, eth, cp) }
	at := checkpoint.Checkpoint{ChainID: ch.Genesis.ChainID, Epoch: 3, Height: uint64(ch.State.Height), AppHash: appHash}
	other := at
	other.AppHash[0] ^= 1
	later := at
	later.Height += 5
	foreign := at
	foreign.ChainID = "another-chain"
	good := deploy(at)

	got, err := proof.CheckAnchor(ctx, proof.Anchor{RPC: url, Address: good}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 3 || got.Height != uint64(rep.Height) || got.AppHash != rep.AppHash || got.EthTx == "" || got.EthBlock == 0 ||
		got.Checkpoint != at.Hash().String() || !strings.EqualFold(got.Contract, good) {
		t.Fatalf("anchor report %+v", got)
	}
	for _, c := range []struct {
		name    string
		a       proof.Anchor
		want    error
		message string
	}{
		{"another app hash at the height", proof.Anchor{RPC: url, Address: deploy(other)}, proof.ErrAnchor, "the bundle proves " + rep.AppHash},
		{"only a later height anchored", proof.Anchor{RPC: url, Address: deploy(later)}, proof.ErrNotAnchored,
			"no checkpoint of height " + strconv.FormatInt(rep.Height, 10) + " (none below it, the nearest above is " + strconv.FormatUint(later.Height, 10)},
		{"another chain's anchor", proof.Anchor{RPC: url, Address: deploy(foreign)}, proof.ErrAnchor, `not "` + ch.Genesis.ChainID + `"`},
		{"no contract at the address", proof.Anchor{RPC: url, Address: "0x00000000000000000000000000000000000000aa"}, proof.ErrEthereum, "is it a CheckpointAnchor contract?"},
		{"searched from after the anchoring", proof.Anchor{RPC: url, Address: good, FromBlock: got.EthBlock + 1}, proof.ErrNotAnchored, "none above it yet"},
		{"no endpoint", proof.Anchor{RPC: "http://127.0.0.1:1", Address: good}, proof.ErrEthereum, "127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := proof.CheckAnchor(ctx, c.a, rep)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("got %v, want %v containing %q", err, c.want, c.message)
			}
		})
	}
	if _, err := proof.CheckAnchor(ctx, proof.Anchor{RPC: url, Address: "0x12"}, rep); err == nil || !strings.Contains(err.Error(), `"0x12" is not an Ethereum address`) {
		t.Fatalf("malformed address: %v", err)
	}
}

// LatestAnchored reads what a status page shows: the latest checkpoint a
// contract anchored, with the Ethereum transaction that anchored it; an
// anchor of another chain is refused.
func TestLatestAnchored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := checkpoint.Checkpoint{ChainID: "jinlian-status", Epoch: 4, Height: 40}
	at.AppHash[0], at.AppHash[31] = 0xa1, 0x1a
	url, contract := anchortest.Serve(t, at)
	anchor := proof.Anchor{RPC: url, Address: contract}
	got, err := proof.LatestAnchored(ctx, anchor, at.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 4 || got.Height != 40 || got.AppHash != at.AppHash.String() || got.EthTx == "" || got.EthBlock == 0 || got.Checkpoint != at.Hash().String() {
		t.Fatalf("latest anchored %+v", got)
	}
	if _, err := proof.LatestAnchored(ctx, anchor, "another-chain"); !errors.Is(err, proof.ErrAnchor) {
		t.Fatalf("another chain's anchor: %v", err)
	}
}

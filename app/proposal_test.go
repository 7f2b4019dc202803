package app

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/wire"
)

// TestPrepareProposalCap pins Options.MaxProposalTxs: the proposer takes at
// most that many of the mempool's transactions, in the mempool's order,
// after the QC transaction, which it does not count.
func TestPrepareProposalCap(t *testing.T) {
	mempool := make([][]byte, 10)
	for i := range mempool {
		mempool[i] = []byte(fmt.Sprintf("mempool tx %02d", i))
	}
	cases := []struct {
		name    string
		cap     int
		room    int // mempool transactions MaxTxBytes leaves room for after the QC; 0: 1 MiB
		wantTxs int // mempool transactions in the proposal
	}{
		{"no cap: everything block.max_bytes allows", 0, 0, 10},
		{"cap below the mempool", 3, 0, 3},
		{"cap of one", 1, 0, 1},
		{"cap above the mempool", 50, 0, 10},
		{"block.max_bytes still binds below the cap", 8, 5, 5},
		{"a negative cap is no cap", -1, 0, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newQCNetWith(t, Options{MaxProposalTxs: c.cap})
			ctx := context.Background()
			n.block() // height 1
			votes := n.extensions(2)
			n.block() // height 2
			req := &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 1 << 20, Txs: mempool,
				LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes}}
			if c.room > 0 {
				qcOnly, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 1 << 20,
					LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes}})
				if err != nil || len(qcOnly.Txs) != 1 {
					t.Fatalf("QC-only proposal: %v %v", qcOnly, err)
				}
				// As CometBFT counts: each transaction's protobuf size.
				size := func(tx []byte) int64 { return cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{tx}) }
				req.MaxTxBytes = size(qcOnly.Txs[0]) + int64(c.room)*size(mempool[0])
			}
			prep, err := n.app.PrepareProposal(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(prep.Txs) == 0 || !wire.IsQCTx(prep.Txs[0]) {
				t.Fatalf("the QC transaction is not first in the proposal")
			}
			got := prep.Txs[1:]
			if len(got) != c.wantTxs {
				t.Fatalf("proposal holds %d mempool transactions, want %d", len(got), c.wantTxs)
			}
			for i, tx := range got {
				if !bytes.Equal(tx, mempool[i]) {
					t.Fatalf("proposal tx %d is %q, want the mempool's %q", i, tx, mempool[i])
				}
			}
		})
	}
}

// TestProcessProposalAcceptsOverCap pins that the cap is only what a node
// proposes: a validator with a small cap accepts and executes a bigger block
// from a proposer with another setting, to the same app hash.
func TestProcessProposalAcceptsOverCap(t *testing.T) {
	h := newHarness(t)
	capped := h.twin(Options{MaxProposalTxs: 2})
	var txs [][]byte
	for range 5 {
		txs = append(txs, h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1)))
	}
	// The capped node would propose only two of them...
	prep, err := capped.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Height: 1, MaxTxBytes: 1 << 20, Txs: txs})
	if err != nil || len(prep.Txs) != 2 {
		t.Fatalf("capped PrepareProposal: %d txs, %v; want 2", len(prep.Txs), err)
	}
	// ...but accepts all five from another proposer (block fails the test
	// on a rejection) and executes them as the uncapped node does.
	for _, node := range []*harness{h, capped} {
		for i, r := range node.block(txs...) {
			if r.Code != 0 {
				t.Fatalf("tx %d: code %d: %s", i, r.Code, r.Log)
			}
		}
	}
	if a, b := h.store.LastCommit().AppHash, capped.store.LastCommit().AppHash; !bytes.Equal(a, b) {
		t.Fatalf("app hashes differ: %X (no cap) vs %X (cap 2)", a, b)
	}
	if got := capped.balance(h.bob); got != 5 {
		t.Fatalf("bob holds %d, want 5", got)
	}
}

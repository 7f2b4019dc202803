package app

import (
	"bytes"
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// A proposal never exceeds MaxTxBytes as CometBFT counts it (each
// transaction's protobuf size, tag and length included): CometBFT panics
// in consensus on one that does. Before, bare lengths were counted and a
// full block of small transactions went over by a few bytes each.
func TestPrepareProposalWithinMaxTxBytes(t *testing.T) {
	a := newQCNet(t).app
	var txs [][]byte
	for i := range 5000 {
		txs = append(txs, bytes.Repeat([]byte{byte(i)}, 400))
	}
	const max = 1 << 20
	res, err := a.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Height: 1, MaxTxBytes: max, Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]cmttypes.Tx, len(res.Txs))
	for i, tx := range res.Txs {
		got[i] = tx
	}
	if size := cmttypes.ComputeProtoSizeForTxs(got); size > max || len(got) == 0 {
		t.Errorf("%d transactions of protobuf size %d, want at most %d", len(got), size, max)
	}
}

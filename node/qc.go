package node

import (
	"context"
	"errors"
	"fmt"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BlockReader is what FetchQC reads: a CometBFT RPC client, or a node's
// local one.
type BlockReader interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
	Block(ctx context.Context, height *int64) (*coretypes.ResultBlock, error)
}

// ErrNoQCYet is returned by FetchQC for a height whose certificate is not
// committed yet.
var ErrNoQCYet = errors.New("no quorum certificate yet")

// FetchQC reads the SM2 quorum certificate of height from block height+2,
// whose first transaction carries it (the state keeps the QCs of
// checkpoint heights only: docs/adr/0009-state-encoding.md).
func FetchQC(ctx context.Context, c BlockReader, height int64) (app.QCResponse, error) {
	if height < 1 {
		return app.QCResponse{}, fmt.Errorf("height %d: want a positive height", height)
	}
	carrier := height + 2
	st, err := c.Status(ctx)
	if err != nil {
		return app.QCResponse{}, fmt.Errorf("status: %w", err)
	}
	if latest := st.SyncInfo.LatestBlockHeight; latest < carrier {
		return app.QCResponse{}, fmt.Errorf("%w for height %d: block %d carries it and the chain is at %d", ErrNoQCYet, height, carrier, latest)
	}
	b, err := c.Block(ctx, &carrier)
	if err != nil {
		return app.QCResponse{}, fmt.Errorf("block %d (which carries the certificate of height %d): %w", carrier, height, err)
	}
	if b.Block == nil {
		return app.QCResponse{}, fmt.Errorf("block %d (which carries the certificate of height %d) is not in the block store", carrier, height)
	}
	qc, err := wire.QCOfBlock(b.Block.Txs)
	if err != nil {
		return app.QCResponse{}, fmt.Errorf("block %d: %w", carrier, err)
	}
	if qc == nil {
		return app.QCResponse{}, fmt.Errorf("no quorum certificate for height %d: block %d carries none (its proposer gathered SM2 signatures of too little power)", height, carrier)
	}
	if qc.Height != height {
		return app.QCResponse{}, fmt.Errorf("block %d carries the certificate of height %d, not %d", carrier, qc.Height, height)
	}
	return app.NewQCResponse(qc), nil
}

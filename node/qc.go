package node

import (
	"context"
	"fmt"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/wire"
)

// FetchQC reads the SM2 quorum certificate of height from block height+2
// (wire.QCAt) as `jinlian query qc` prints it; wire.ErrNoQCYet while that
// block is not committed.
func FetchQC(ctx context.Context, c wire.BlockReader, height int64) (app.QCResponse, error) {
	qc, err := wire.QCAt(ctx, c, height)
	if err != nil {
		return app.QCResponse{}, err
	}
	if qc == nil {
		return app.QCResponse{}, fmt.Errorf("no quorum certificate for height %d: block %d carries none (its proposer gathered SM2 signatures of too little power)", height, height+2)
	}
	return app.NewQCResponse(qc), nil
}

package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"google.golang.org/protobuf/proto"
)

// The quorum-certificate transaction: the proposer of height h+2 injects the
// SM2 QC of height h as the first transaction of its block (app/qc.go).

// QCTxPrefix marks the proposer-injected QC transaction. An envelope starts
// with a protobuf tag byte, never with 'J', so the two cannot be confused.
var QCTxPrefix = []byte("JLQC")

// IsQCTx reports whether raw is a QC transaction.
func IsQCTx(raw []byte) bool { return bytes.HasPrefix(raw, QCTxPrefix) }

// EncodeQCTx wraps a QC as a transaction.
func EncodeQCTx(qc *txpb.QuorumCertificate) ([]byte, error) {
	b, err := proto.Marshal(qc)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, QCTxPrefix...), b...), nil
}

// DecodeQCTx unwraps a QC transaction.
func DecodeQCTx(raw []byte) (*txpb.QuorumCertificate, error) {
	if !IsQCTx(raw) {
		return nil, ErrTxDecode.Wrapf("not a quorum certificate transaction")
	}
	var qc txpb.QuorumCertificate
	if err := proto.Unmarshal(raw[len(QCTxPrefix):], &qc); err != nil {
		return nil, ErrTxDecode.Wrapf("quorum certificate: %v", err)
	}
	return &qc, nil
}

// BlockReader is what QCAt reads: a CometBFT RPC client, or a node's
// local one.
type BlockReader interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
	Block(ctx context.Context, height *int64) (*coretypes.ResultBlock, error)
}

// ErrNoQCYet is returned by QCAt for a height whose certificate is not
// committed yet.
var ErrNoQCYet = errors.New("no quorum certificate yet")

// QCAt reads the SM2 quorum certificate of height h from block h+2, whose
// first transaction carries it; nil when that block carries none (its
// proposer gathered signatures of too little power). The state keeps the
// QCs of checkpoint heights only (docs/adr/0009-state-encoding.md), so
// this is where every reader finds a height's certificate.
func QCAt(ctx context.Context, c BlockReader, h int64) (*txpb.QuorumCertificate, error) {
	if h < 1 {
		return nil, fmt.Errorf("height %d: want a positive height", h)
	}
	carrier := h + 2
	b, err := c.Block(ctx, &carrier)
	if err != nil {
		// Only then ask whether the block is simply not there yet.
		if st, serr := c.Status(ctx); serr == nil && st.SyncInfo.LatestBlockHeight < carrier {
			return nil, fmt.Errorf("%w for height %d: block %d carries it and the chain is at %d", ErrNoQCYet, h, carrier, st.SyncInfo.LatestBlockHeight)
		}
		return nil, fmt.Errorf("block %d (which carries the certificate of height %d): %w", carrier, h, err)
	}
	if b.Block == nil {
		return nil, fmt.Errorf("block %d (which carries the certificate of height %d) is not in the block store", carrier, h)
	}
	if len(b.Block.Txs) == 0 || !IsQCTx(b.Block.Txs[0]) {
		return nil, nil
	}
	qc, err := DecodeQCTx(b.Block.Txs[0])
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", carrier, err)
	}
	if qc.Height != h {
		return nil, fmt.Errorf("block %d carries the certificate of height %d, not %d", carrier, qc.Height, h)
	}
	return qc, nil
}

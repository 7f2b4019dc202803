package wire

import (
	"bytes"

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

// QCOfBlock returns the QC a committed block carries (block h+2 carries
// the QC of height h, as its first transaction), or nil when it carries
// none. txs are the block's transactions.
func QCOfBlock[T ~[]byte](txs []T) (*txpb.QuorumCertificate, error) {
	if len(txs) == 0 || !IsQCTx(txs[0]) {
		return nil, nil
	}
	return DecodeQCTx(txs[0])
}

package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// The results commitment (docs/adr/0013-tx-results-commitment.md): at
// FinalizeBlock of height h the app computes an SM3 Merkle root over the
// block's transactions in order,
//
//	leaf_i = SM3(0x00 ‖ uint32be(i) ‖ SM3(tx_i) ‖ uint32be(code_i))
//	inner  = SM3(0x01 ‖ left ‖ right)
//
// (leaves paired left to right, an odd node at the end of a level promoted
// unchanged, as in the app hash: ledger.AppHash), and writes the record
//
//	_system / meta/txresults → uint64be(h) ‖ uint32be(n) ‖ root (32 bytes)
//
// (n transactions; an empty block has root SM3("")), overwriting the
// record of the previous height. The record is state, so the app hash of
// h, which the SM2 quorum certificate of h signs, commits to every
// transaction of block h and its result code.

// TxResultsKey is the _system key of the results record.
var TxResultsKey = []byte("meta/txresults")

// TxResultsRecordSize is the size of an encoded TxResultsRecord.
const TxResultsRecordSize = 8 + 4 + gmcrypto.HashSize

// TxResultsRecord is the results commitment of one block.
type TxResultsRecord struct {
	Height int64
	Count  uint32
	Root   [gmcrypto.HashSize]byte
}

// Encode returns the record's state bytes.
func (r TxResultsRecord) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, TxResultsRecordSize), uint64(r.Height))
	b = binary.BigEndian.AppendUint32(b, r.Count)
	return append(b, r.Root[:]...)
}

// ErrTxResults is returned for a malformed record or a results path that
// does not lead to the record's root.
var ErrTxResults = errors.New("transaction results commitment")

// DecodeTxResultsRecord reads a record's state bytes.
func DecodeTxResultsRecord(b []byte) (TxResultsRecord, error) {
	var r TxResultsRecord
	if len(b) != TxResultsRecordSize {
		return r, fmt.Errorf("%w: record of %d bytes, want %d", ErrTxResults, len(b), TxResultsRecordSize)
	}
	r.Height = int64(binary.BigEndian.Uint64(b))
	r.Count = binary.BigEndian.Uint32(b[8:])
	copy(r.Root[:], b[12:])
	return r, nil
}

// TxResultLeaf is the leaf of transaction tx at position index with
// result code code.
func TxResultLeaf(index uint32, tx []byte, code uint32) [gmcrypto.HashSize]byte {
	txHash := gmcrypto.SM3(tx)
	return gmcrypto.SM3([]byte{0x00}, binary.BigEndian.AppendUint32(nil, index), txHash[:], binary.BigEndian.AppendUint32(nil, code))
}

func resultsInner(l, r []byte) [gmcrypto.HashSize]byte {
	return gmcrypto.SM3([]byte{0x01}, l, r)
}

// TxResultsRoot is the SM3 Merkle root over leaves (TxResultLeaf, in
// block order).
func TxResultsRoot(leaves [][gmcrypto.HashSize]byte) [gmcrypto.HashSize]byte {
	if len(leaves) == 0 {
		return gmcrypto.SM3()
	}
	level := append([][gmcrypto.HashSize]byte(nil), leaves...)
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i+1 < len(level); i += 2 {
			next = append(next, resultsInner(level[i][:], level[i+1][:]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0]
}

// ResultStep is a sibling on the path from a leaf up: Left when the
// sibling is on the left.
type ResultStep struct {
	Left bool
	Hash [gmcrypto.HashSize]byte
}

// TxResultsPath returns the siblings of leaf index among leaves, from the
// leaf up (levels where the node is promoted have no step).
func TxResultsPath(leaves [][gmcrypto.HashSize]byte, index int) ([]ResultStep, error) {
	if index < 0 || index >= len(leaves) {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrTxResults, index, len(leaves))
	}
	var path []ResultStep
	level := append([][gmcrypto.HashSize]byte(nil), leaves...)
	for len(level) > 1 {
		switch {
		case index%2 == 1:
			path = append(path, ResultStep{Left: true, Hash: level[index-1]})
		case index+1 < len(level):
			path = append(path, ResultStep{Hash: level[index+1]})
		}
		next := level[:0:0]
		for i := 0; i+1 < len(level); i += 2 {
			next = append(next, resultsInner(level[i][:], level[i+1][:]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level, index = next, index/2
	}
	return path, nil
}

// VerifyTxResult checks that transaction tx at position index with result
// code code is a leaf under root by path. The leaf binds the position and
// the leaf and inner tags differ, so no other leaf list reaches root.
func VerifyTxResult(root [gmcrypto.HashSize]byte, index uint32, tx []byte, code uint32, path []ResultStep) error {
	h := TxResultLeaf(index, tx, code)
	for _, s := range path {
		if s.Left {
			h = resultsInner(s.Hash[:], h[:])
		} else {
			h = resultsInner(h[:], s.Hash[:])
		}
	}
	if !bytes.Equal(h[:], root[:]) {
		return fmt.Errorf("%w: transaction %d with code %d and its path lead to %X, the record's root is %X", ErrTxResults, index, code, h, root)
	}
	return nil
}

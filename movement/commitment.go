package movement

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Tag separates the chain's hashes from every other SM3 jinlian computes.
const Tag = "jinlian/movement/v1"

// Commitment is an account's running commitment: the hash chain over its
// movements in chain order, how many there were, and its balance after the
// last one (for an account funded in the genesis and never moved since:
// the genesis balance, with count 0). The zero Commitment is an account
// that never held or moved the asset.
type Commitment struct {
	Chain   [gmcrypto.HashSize]byte
	Count   uint64
	Balance uint64
}

// CommitmentSize is the length of an encoded Commitment.
const CommitmentSize = gmcrypto.HashSize + 16

// ErrBadCommitment: a stored commitment that does not decode.
var ErrBadCommitment = errors.New("malformed completeness commitment")

// Encode is chain (32) ‖ be64(count) ‖ be64(balance): the value kept in
// the sub-ledger's state.
func (c Commitment) Encode() []byte { return c.AppendEncode(make([]byte, 0, CommitmentSize)) }

// AppendEncode appends Encode's form to dst.
func (c Commitment) AppendEncode(dst []byte) []byte {
	dst = append(dst, c.Chain[:]...)
	dst = binary.BigEndian.AppendUint64(dst, c.Count)
	return binary.BigEndian.AppendUint64(dst, c.Balance)
}

// DecodeCommitment reads Encode's form, as a state proof delivers it:
// exactly CommitmentSize bytes, and a zero chain exactly when the count
// is 0.
func DecodeCommitment(b []byte) (Commitment, error) {
	var c Commitment
	if len(b) != CommitmentSize {
		return c, fmt.Errorf("%w: %d bytes, want %d", ErrBadCommitment, len(b), CommitmentSize)
	}
	copy(c.Chain[:], b)
	c.Count = binary.BigEndian.Uint64(b[gmcrypto.HashSize:])
	c.Balance = binary.BigEndian.Uint64(b[gmcrypto.HashSize+8:])
	if (c.Count == 0) != (c.Chain == [gmcrypto.HashSize]byte{}) {
		return Commitment{}, fmt.Errorf("%w: count %d with chain %x", ErrBadCommitment, c.Count, c.Chain)
	}
	return c, nil
}

// Next is c after movement m: the one SM3 a movement costs.
func (c Commitment) Next(m Movement) (Commitment, error) {
	var buf [256]byte
	b := append(buf[:0], Tag...)
	b = append(b, c.Chain[:]...)
	b, err := m.appendTo(b)
	if err != nil {
		return c, err
	}
	return Commitment{Chain: gmcrypto.SM3(b), Count: c.Count + 1, Balance: m.BalanceAfter}, nil
}

// Replay folds ms into from, in order.
func Replay(from Commitment, ms []Movement) (Commitment, error) {
	c := from
	for i, m := range ms {
		var err error
		if c, err = c.Next(m); err != nil {
			return c, fmt.Errorf("movement %d: %w", i, err)
		}
	}
	return c, nil
}

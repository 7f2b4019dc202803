package checkpoint

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"golang.org/x/crypto/sha3"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Domain tags. HashDomain separates the SM3 checkpoint hash from every other
// SM3 hash jinlian defines; DigestDomain is the EVM digest's first word, the
// same constant CheckpointAnchor.sol holds.
const (
	HashDomain   = "jinlian/checkpoint/v1"
	DigestDomain = "jinlian/checkpoint/v1"
)

// DevSlots is the slot count of the development circuit: the localnet has
// at most 7 validators. The committed contracts/ethereum/Verifier.sol is
// exported from the development keys of this size (consensus/prover).
const DevSlots = 8

// Hash32 is a 32-byte hash or commitment, printed as upper-case hex like
// CometBFT prints app hashes.
type Hash32 [32]byte

func (h Hash32) String() string { return strings.ToUpper(hex.EncodeToString(h[:])) }

// IsZero reports whether h is all zeros.
func (h Hash32) IsZero() bool { return h == Hash32{} }

// MarshalText encodes h as hex.
func (h Hash32) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes hex of exactly 32 bytes.
func (h *Hash32) UnmarshalText(b []byte) error {
	v, err := ParseHash32(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash32 decodes 64 hex digits (an optional 0x prefix is allowed).
func ParseHash32(s string) (Hash32, error) {
	var h Hash32
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%q is not 32 bytes of hex", s)
	}
	copy(h[:], b)
	return h, nil
}

// Checkpoint is checkpoint Epoch of chain ChainID: the state after block
// Height (AppHash), chained to checkpoint Epoch−1 by PrevHash, signed by the
// validator set with commitment ValidatorSet, which hands over to
// NextValidatorSet (equal to it unless the set changes).
type Checkpoint struct {
	ChainID          string `json:"chain_id"`
	Epoch            uint64 `json:"epoch"`
	Height           uint64 `json:"height"`
	AppHash          Hash32 `json:"app_hash"`
	PrevHash         Hash32 `json:"prev_hash"`
	ValidatorSet     Hash32 `json:"validator_set"`
	NextValidatorSet Hash32 `json:"next_validator_set"`
}

// Errors of checkpoint validation.
var (
	ErrNotField = errors.New("commitment is not a BN254 scalar")
	ErrChain    = errors.New("checkpoint does not follow its predecessor")
)

// Validate checks what the EVM digest and the circuit need: the validator-set
// commitments are BN254 scalars.
func (c Checkpoint) Validate() error {
	if c.ChainID == "" {
		return errors.New("checkpoint without chain id")
	}
	for _, v := range []Hash32{c.ValidatorSet, c.NextValidatorSet} {
		if !InField(v) {
			return fmt.Errorf("validator set %s: %w", v, ErrNotField)
		}
	}
	return nil
}

// Hash is the checkpoint's identity, which checkpoint Epoch+1 carries as
// PrevHash:
//
//	SM3("jinlian/checkpoint/v1" ‖ 0x00 ‖ uvarint(len(chain)) ‖ chain ‖
//	    epoch (8, big-endian) ‖ height (8, big-endian) ‖ app hash ‖
//	    prev hash ‖ validator set ‖ next validator set)
func (c Checkpoint) Hash() Hash32 {
	b := append([]byte(HashDomain), 0)
	b = binary.AppendUvarint(b, uint64(len(c.ChainID)))
	b = append(b, c.ChainID...)
	b = binary.BigEndian.AppendUint64(b, c.Epoch)
	b = binary.BigEndian.AppendUint64(b, c.Height)
	b = append(b, c.AppHash[:]...)
	b = append(b, c.PrevHash[:]...)
	b = append(b, c.ValidatorSet[:]...)
	b = append(b, c.NextValidatorSet[:]...)
	return gmcrypto.SM3(b)
}

// Follows reports whether c is the successor of prev: next epoch, later
// height, chained by hash, signed by the set prev handed over to.
func (c Checkpoint) Follows(prev Checkpoint) error {
	switch {
	case c.ChainID != prev.ChainID:
		return fmt.Errorf("%w: chain %q after %q", ErrChain, c.ChainID, prev.ChainID)
	case c.Epoch != prev.Epoch+1:
		return fmt.Errorf("%w: epoch %d after %d", ErrChain, c.Epoch, prev.Epoch)
	case c.Height <= prev.Height:
		return fmt.Errorf("%w: height %d after %d", ErrChain, c.Height, prev.Height)
	case c.PrevHash != prev.Hash():
		return fmt.Errorf("%w: prev hash %s, checkpoint %d hashes to %s", ErrChain, c.PrevHash, prev.Epoch, prev.Hash())
	case c.ValidatorSet != prev.NextValidatorSet:
		return fmt.Errorf("%w: signed by validator set %s, checkpoint %d handed over to %s", ErrChain, c.ValidatorSet, prev.Epoch, prev.NextValidatorSet)
	}
	return nil
}

// ChainIDHash is keccak-256 of the chain id, the anchor contract's immutable
// chain identifier.
func ChainIDHash(chainID string) Hash32 { return keccak([]byte(chainID)) }

// DomainHash is keccak-256 of DigestDomain.
func DomainHash() Hash32 { return keccak([]byte(DigestDomain)) }

// Digest is what the validators sign and the proof's public message: the
// keccak-256 of the ABI encoding of
//
//	(bytes32 domain, bytes32 chainIdHash, uint64 epoch, uint64 height,
//	 bytes32 appHash, bytes32 prevHash, uint256 validatorSet,
//	 uint256 nextValidatorSet, bytes32 checkpointHash)
//
// with its top three bits cleared, so that it is below the BN254 scalar
// field's modulus. CheckpointAnchor.sol computes the same value from the
// submitted checkpoint, so a proof binds every field, including the SM3 hash.
func (c Checkpoint) Digest() Hash32 {
	var u64 [32]byte
	dom, chain, h := DomainHash(), ChainIDHash(c.ChainID), c.Hash()
	b := make([]byte, 0, 9*32)
	b = append(b, dom[:]...)
	b = append(b, chain[:]...)
	binary.BigEndian.PutUint64(u64[24:], c.Epoch)
	b = append(b, u64[:]...)
	binary.BigEndian.PutUint64(u64[24:], c.Height)
	b = append(b, u64[:]...)
	b = append(b, c.AppHash[:]...)
	b = append(b, c.PrevHash[:]...)
	b = append(b, c.ValidatorSet[:]...)
	b = append(b, c.NextValidatorSet[:]...)
	b = append(b, h[:]...)
	d := keccak(b)
	d[0] &= 0x1f
	return d
}

func keccak(b []byte) Hash32 {
	k := sha3.NewLegacyKeccak256()
	k.Write(b)
	var h Hash32
	k.Sum(h[:0])
	return h
}

// InField reports whether h, read big-endian, is below the BN254 scalar
// field's modulus (so it can be a public input).
func InField(h Hash32) bool {
	return new(big.Int).SetBytes(h[:]).Cmp(fr.Modulus()) < 0
}

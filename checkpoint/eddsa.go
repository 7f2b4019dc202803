package checkpoint

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/mimc"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
)

// Sizes of the EdDSA encodings (gnark-crypto's): a public key is the
// compressed point, a signature is R compressed ‖ S.
const (
	KeySize       = 32
	SignatureSize = 64
)

// Validator is one slot of a validator set: the validator's checkpoint
// public key and its voting power, and for the chain's records its
// CometBFT address (upper-case hex; not part of the commitment).
type Validator struct {
	Address string `json:"address,omitempty"`
	Key     []byte `json:"key"`
	Power   int64  `json:"power"`
}

// CheckpointKey is a validator's EdDSA key on BN254's twisted Edwards curve.
type CheckpointKey struct{ k *eddsa.PrivateKey }

// GenerateKey creates a checkpoint key from r (crypto/rand if nil).
func GenerateKey(r io.Reader) (*CheckpointKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := eddsa.GenerateKey(r)
	if err != nil {
		return nil, err
	}
	return &CheckpointKey{k}, nil
}

// ParseKey decodes a private key from Bytes.
func ParseKey(b []byte) (*CheckpointKey, error) {
	k := new(eddsa.PrivateKey)
	if _, err := k.SetBytes(b); err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	return &CheckpointKey{k}, nil
}

// Bytes encodes the private key (public key ‖ scalar ‖ nonce seed, 96 bytes).
func (k *CheckpointKey) Bytes() []byte { return k.k.Bytes() }

// Public is the compressed public key.
func (k *CheckpointKey) Public() []byte { return k.k.PublicKey.Bytes() }

// Sign signs a digest (a BN254 scalar, big-endian) as the circuit expects:
// EdDSA with MiMC as the challenge hash.
func (k *CheckpointKey) Sign(digest Hash32) ([]byte, error) {
	if !InField(digest) {
		return nil, ErrNotField
	}
	return k.k.Sign(digest[:], mimc.NewMiMC())
}

// ErrBadSignature is a checkpoint signature that does not verify.
var ErrBadSignature = errors.New("checkpoint signature does not verify")

// ParsePublicKey decodes a compressed key and rejects the identity and
// points outside the prime-order subgroup (small-order keys would make
// signatures forgeable after the cofactor multiplication).
func ParsePublicKey(b []byte) (*eddsa.PublicKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("checkpoint public key of %d bytes, want %d", len(b), KeySize)
	}
	pub := new(eddsa.PublicKey)
	if _, err := pub.SetBytes(b); err != nil {
		return nil, fmt.Errorf("checkpoint public key: %w", err)
	}
	// gnark-crypto's SetBytes reduces y modulo p and takes a square root
	// without checking that one exists: check the point it made instead.
	switch a := &pub.A; {
	case !a.IsOnCurve():
		return nil, errors.New("checkpoint public key: not a point of the curve")
	case a.Bytes() != [KeySize]byte(b):
		return nil, errors.New("checkpoint public key: not in canonical encoding")
	case a.IsZero():
		return nil, errors.New("checkpoint public key: the identity point")
	case !a.IsInSubGroup():
		return nil, errors.New("checkpoint public key: not in the prime-order subgroup")
	}
	return pub, nil
}

// VerifySignature checks sig by key over digest natively.
func VerifySignature(key []byte, digest Hash32, sig []byte) error {
	pub, err := ParsePublicKey(key)
	if err != nil {
		return err
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSignature, len(sig), SignatureSize)
	}
	ok, err := pub.Verify(sig, digest[:], mimc.NewMiMC())
	if err != nil || !ok {
		return ErrBadSignature
	}
	return nil
}

// PowerBits bounds a slot's power (below 2^PowerBits). A CometBFT validator
// set's total power is below 2^60 (MaxTotalVotingPower = MaxInt64/8); the
// circuit's range checks use this width.
const PowerBits = 62

// Slot is a validator's key as curve coordinates; padding is the identity.
type Slot struct {
	X, Y  fr.Element
	Power int64
}

func Slots(vals []Validator, n int) ([]Slot, error) {
	if len(vals) > n {
		return nil, fmt.Errorf("%d validators, the circuit has %d slots", len(vals), n)
	}
	out := make([]Slot, n)
	var total big.Int
	for i := range out {
		if i >= len(vals) {
			out[i].Y.SetOne()
			continue
		}
		v := vals[i]
		if v.Power < 0 || v.Power >= 1<<PowerBits {
			return nil, fmt.Errorf("validator %d: power %d out of range", i, v.Power)
		}
		pub, err := ParsePublicKey(v.Key)
		if err != nil {
			return nil, fmt.Errorf("validator %d: %w", i, err)
		}
		out[i] = Slot{X: pub.A.X, Y: pub.A.Y, Power: v.Power}
		total.Add(&total, big.NewInt(v.Power))
	}
	if total.Sign() == 0 {
		return nil, errors.New("validator set has no power")
	}
	return out, nil
}

// CommitValidators is the validator-set commitment of a circuit with n
// slots: MiMC over (A.x, A.y, power) of each slot, in the given order, the
// unused slots being (0, 1, 0). The chain orders validators by address.
func CommitValidators(vals []Validator, n int) (Hash32, error) {
	s, err := Slots(vals, n)
	if err != nil {
		return Hash32{}, err
	}
	h := mimc.NewFieldHasher()
	for _, v := range s {
		var p fr.Element
		p.SetInt64(v.Power)
		h.WriteElement(v.X)
		h.WriteElement(v.Y)
		h.WriteElement(p)
	}
	sum := h.SumElement()
	return Hash32(sum.Bytes()), nil
}

package prover

import (
	"errors"
	"math/big"

	edbn254 "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash/mimc"
	"github.com/consensys/gnark/std/math/cmp"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// Bit widths of the circuit's range checks: a slot's power fits
// checkpoint.PowerBits; quorumBits bounds 3·signed − 2·total − 1 for up to
// 256 slots.
const (
	powerBits  = checkpoint.PowerBits
	quorumBits = 72
)

// QuorumCircuit proves that the validators committed to by ValidatorSet
// signed Message with more than 2/3 of their power.
//
// Public inputs, in this order (the Solidity verifier's input array):
// Message (the checkpoint's Digest) and ValidatorSet (the MiMC commitment).
//
// Each of the fixed number of slots holds an EdDSA key on BN254's twisted
// Edwards curve, a power and a signature (R, S). Padding slots have power 0
// and the identity point as key; a validator that did not sign gets the
// dummy signature (R = identity, S = 0), which never verifies under a key of
// the prime-order subgroup. Power counts only where the signature verifies,
// so the prover gains nothing by choosing which to submit.
//
// Soundness: every witness the prover chooses is constrained (verifySlot).
// Keys are bound by the public commitment, and the chain admits only keys
// of the prime-order subgroup (ParsePublicKey); R must be a point of the
// prime-order subgroup, S below the subgroup order, and every point the
// curve formulas divide by is on the curve, where the twisted-Edwards
// formulas are complete and no division leaves a wire free. gnark's
// std/signature/eddsa.IsValid is deliberately not used: it leaves R
// unconstrained, and R = (0,0) turns a division into 0/0 (docs/security.md).
//
// Range checks are plain bit decompositions (api.ToBinary), never gnark's
// commitment-based range checker, so the proof has no Pedersen commitment:
// 256 bytes and the cheapest Solidity verifier.
type QuorumCircuit struct {
	Message      frontend.Variable `gnark:",public"`
	ValidatorSet frontend.Variable `gnark:",public"`

	Keys   []twistededwards.Point
	Powers []frontend.Variable
	Sigs   []Signature
}

// Signature is one slot's EdDSA signature in the circuit.
type Signature struct {
	R twistededwards.Point
	S frontend.Variable
}

// NewQuorumCircuit allocates a circuit with n slots (for compiling).
func NewQuorumCircuit(n int) *QuorumCircuit {
	return &QuorumCircuit{
		Keys:   make([]twistededwards.Point, n),
		Powers: make([]frontend.Variable, n),
		Sigs:   make([]Signature, n),
	}
}

// Define implements frontend.Circuit.
func (c *QuorumCircuit) Define(api frontend.API) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	// The validator-set commitment: MiMC over (A.x, A.y, power) of every slot.
	set, err := mimc.NewMiMC(api)
	if err != nil {
		return err
	}
	var total, signed frontend.Variable = 0, 0
	for i := range c.Keys {
		api.ToBinary(c.Powers[i], powerBits)
		set.Write(c.Keys[i].X, c.Keys[i].Y, c.Powers[i])
		ok, err := verifySlot(api, curve, c.Message, c.Keys[i], c.Sigs[i])
		if err != nil {
			return err
		}
		total = api.Add(total, c.Powers[i])
		signed = api.Add(signed, api.Mul(ok, c.Powers[i]))
	}
	api.AssertIsEqual(set.Sum(), c.ValidatorSet)
	// signed·3 > total·2  ⇔  signed·3 − total·2 − 1 ∈ [0, 2^quorumBits).
	// Below quorum the difference wraps to a field element near the modulus,
	// which has no quorumBits-bit decomposition.
	api.ToBinary(api.Sub(api.Mul(signed, 3), api.Mul(total, 2), 1), quorumBits)
	return nil
}

// verifySlot returns 1 when sig is a valid EdDSA signature (MiMC challenge,
// gnark-crypto's encoding) of msg by key, 0 otherwise, and makes the proof
// unsatisfiable when the prover's witness is malformed:
//
//   - key and R are on the curve, so every addition and doubling below
//     works on curve points, where the formulas' denominators
//     (1 ± d·x1·x2·y1·y2, y² + a·x², 2 − y² − a·x²) never vanish and each
//     DivUnchecked has exactly one solution;
//   - R is in the prime-order subgroup: R = [8]·P for a hinted P on the
//     curve (the hint returns P = [8⁻¹ mod ℓ]·R; for R outside the
//     subgroup no such P exists);
//   - S < ℓ, the subgroup order (RFC 8032 §5.1.7);
//
// then checks [8]([S]G − [H(R,A,M)]A − R) = O.
func verifySlot(api frontend.API, curve twistededwards.Curve, msg frontend.Variable, key twistededwards.Point, sig Signature) (frontend.Variable, error) {
	params := curve.Params()
	curve.AssertIsOnCurve(key)
	curve.AssertIsOnCurve(sig.R)
	pre, err := api.Compiler().NewHint(subgroupPreimageHint, 2, sig.R.X, sig.R.Y)
	if err != nil {
		return nil, err
	}
	p := twistededwards.Point{X: pre[0], Y: pre[1]}
	curve.AssertIsOnCurve(p)
	p = curve.Double(curve.Double(curve.Double(p)))
	api.AssertIsEqual(p.X, sig.R.X)
	api.AssertIsEqual(p.Y, sig.R.Y)
	api.AssertIsEqual(cmp.IsLess(api, sig.S, params.Order), 1)

	h, err := mimc.NewMiMC(api)
	if err != nil {
		return nil, err
	}
	h.Write(sig.R.X, sig.R.Y, key.X, key.Y, msg)
	hRAM := h.Sum()

	base := twistededwards.Point{X: params.Base[0], Y: params.Base[1]}
	q := curve.DoubleBaseScalarMul(base, curve.Neg(key), sig.S, hRAM) // [S]G − [H]A
	q = curve.Add(q, curve.Neg(sig.R))
	q = curve.Double(curve.Double(curve.Double(q))) // cofactor 8
	return api.And(api.IsZero(q.X), api.IsZero(api.Sub(q.Y, 1))), nil
}

func init() { solver.RegisterHint(subgroupPreimageHint) }

// subgroupPreimageHint computes P = [8⁻¹ mod ℓ]·R on BN254's twisted Edwards
// curve, so that [8]P = R when R is in the prime-order subgroup. For any
// other input it returns something whose check fails; it never errors, so
// a malformed witness is refused by the constraints, not by the solver.
func subgroupPreimageHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 2 {
		return errors.New("subgroup preimage hint: want 2 inputs and 2 outputs")
	}
	var r edbn254.PointAffine
	r.X.SetBigInt(in[0])
	r.Y.SetBigInt(in[1])
	params := edbn254.GetEdwardsCurve()
	inv := new(big.Int).ModInverse(big.NewInt(8), &params.Order)
	var p edbn254.PointAffine
	if r.IsOnCurve() {
		p.ScalarMultiplication(&r, inv)
	}
	out[0] = p.X.BigInt(out[0])
	out[1] = p.Y.BigInt(out[1])
	return nil
}

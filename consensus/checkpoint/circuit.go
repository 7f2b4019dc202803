package checkpoint

import (
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash/mimc"
	"github.com/consensys/gnark/std/signature/eddsa"
)

// Bit widths of the circuit's range checks. A CometBFT validator set's total
// power is below 2^60 (MaxTotalVotingPower = MaxInt64/8); powerBits leaves
// room and quorumBits bounds 3·signed − 2·total − 1 for up to 256 slots.
const (
	powerBits  = 62
	quorumBits = 72
)

// QuorumCircuit proves that the validators committed to by ValidatorSet
// signed Message with more than 2/3 of their power.
//
// Public inputs, in this order (the Solidity verifier's input array):
// Message (the checkpoint's Digest) and ValidatorSet (the MiMC commitment).
//
// Each of the fixed number of slots holds an EdDSA key on BN254's twisted
// Edwards curve, a power and a signature. Padding slots have power 0 and the
// identity point as key; a validator that did not sign has a dummy
// signature, which is simply invalid. Power counts only where the signature
// verifies, so the prover cannot gain anything by choosing which to submit.
//
// Range checks are plain bit decompositions (api.ToBinary), never gnark's
// commitment-based range checker, so the proof has no Pedersen commitment:
// 256 bytes and the cheapest Solidity verifier.
type QuorumCircuit struct {
	Message      frontend.Variable `gnark:",public"`
	ValidatorSet frontend.Variable `gnark:",public"`

	Keys   []eddsa.PublicKey
	Powers []frontend.Variable
	Sigs   []eddsa.Signature
}

// NewQuorumCircuit allocates a circuit with n slots (for compiling).
func NewQuorumCircuit(n int) *QuorumCircuit {
	return &QuorumCircuit{
		Keys:   make([]eddsa.PublicKey, n),
		Powers: make([]frontend.Variable, n),
		Sigs:   make([]eddsa.Signature, n),
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
		set.Write(c.Keys[i].A.X, c.Keys[i].A.Y, c.Powers[i])

		h, err := mimc.NewMiMC(api)
		if err != nil {
			return err
		}
		ok, err := eddsa.IsValid(curve, c.Sigs[i], c.Message, c.Keys[i], &h)
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

package prover

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// ProofSize is the size of a proof in the Solidity verifier's calldata form:
// A (G1), B (G2), C (G1), uncompressed, EIP-197 order.
const ProofSize = 256

// Proof is a proof in the form the anchor contract takes.
type Proof []byte

// Prover turns the validators' signatures over a checkpoint into one proof
// and checks such proofs. A scheme fixes the signature algorithm, the
// validator-set commitment and the circuit; EdDSAGroth16 is the first. A
// scheme proving SM2 signatures would implement the same interface (with
// SM2 keys in Validator.Key and SM2 signatures in Prove).
type Prover interface {
	// CircuitID names the circuit, its version and slot count; keys and
	// verifier contracts are made for one CircuitID.
	CircuitID() string
	// Slots is the maximum number of validators.
	Slots() int
	// CommitValidators is the validator-set commitment the proof checks.
	CommitValidators(vals []checkpoint.Validator) (checkpoint.Hash32, error)
	// VerifySignature checks one validator's signature over a digest.
	VerifySignature(key []byte, digest checkpoint.Hash32, sig []byte) error
	// Setup loads the circuit's keys from dir. With dev set and no keys
	// there, it first makes them with the INSECURE development setup.
	Setup(dir string, dev bool) (KeyInfo, error)
	// Prove proves that vals (whose commitment is cp.ValidatorSet) signed
	// cp.Digest() with more than 2/3 of their power; sigs[i] is vals[i]'s
	// signature or nil.
	Prove(cp checkpoint.Checkpoint, vals []checkpoint.Validator, sigs [][]byte) (Proof, error)
	// Verify checks a proof of cp.
	Verify(cp checkpoint.Checkpoint, proof Proof) error
	// ExportSolidity writes the verifier contract for the loaded keys.
	ExportSolidity(w io.Writer) error
}

// ErrNoQuorum is a set of valid signatures holding 2/3 of the power or less.
type ErrNoQuorum struct{ Signed, Total int64 }

func (e ErrNoQuorum) Error() string {
	return fmt.Sprintf("valid signatures hold %d of %d voting power, need more than 2/3", e.Signed, e.Total)
}

// ErrNoKeys is a Prover used before Setup.
var ErrNoKeys = errors.New("checkpoint prover has no keys: run Setup first")

// EdDSAGroth16 is the first Prover: EdDSA on BN254's twisted Edwards curve,
// MiMC commitment, Groth16 over BN254 (QuorumCircuit).
type EdDSAGroth16 struct {
	n    int
	ccs  constraint.ConstraintSystem
	pk   groth16.ProvingKey
	vk   groth16.VerifyingKey
	info KeyInfo
}

var _ Prover = (*EdDSAGroth16)(nil)

// NewEdDSAGroth16 compiles the circuit with n slots (seconds; about
// 9,000 constraints per slot).
func NewEdDSAGroth16(n int) (*EdDSAGroth16, error) {
	ccs, err := Compile(n)
	if err != nil {
		return nil, fmt.Errorf("compile checkpoint circuit: %w", err)
	}
	return &EdDSAGroth16{n: n, ccs: ccs}, nil
}

// CircuitID implements Prover.
func (p *EdDSAGroth16) CircuitID() string { return CircuitID(p.n) }

// Slots implements Prover.
func (p *EdDSAGroth16) Slots() int { return p.n }

// Constraints is the circuit's size.
func (p *EdDSAGroth16) Constraints() int { return p.ccs.GetNbConstraints() }

// CommitValidators implements Prover.
func (p *EdDSAGroth16) CommitValidators(vals []checkpoint.Validator) (checkpoint.Hash32, error) {
	return checkpoint.CommitValidators(vals, p.n)
}

// VerifySignature implements Prover.
func (p *EdDSAGroth16) VerifySignature(key []byte, digest checkpoint.Hash32, sig []byte) error {
	return checkpoint.VerifySignature(key, digest, sig)
}

// Setup implements Prover.
func (p *EdDSAGroth16) Setup(dir string, dev bool) (KeyInfo, error) {
	info, pk, vk, err := LoadKeys(dir, p.CircuitID(), p.ccs, true)
	// Development keys are a cache of a deterministic setup: keys made for
	// an earlier build of the circuit (its digest covers the constraint
	// system with its debug information), or by an earlier development
	// setup (its description differs: before devRand, a process's other
	// goroutines could change the keys), are made again, not refused.
	stale := err == nil && info.Insecure && info.Setup != devSetupDescription
	if dev && (stale || errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrKeysMismatch)) {
		if info, pk, vk, err = p.devSetup(); err == nil {
			err = SaveKeys(dir, info, pk, vk)
		}
	}
	if err != nil {
		return info, err
	}
	p.info, p.pk, p.vk = info, pk, vk
	return info, nil
}

// Info describes the loaded keys.
func (p *EdDSAGroth16) Info() KeyInfo { return p.info }

// UseKeys installs keys made elsewhere (tests, benchmarks).
func (p *EdDSAGroth16) UseKeys(pk groth16.ProvingKey, vk groth16.VerifyingKey) { p.pk, p.vk = pk, vk }

// devSetupDescription is the Setup of development keys' KeyInfo.
var devSetupDescription = fmt.Sprintf("INSECURE development setup: toxic waste from SM3 counter stream over %q, read by the setup's goroutine only", DevBeacon)

func (p *EdDSAGroth16) devSetup() (KeyInfo, groth16.ProvingKey, groth16.VerifyingKey, error) {
	d, err := CircuitDigest(p.ccs)
	if err != nil {
		return KeyInfo{}, nil, nil, err
	}
	pk, vk, err := DevSetup(p.ccs)
	info := KeyInfo{
		CircuitID: p.CircuitID(), CircuitDigest: d, Constraints: p.ccs.GetNbConstraints(),
		Insecure: true, Setup: devSetupDescription,
	}
	return info, pk, vk, err
}

// Prove implements Prover.
func (p *EdDSAGroth16) Prove(cp checkpoint.Checkpoint, vals []checkpoint.Validator, sigs [][]byte) (Proof, error) {
	if p.pk == nil {
		return nil, ErrNoKeys
	}
	w, err := p.Assign(cp, vals, sigs)
	if err != nil {
		return nil, err
	}
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := proveBN254(p.ccs, p.pk, full)
	if err != nil {
		return nil, fmt.Errorf("prove checkpoint %d: %w", cp.Epoch, err)
	}
	out := Proof(proof.MarshalSolidity())
	if err := p.Verify(cp, out); err != nil {
		return nil, fmt.Errorf("fresh proof of checkpoint %d: %w", cp.Epoch, err)
	}
	return out, nil
}

// Assign builds the circuit's witness: keys and powers in slot order, the
// valid signatures, a dummy (invalid) signature for each validator that did
// not sign or whose signature does not verify. It fails when the set does
// not match cp.ValidatorSet or the valid signatures do not reach quorum, so
// no time is spent on a proof that cannot exist.
func (p *EdDSAGroth16) Assign(cp checkpoint.Checkpoint, vals []checkpoint.Validator, sigs [][]byte) (*QuorumCircuit, error) {
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	if len(sigs) != len(vals) {
		return nil, fmt.Errorf("%d signatures for %d validators", len(sigs), len(vals))
	}
	if c, err := checkpoint.CommitValidators(vals, p.n); err != nil {
		return nil, err
	} else if c != cp.ValidatorSet {
		return nil, fmt.Errorf("validators commit to %s, checkpoint %d names %s", c, cp.Epoch, cp.ValidatorSet)
	}
	digest := cp.Digest()
	valid := make([][]byte, len(sigs))
	var signed, total int64
	for i, v := range vals {
		total += v.Power
		if sigs[i] != nil && checkpoint.VerifySignature(v.Key, digest, sigs[i]) == nil {
			valid[i] = sigs[i]
			signed += v.Power
		}
	}
	if !checkpoint.HasQuorum(signed, total) {
		return nil, ErrNoQuorum{Signed: signed, Total: total}
	}
	return assign(p.n, digest, cp.ValidatorSet, vals, valid)
}

// assign fills the witness without checking anything the circuit checks,
// so tests can hand the circuit what an attacker would.
func assign(n int, digest, set checkpoint.Hash32, vals []checkpoint.Validator, sigs [][]byte) (*QuorumCircuit, error) {
	s, err := checkpoint.Slots(vals, n)
	if err != nil {
		return nil, err
	}
	w := NewQuorumCircuit(n)
	w.Message = new(big.Int).SetBytes(digest[:])
	w.ValidatorSet = new(big.Int).SetBytes(set[:])
	for i, sl := range s {
		w.Keys[i].X, w.Keys[i].Y = sl.X.BigInt(new(big.Int)), sl.Y.BigInt(new(big.Int))
		w.Powers[i] = sl.Power
		w.Sigs[i].R.X, w.Sigs[i].R.Y, w.Sigs[i].S = 0, 1, 0
		if i < len(sigs) && sigs[i] != nil {
			var sig eddsa.Signature
			if _, err := sig.SetBytes(sigs[i]); err != nil {
				return nil, fmt.Errorf("signature of validator %d: %w", i, err)
			}
			w.Sigs[i].R.X, w.Sigs[i].R.Y = sig.R.X.BigInt(new(big.Int)), sig.R.Y.BigInt(new(big.Int))
			w.Sigs[i].S = new(big.Int).SetBytes(sig.S[:])
		}
	}
	return w, nil
}

// Verify implements Prover.
func (p *EdDSAGroth16) Verify(cp checkpoint.Checkpoint, proof Proof) error {
	if p.vk == nil {
		return ErrNoKeys
	}
	if err := cp.Validate(); err != nil {
		return err
	}
	pr, err := ParseProof(proof)
	if err != nil {
		return err
	}
	digest := cp.Digest()
	pub, err := frontend.NewWitness(&QuorumCircuit{
		Message:      new(big.Int).SetBytes(digest[:]),
		ValidatorSet: new(big.Int).SetBytes(cp.ValidatorSet[:]),
	}, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return err
	}
	if err := verifyBN254(pr, p.vk, pub); err != nil {
		return fmt.Errorf("proof of checkpoint %d: %w", cp.Epoch, err)
	}
	return nil
}

// ParseProof decodes the 256-byte Solidity form.
func ParseProof(b Proof) (*groth16bn254.Proof, error) {
	if len(b) != ProofSize {
		return nil, fmt.Errorf("proof of %d bytes, want %d", len(b), ProofSize)
	}
	var pr groth16bn254.Proof
	if _, err := pr.Ar.SetBytes(b[0:64]); err != nil {
		return nil, fmt.Errorf("proof point A: %w", err)
	}
	if _, err := pr.Bs.SetBytes(b[64:192]); err != nil {
		return nil, fmt.Errorf("proof point B: %w", err)
	}
	if _, err := pr.Krs.SetBytes(b[192:256]); err != nil {
		return nil, fmt.Errorf("proof point C: %w", err)
	}
	return &pr, nil
}

// ExportSolidity implements Prover. The contract is named Verifier and
// needs solc ≥ 0.8.13 (pragma ^0.8.20 is emitted).
func (p *EdDSAGroth16) ExportSolidity(w io.Writer) error {
	if p.vk == nil {
		return ErrNoKeys
	}
	return p.vk.ExportSolidity(w, solidity.WithPragmaVersion("^0.8.20"))
}

// WriteVerifier writes the Solidity verifier of p's keys with a header
// naming the circuit and its setup, so a deployed verifier can be traced
// to its keys.
func WriteVerifier(w io.Writer, p Prover, info KeyInfo) error {
	header := fmt.Sprintf("// Code generated by jinlian from the %s keys (circuit digest %s). DO NOT EDIT.\n", info.CircuitID, info.CircuitDigest)
	if info.Insecure {
		header += "// INSECURE: development setup whose secrets are public; anyone can forge proofs it accepts.\n"
	}
	var b bytes.Buffer
	if err := p.ExportSolidity(&b); err != nil {
		return err
	}
	// gnark's output starts with the SPDX line; keep it first.
	src := strings.TrimLeft(b.String(), "\n")
	if i := strings.Index(src, "\n"); i >= 0 && strings.HasPrefix(src, "// SPDX") {
		src = src[:i+1] + header + src[i+1:]
	} else {
		src = header + src
	}
	_, err := io.WriteString(w, src)
	return err
}

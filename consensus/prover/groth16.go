package prover

import (
	"fmt"

	fr "github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// The scheme is Groth16 over BN254 only, so it calls gnark's BN254 backend
// directly: gnark's curve-generic groth16.Setup, Prove and Verify switch
// over every curve gnark supports and so link four curves' provers
// (BLS12-377, BLS12-381, BW6-761 besides BN254), several megabytes of the
// binary that nothing here runs (docs/performance.md, "Binary size").

func bn254R1CS(ccs constraint.ConstraintSystem) (*cs.R1CS, error) {
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("constraint system %T is not a BN254 R1CS", ccs)
	}
	return r, nil
}

func setupBN254(ccs constraint.ConstraintSystem) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	r, err := bn254R1CS(ccs)
	if err != nil {
		return nil, nil, err
	}
	var pk groth16bn254.ProvingKey
	var vk groth16bn254.VerifyingKey
	if err := groth16bn254.Setup(r, &pk, &vk); err != nil {
		return nil, nil, err
	}
	return &pk, &vk, nil
}

func proveBN254(ccs constraint.ConstraintSystem, pk groth16.ProvingKey, full witness.Witness) (*groth16bn254.Proof, error) {
	r, err := bn254R1CS(ccs)
	if err != nil {
		return nil, err
	}
	k, ok := pk.(*groth16bn254.ProvingKey)
	if !ok {
		return nil, fmt.Errorf("proving key %T is not a BN254 key", pk)
	}
	return groth16bn254.Prove(r, k, full)
}

func verifyBN254(proof *groth16bn254.Proof, vk groth16.VerifyingKey, public witness.Witness) error {
	k, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return fmt.Errorf("verifying key %T is not a BN254 key", vk)
	}
	v, ok := public.Vector().(fr.Vector)
	if !ok {
		return witness.ErrInvalidWitness
	}
	return groth16bn254.Verify(proof, k, v)
}

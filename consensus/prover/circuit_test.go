package prover

import (
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// testSlots keeps the default test run small; 16 and 64 are benchmarks.
const testSlots = 4

func TestQuorumCircuit(t *testing.T) {
	keys, vals := testValidators(t, 1, 10, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()
	sign := func(idx ...int) [][]byte {
		sigs := make([][]byte, len(vals))
		for _, i := range idx {
			sigs[i] = mustSign(t, keys[i], d)
		}
		return sigs
	}
	other := cp
	other.AppHash[0] ^= 1
	_, strangers := testValidators(t, 99, 10, 10, 10, 10)

	cases := []struct {
		name  string
		vals  []checkpoint.Validator // what the prover puts in the slots
		set   checkpoint.Hash32      // public commitment
		sigs  [][]byte
		valid bool
	}{
		{"all four sign", vals, cp.ValidatorSet, sign(0, 1, 2, 3), true},
		{"three of four is more than 2/3", vals, cp.ValidatorSet, sign(0, 1, 3), true},
		{"two of four is not", vals, cp.ValidatorSet, sign(1, 2), false},
		{"nobody signs", vals, cp.ValidatorSet, sign(), false},
		{"forged signature does not count", vals, cp.ValidatorSet, func() [][]byte {
			s := sign(0, 1)
			s[2] = mustSign(t, keys[3], d) // validator 3's key, slot 2's place
			return s
		}(), false},
		{"signature over another checkpoint does not count", vals, cp.ValidatorSet, func() [][]byte {
			s := sign(0, 1)
			s[2] = mustSign(t, keys[2], other.Digest())
			return s
		}(), false},
		{"wrong validator-set commitment", vals, mustCommit(t, strangers, testSlots), sign(0, 1, 2, 3), false},
		{"prover's own keys do not match the commitment", strangers, cp.ValidatorSet, func() [][]byte {
			k, _ := testValidators(t, 99, 10, 10, 10, 10)
			s := make([][]byte, 4)
			for i := range s {
				s[i] = mustSign(t, k[i], d)
			}
			return s
		}(), false},
		{"inflated power does not match the commitment", func() []checkpoint.Validator {
			v := append([]checkpoint.Validator(nil), vals...)
			v[0].Power = 100
			return v
		}(), cp.ValidatorSet, sign(0), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := assign(testSlots, d, tc.set, tc.vals, tc.sigs)
			if err != nil {
				t.Fatal(err)
			}
			err = test.IsSolved(NewQuorumCircuit(testSlots), w, ecc.BN254.ScalarField())
			if tc.valid && err != nil {
				t.Fatalf("valid quorum rejected: %v", err)
			}
			t.Logf("circuit: %v", err)
			if !tc.valid && err == nil {
				t.Fatal("circuit accepted an invalid quorum")
			}
		})
	}
}

// Exactly 2/3 is not a quorum: powers 10, 10, 10 (and a padding slot), two sign.
func TestQuorumCircuitExactlyTwoThirds(t *testing.T) {
	keys, vals := testValidators(t, 1, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()
	sigs := [][]byte{mustSign(t, keys[0], d), mustSign(t, keys[1], d), nil}
	w, err := assign(testSlots, d, cp.ValidatorSet, vals, sigs)
	if err != nil {
		t.Fatal(err)
	}
	if err := test.IsSolved(NewQuorumCircuit(testSlots), w, ecc.BN254.ScalarField()); err == nil {
		t.Fatal("circuit accepted exactly 2/3 of the power")
	}
	sigs[2] = mustSign(t, keys[2], d)
	w, _ = assign(testSlots, d, cp.ValidatorSet, vals, sigs)
	if err := test.IsSolved(NewQuorumCircuit(testSlots), w, ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("three of three rejected: %v", err)
	}
}

// Unequal powers: one validator with 70% is a quorum alone; the other three
// together (30%) are not.
func TestQuorumCircuitWeighted(t *testing.T) {
	keys, vals := testValidators(t, 1, 70, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()
	for _, tc := range []struct {
		signers []int
		valid   bool
	}{{[]int{0}, true}, {[]int{1, 2, 3}, false}} {
		sigs := make([][]byte, 4)
		for _, i := range tc.signers {
			sigs[i] = mustSign(t, keys[i], d)
		}
		w, err := assign(testSlots, d, cp.ValidatorSet, vals, sigs)
		if err != nil {
			t.Fatal(err)
		}
		err = test.IsSolved(NewQuorumCircuit(testSlots), w, ecc.BN254.ScalarField())
		if (err == nil) != tc.valid {
			t.Fatalf("signers %v: valid=%v, circuit says %v", tc.signers, tc.valid, err)
		}
	}
}

// The circuit must not make gnark add a Pedersen commitment: the proof must
// stay 256 bytes and the verifier commitment-free.
func TestCircuitHasNoCommitment(t *testing.T) {
	ccs, err := Compile(2)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ccs.GetCommitments().CommitmentIndexes()); n != 0 {
		t.Fatalf("circuit has %d commitments", n)
	}
	if got := ccs.GetNbPublicVariables(); got != 3 { // the constant 1, Message, ValidatorSet
		t.Fatalf("%d public variables, want 3", got)
	}
}

func TestAssignRefusesWhatCannotBeProven(t *testing.T) {
	p := &EdDSAGroth16{n: testSlots}
	keys, vals := testValidators(t, 1, 10, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()
	sigs := [][]byte{mustSign(t, keys[0], d), mustSign(t, keys[1], d), nil, nil}
	var nq ErrNoQuorum
	if _, err := p.Assign(cp, vals, sigs); !errors.As(err, &nq) || nq.Signed != 20 || nq.Total != 40 {
		t.Fatalf("two of four: %v", err)
	}
	sigs[2] = mustSign(t, keys[3], d) // forged: counts as missing
	if _, err := p.Assign(cp, vals, sigs); !errors.As(err, &nq) {
		t.Fatalf("forged third signature: %v", err)
	}
	sigs[2] = mustSign(t, keys[2], d)
	if _, err := p.Assign(cp, vals, sigs); err != nil {
		t.Fatalf("three of four: %v", err)
	}
	bad := cp
	bad.ValidatorSet[31] ^= 1
	if _, err := p.Assign(bad, vals, sigs); err == nil {
		t.Fatal("checkpoint naming another validator set accepted")
	}
	if _, err := p.Assign(cp, append(vals, vals...), append(sigs, sigs...)); err == nil {
		t.Fatal("more validators than slots accepted")
	}
}

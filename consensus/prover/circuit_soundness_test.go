package prover

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	edbn254 "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash/mimc"
	stdeddsa "github.com/consensys/gnark/std/signature/eddsa"
	"github.com/jinlian-ledger/jinlian/checkpoint"

	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

// These tests play a malicious prover: it compiles the circuit so that it
// may choose the value of every wire a division leaves free, and hands the
// circuit witnesses an honest signer never makes. A proof exists only if
// the constraint system is satisfied, so "not solved" here means "cannot be
// proven"; TestMaliciousProverZeroR runs Groth16 itself.

// maliciousAPI has the same constraint for every division as gnark's
// R1CS builder (q·b = a), but q comes from a hint the prover controls: a
// quotient that the constraint leaves free (0/0) is set to √−1, the value
// that makes a twisted-Edwards doubling of (x, 0) land on the identity.
type maliciousAPI struct{ frontend.API }

func (m maliciousAPI) DivUnchecked(a, b frontend.Variable) frontend.Variable {
	q, err := m.Compiler().NewHint(freeQuotientHint, 1, a, b)
	if err != nil {
		panic(err)
	}
	m.AssertIsEqual(m.Mul(q[0], b), a)
	return q[0]
}

func freeQuotientHint(mod *big.Int, in, out []*big.Int) error {
	if in[1].Sign() != 0 {
		out[0].ModInverse(in[1], mod).Mul(out[0], in[0]).Mod(out[0], mod)
		return nil
	}
	var s fr.Element
	s.SetOne().Neg(&s).Sqrt(&s)
	s.BigInt(out[0])
	return nil
}

// attackQuorum is QuorumCircuit compiled by the malicious prover.
type attackQuorum struct{ QuorumCircuit }

func (c *attackQuorum) Define(api frontend.API) error {
	return c.QuorumCircuit.Define(maliciousAPI{api})
}

// attackGnarkEdDSA is gnark's std/signature/eddsa.IsValid, which the
// circuit used before, compiled by the malicious prover.
type attackGnarkEdDSA struct {
	Msg frontend.Variable `gnark:",public"`
	Key stdeddsa.PublicKey
	Sig stdeddsa.Signature
}

func (c *attackGnarkEdDSA) Define(api frontend.API) error {
	api = maliciousAPI{api}
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	h, err := mimc.NewMiMC(api)
	if err != nil {
		return err
	}
	ok, err := stdeddsa.IsValid(curve, c.Sig, c.Msg, c.Key, &h)
	if err != nil {
		return err
	}
	api.AssertIsEqual(ok, 1)
	return nil
}

func solve(t *testing.T, circuit, assignment frontend.Circuit) error {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, solver.WithHints(freeQuotientHint))
}

// prove runs Groth16 (fresh random setup) as the malicious prover and
// verifies what it made.
func prove(t *testing.T, circuit, assignment frontend.Circuit) error {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := groth16.Prove(ccs, pk, w, backend.WithSolverOptions(solver.WithHints(freeQuotientHint)))
	if err != nil {
		return err
	}
	pub, err := w.Public()
	if err != nil {
		t.Fatal(err)
	}
	return groth16.Verify(proof, vk, pub)
}

// The forgery of the 2026-12 review: R = (0,0), S = 0 in every slot and the
// free wire set to √−1 made every slot count as signed, for any message and
// any key set. The attack still works against gnark's eddsa.IsValid (so
// this test's prover is a real one) and fails against QuorumCircuit.
func TestMaliciousProverZeroR(t *testing.T) {
	heavytest.Begin(t, "proves with gnark")
	_, vals := testValidators(t, 7, 10, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()

	t.Run("gnark eddsa.IsValid is forgeable", func(t *testing.T) {
		pub, err := checkpoint.ParsePublicKey(vals[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		a := &attackGnarkEdDSA{Msg: new(big.Int).SetBytes(d[:])}
		a.Key.A.X, a.Key.A.Y = pub.A.X.BigInt(new(big.Int)), pub.A.Y.BigInt(new(big.Int))
		a.Sig.R.X, a.Sig.R.Y, a.Sig.S = 0, 0, 0
		if err := prove(t, &attackGnarkEdDSA{}, a); err != nil {
			t.Fatalf("the attack no longer works against gnark's eddsa.IsValid (%v): this test's malicious prover is broken", err)
		}
	})
	t.Run("QuorumCircuit refuses it", func(t *testing.T) {
		w, err := assign(testSlots, d, cp.ValidatorSet, vals, make([][]byte, len(vals)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range w.Sigs {
			w.Sigs[i].R.X, w.Sigs[i].R.Y, w.Sigs[i].S = 0, 0, 0
		}
		err = prove(t, &attackQuorum{*NewQuorumCircuit(testSlots)}, &attackQuorum{*w})
		if err == nil {
			t.Fatal("malicious prover proved a quorum with R = (0,0) and no signature")
		}
		t.Logf("refused: %v", err)
	})
}

// Every other witness a prover chooses freely, one slot at a time, with the
// honest solver and the malicious one: each must make the slot invalid or
// the system unsatisfiable, never count the slot as signed. Three honest
// signatures of four make the quorum, so a forged fourth is what would tip
// a 2-of-4 set over: the cases give two honest signatures and one forged.
func TestMaliciousWitnesses(t *testing.T) {
	heavytest.Begin(t, "proves with gnark")
	keys, vals := testValidators(t, 3, 10, 10, 10, 10)
	cp := testCheckpoint(t, vals, testSlots)
	d := cp.Digest()
	sigs := testSign(t, keys, cp, 0, 1, 2)

	var honest eddsa.Signature
	if _, err := honest.SetBytes(sigs[2]); err != nil {
		t.Fatal(err)
	}
	// A point of order 2 on the curve: (0, −1).
	var t2 edbn254.PointAffine
	t2.Y.SetOne().Neg(&t2.Y)
	var rPlusT2 edbn254.PointAffine
	rPlusT2.Add(&honest.R, &t2)
	order := edbn254.GetEdwardsCurve().Order
	sPlusOrder := new(big.Int).Add(new(big.Int).SetBytes(honest.S[:]), &order)

	big_ := func(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }
	cases := []struct {
		name   string
		mutate func(w *QuorumCircuit)
	}{
		{"honest third signature (control: solves)", func(w *QuorumCircuit) {}},
		{"R = (0,0)", func(w *QuorumCircuit) { w.Sigs[2].R.X, w.Sigs[2].R.Y = 0, 0 }},
		{"R off the curve", func(w *QuorumCircuit) { w.Sigs[2].R.X, w.Sigs[2].R.Y = 1, 2 }},
		{"R with an order-2 component", func(w *QuorumCircuit) {
			w.Sigs[2].R.X, w.Sigs[2].R.Y = big_(rPlusT2.X), big_(rPlusT2.Y)
		}},
		{"S + ℓ (same point, non-canonical scalar)", func(w *QuorumCircuit) { w.Sigs[2].S = sPlusOrder }},
		{"S = −1 (the field's largest element)", func(w *QuorumCircuit) {
			w.Sigs[2].S = new(big.Int).Sub(ecc.BN254.ScalarField(), big.NewInt(1))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := assign(testSlots, d, cp.ValidatorSet, vals, sigs)
			if err != nil {
				t.Fatal(err)
			}
			// Two honest signatures and the case's third: the quorum holds
			// only if the third counts.
			w.Sigs[3].R.X, w.Sigs[3].R.Y, w.Sigs[3].S = 0, 1, 0
			tc.mutate(w)
			honestErr := solve(t, NewQuorumCircuit(testSlots), w)
			evilErr := solve(t, &attackQuorum{*NewQuorumCircuit(testSlots)}, &attackQuorum{*w})
			control := tc.name == cases[0].name
			if control {
				if honestErr != nil || evilErr != nil {
					t.Fatalf("control witness refused: %v / %v", honestErr, evilErr)
				}
				return
			}
			if honestErr == nil || evilErr == nil {
				t.Fatalf("forged witness accepted (honest solver: %v, malicious: %v)", honestErr, evilErr)
			}
		})
	}
}

// A key of small order would let anyone "sign" for its slot after the
// cofactor multiplication; the chain never commits to one.
func TestParsePublicKeyRefusesWeakKeys(t *testing.T) {
	var t2, t4 edbn254.PointAffine
	t2.Y.SetOne().Neg(&t2.Y)
	// An order-4 point: (x, 0) with a·x² = 1, i.e. x = √(1/a).
	p := edbn254.GetEdwardsCurve()
	t4.X.Inverse(&p.A).Sqrt(&t4.X)
	if !t4.IsOnCurve() {
		t.Fatal("test point of order 4 is not on the curve")
	}
	_, vals := testValidators(t, 1, 1)
	var good edbn254.PointAffine
	if _, err := good.SetBytes(vals[0].Key); err != nil {
		t.Fatal(err)
	}
	var mixed edbn254.PointAffine
	mixed.Add(&good, &t4)
	var id edbn254.PointAffine
	id.Y.SetOne()
	enc := func(p edbn254.PointAffine) []byte { b := p.Bytes(); return b[:] }
	// y = p (reduces to 0): the non-canonical encoding of a point with y = 0.
	nonCanonical := make([]byte, checkpoint.KeySize)
	copy(nonCanonical, enc(t4))
	mod := fr.Modulus().Bytes()
	for i := range mod {
		nonCanonical[i] = mod[len(mod)-1-i]
	}
	nonCanonical[checkpoint.KeySize-1] |= enc(t4)[checkpoint.KeySize-1] & 0x80
	// A y with no x on the curve.
	var offCurve []byte
	for y := uint64(2); offCurve == nil; y++ {
		var e fr.Element
		e.SetUint64(y)
		b := e.Bytes()
		le := make([]byte, checkpoint.KeySize)
		for i := range b {
			le[i] = b[len(b)-1-i]
		}
		var pt edbn254.PointAffine
		if _, err := pt.SetBytes(le); err == nil && !pt.IsOnCurve() {
			offCurve = le
		}
	}
	for _, tc := range []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"a real key", vals[0].Key, true},
		{"identity", enc(id), false},
		{"order 2", enc(t2), false},
		{"order 4", enc(t4), false},
		{"key plus an order-4 point", enc(mixed), false},
		{"y not reduced", nonCanonical, false},
		{"no point with this y", offCurve, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkpoint.ParsePublicKey(tc.key)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePublicKey: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

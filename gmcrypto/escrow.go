// emmansun/gmsm exposes SM2-curve point arithmetic only through the
// elliptic.Curve interface of sm2ec.P256() (backed by its constant-time
// implementation); crypto/ecdh offers no point addition.
//
//lint:file-ignore SA1019 elliptic.Curve is the only door to SM2 point arithmetic in emmansun/gmsm

package gmcrypto

import (
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2/sm2ec"
)

// Shared payloads: one SM4-GCM ciphertext whose key every reader can
// recover, with a proof that anyone can check, without any private key, that
// every reader recovers the same key (docs/adr/0008-verifiable-escrow.md).
//
// The key is derived from a random point M = m·G of the SM2 curve; reader i
// gets the ElGamal pair (A_i, B_i) = (r_i·G, r_i·P_i + M) and recovers
// M = B_i − d_i·A_i. The proof is a Fiat–Shamir Σ-protocol (SM3 challenge)
// of knowledge of m and every r_i with those relations, with m shared by
// all equations: a sender cannot give one reader (a regulator's escrow key)
// a share of another point than the others get. The challenge binds the
// readers' keys, the shares and SM3 of the ciphertext.
//
// SM2 public-key encryption (GB/T 32918.4) cannot be used here: its
// ciphertext hides which key was wrapped from everyone but its reader.

const (
	// ShareSize is one reader's share: A ‖ B, two uncompressed points.
	ShareSize  = 2 * PublicKeySize
	scalarSize = 32
)

var (
	escrowDomain = []byte("jinlian/escrow/v1")
	escrowKeyTag = []byte("jinlian/escrow/v1/key")
	// ErrBadShares is a shared payload whose proof does not verify or whose
	// shares or proof are malformed.
	ErrBadShares = errors.New("key shares do not verify")
)

var sm2Curve = sm2ec.P256()

type point struct{ x, y *big.Int }

func (p point) bytes() []byte { return elliptic.Marshal(sm2Curve, p.x, p.y) }

func parsePoint(b []byte) (point, bool) {
	x, y := elliptic.Unmarshal(sm2Curve, b)
	return point{x, y}, x != nil
}

func scalar(k *big.Int) []byte { return k.FillBytes(make([]byte, scalarSize)) }

func randScalar() (*big.Int, error) {
	n := sm2Curve.Params().N
	k, err := rand.Int(rand.Reader, new(big.Int).Sub(n, big.NewInt(1)))
	if err != nil {
		return nil, err
	}
	return k.Add(k, big.NewInt(1)), nil
}

func baseMul(k *big.Int) point { x, y := sm2Curve.ScalarBaseMult(scalar(k)); return point{x, y} }

func mul(p point, k *big.Int) point {
	x, y := sm2Curve.ScalarMult(p.x, p.y, scalar(k))
	return point{x, y}
}

func add(p, q point) point { x, y := sm2Curve.Add(p.x, p.y, q.x, q.y); return point{x, y} }

// combined is a·G + b·P.
func combined(a, b *big.Int, p point) point {
	x, y := sm2Curve.(interface {
		CombinedMult(Px, Py *big.Int, s1, s2 []byte) (*big.Int, *big.Int)
	}).CombinedMult(p.x, p.y, scalar(a), scalar(b))
	return point{x, y}
}

// minus is r − c·Q.
func minus(r point, c *big.Int, q point) point {
	n := sm2Curve.Params().N
	negC := new(big.Int).Sub(n, c)
	return add(r, mul(q, negC.Mod(negC, n)))
}

func deriveShareKey(m point) []byte {
	h := SM3(escrowKeyTag, m.bytes())
	return h[:SM4KeySize]
}

func challenge(readers []*PublicKey, shares [][]byte, t, u []point, ciphertext []byte) *big.Int {
	h := NewSM3()
	h.Write(escrowDomain)
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(readers))))
	for i, r := range readers {
		h.Write(r.Bytes())
		h.Write(shares[i])
		h.Write(t[i].bytes())
		h.Write(u[i].bytes())
	}
	ct := SM3(ciphertext)
	h.Write(ct[:])
	c := new(big.Int).SetBytes(h.Sum(nil))
	return c.Mod(c, sm2Curve.Params().N)
}

// SealShared encrypts plaintext with SM4-GCM (aad) under a fresh key shared
// with every reader, and proves the shares consistent.
func SealShared(plaintext, aad []byte, readers []*PublicKey) (ciphertext []byte, shares [][]byte, proof []byte, err error) {
	if len(readers) == 0 {
		return nil, nil, nil, errors.New("shared payload without readers")
	}
	n := sm2Curve.Params().N
	m, err := randScalar()
	if err != nil {
		return nil, nil, nil, err
	}
	M := baseMul(m)
	am, err := randScalar()
	if err != nil {
		return nil, nil, nil, err
	}
	r := make([]*big.Int, len(readers))
	a := make([]*big.Int, len(readers))
	t := make([]point, len(readers))
	u := make([]point, len(readers))
	shares = make([][]byte, len(readers))
	amG := baseMul(am)
	for i, pk := range readers {
		P, _ := parsePoint(pk.Bytes()) // a parsed key is a point of the curve
		if r[i], err = randScalar(); err != nil {
			return nil, nil, nil, err
		}
		if a[i], err = randScalar(); err != nil {
			return nil, nil, nil, err
		}
		A, B := baseMul(r[i]), add(mul(P, r[i]), M)
		shares[i] = append(A.bytes(), B.bytes()...)
		t[i] = baseMul(a[i])
		u[i] = add(mul(P, a[i]), amG)
	}
	ciphertext, err = SealSM4GCM(deriveShareKey(M), plaintext, aad)
	if err != nil {
		return nil, nil, nil, err
	}
	c := challenge(readers, shares, t, u, ciphertext)
	z := func(a, s *big.Int) []byte {
		v := new(big.Int).Mul(c, s)
		v.Add(v, a).Mod(v, n)
		return scalar(v)
	}
	proof = append(scalar(c), z(am, m)...)
	for i := range readers {
		proof = append(proof, z(a[i], r[i])...)
	}
	return ciphertext, shares, proof, nil
}

// VerifyShared checks, with public keys only, that every reader's share
// holds the key of ciphertext's proof: all readers recover the same key.
// It does not say that the ciphertext decrypts under it (no one but a reader
// can), only that a reader who can read it is not alone.
func VerifyShared(ciphertext []byte, readers []*PublicKey, shares [][]byte, proof []byte) error {
	n := sm2Curve.Params().N
	if len(readers) == 0 || len(shares) != len(readers) {
		return fmt.Errorf("%w: %d shares for %d readers", ErrBadShares, len(shares), len(readers))
	}
	if len(proof) != scalarSize*(2+len(readers)) {
		return fmt.Errorf("%w: proof of %d bytes, want %d", ErrBadShares, len(proof), scalarSize*(2+len(readers)))
	}
	sc := func(i int) (*big.Int, bool) {
		v := new(big.Int).SetBytes(proof[i*scalarSize : (i+1)*scalarSize])
		return v, v.Cmp(n) < 0
	}
	c, ok1 := sc(0)
	zm, ok2 := sc(1)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: proof scalar out of range", ErrBadShares)
	}
	t := make([]point, len(readers))
	u := make([]point, len(readers))
	for i, pk := range readers {
		if len(shares[i]) != ShareSize {
			return fmt.Errorf("%w: share %d of %d bytes, want %d", ErrBadShares, i, len(shares[i]), ShareSize)
		}
		A, okA := parsePoint(shares[i][:PublicKeySize])
		B, okB := parsePoint(shares[i][PublicKeySize:])
		if !okA || !okB {
			return fmt.Errorf("%w: share %d is not two points of the curve", ErrBadShares, i)
		}
		zi, ok := sc(2 + i)
		if !ok {
			return fmt.Errorf("%w: proof scalar out of range", ErrBadShares)
		}
		P, _ := parsePoint(pk.Bytes())          // a parsed key is a point of the curve
		t[i] = minus(baseMul(zi), c, A)         // z_i·G − c·A_i
		u[i] = minus(combined(zm, zi, P), c, B) // z_m·G + z_i·P_i − c·B_i
	}
	if challenge(readers, shares, t, u, ciphertext).Cmp(c) != 0 {
		return fmt.Errorf("%w: the shares are not all of one key", ErrBadShares)
	}
	return nil
}

// OpenShared decrypts a shared payload with the share made for k.
func (k *PrivateKey) OpenShared(ciphertext, aad, share []byte) ([]byte, error) {
	if len(share) != ShareSize {
		return nil, fmt.Errorf("%w: share of %d bytes, want %d", ErrBadShares, len(share), ShareSize)
	}
	A, okA := parsePoint(share[:PublicKeySize])
	B, okB := parsePoint(share[PublicKeySize:])
	if !okA || !okB {
		return nil, fmt.Errorf("%w: share is not two points of the curve", ErrBadShares)
	}
	dA := mul(A, k.k.D)
	M := add(B, point{dA.x, new(big.Int).Sub(sm2Curve.Params().P, dA.y)})
	return OpenSM4GCM(deriveShareKey(M), ciphertext, aad)
}

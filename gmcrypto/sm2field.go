package gmcrypto

import (
	"math/big"
	"math/bits"
)

// Arithmetic modulo the SM2 field prime p (GB/T 32918.5), for the
// verification of signatures by keys that sign often (sm2fast.go). Elements
// are in Montgomery form (x·2²⁵⁶ mod p) in four little-endian 64-bit limbs.
// Verification handles public values only, so this code is not constant
// time; signing never uses it.

type fe [4]uint64

var (
	feP   = fe{0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF00000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFEFFFFFFFF}
	pBig  = new(big.Int).SetBytes(feP.bytesRaw())
	feRR  fe // 2⁵¹² mod p: toMont's factor
	feOne fe // 1 in Montgomery form
)

func init() {
	r := new(big.Int).Lsh(big.NewInt(1), 512)
	feRR = feFromBigRaw(r.Mod(r, pBig))
	r = new(big.Int).Lsh(big.NewInt(1), 256)
	feOne = feFromBigRaw(r.Mod(r, pBig))
}

// bytesRaw is the 32-byte big-endian encoding of the limbs as they are.
func (x *fe) bytesRaw() []byte {
	b := make([]byte, 32)
	for i := range 4 {
		v := x[3-i]
		for j := range 8 {
			b[8*i+j] = byte(v >> (56 - 8*j))
		}
	}
	return b
}

func feFromBigRaw(v *big.Int) fe {
	var b [32]byte
	v.FillBytes(b[:])
	var z fe
	for i := range 4 {
		for j := range 8 {
			z[3-i] = z[3-i]<<8 | uint64(b[8*i+j])
		}
	}
	return z
}

// feFromBig returns v (0 ≤ v < p) in Montgomery form.
func feFromBig(v *big.Int) fe {
	z := feFromBigRaw(v)
	feMul(&z, &z, &feRR)
	return z
}

// toBig returns x out of Montgomery form.
func (x *fe) toBig() *big.Int {
	var z fe
	one := fe{1}
	feMul(&z, x, &one)
	return new(big.Int).SetBytes(z.bytesRaw())
}

func (x *fe) isZero() bool { return x[0]|x[1]|x[2]|x[3] == 0 }

func (x *fe) equal(y *fe) bool { return *x == *y }

// feMul sets z = x·y·2⁻²⁵⁶ mod p (Montgomery multiplication, CIOS,
// unrolled; p ≡ −1 mod 2⁶⁴, so −p⁻¹ mod 2⁶⁴ is 1 and each round's m is
// the low limb, and p's sparse form turns m·p into shifts).
func feMul(z, x, y *fe) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	var t0, t1, t2, t3, t4, t5 uint64
	var hi, lo, c, cc, m uint64
	// round 0: t += x·y[0]
	{
		yi := y[0]
		hi, lo = bits.Mul64(x0, yi)
		t0, cc = bits.Add64(t0, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x1, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t1, cc = bits.Add64(t1, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x2, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t2, cc = bits.Add64(t2, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x3, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t3, cc = bits.Add64(t3, lo, 0)
		c = hi + cc
		t4, cc = bits.Add64(t4, c, 0)
		t5 = cc
		// (t + m·p) / 2⁶⁴ with m = t0, p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1:
		// t0 − m cancels, leaving t/2⁶⁴ + m + m·2¹⁹² − m·2³² − m·2¹⁶⁰.
		m = t0
		t0, cc = bits.Add64(t1, m, 0)
		t1, cc = bits.Add64(t2, 0, cc)
		t2, cc = bits.Add64(t3, 0, cc)
		t3, cc = bits.Add64(t4, m, cc)
		t4 = t5 + cc
		ml, mh := m<<32, m>>32
		t0, cc = bits.Sub64(t0, ml, 0)
		t1, cc = bits.Sub64(t1, mh, cc)
		t2, cc = bits.Sub64(t2, ml, cc)
		t3, cc = bits.Sub64(t3, mh, cc)
		t4 -= cc
	}
	// round 1: t += x·y[1]
	{
		yi := y[1]
		hi, lo = bits.Mul64(x0, yi)
		t0, cc = bits.Add64(t0, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x1, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t1, cc = bits.Add64(t1, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x2, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t2, cc = bits.Add64(t2, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x3, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t3, cc = bits.Add64(t3, lo, 0)
		c = hi + cc
		t4, cc = bits.Add64(t4, c, 0)
		t5 = cc
		// (t + m·p) / 2⁶⁴ with m = t0, p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1:
		// t0 − m cancels, leaving t/2⁶⁴ + m + m·2¹⁹² − m·2³² − m·2¹⁶⁰.
		m = t0
		t0, cc = bits.Add64(t1, m, 0)
		t1, cc = bits.Add64(t2, 0, cc)
		t2, cc = bits.Add64(t3, 0, cc)
		t3, cc = bits.Add64(t4, m, cc)
		t4 = t5 + cc
		ml, mh := m<<32, m>>32
		t0, cc = bits.Sub64(t0, ml, 0)
		t1, cc = bits.Sub64(t1, mh, cc)
		t2, cc = bits.Sub64(t2, ml, cc)
		t3, cc = bits.Sub64(t3, mh, cc)
		t4 -= cc
	}
	// round 2: t += x·y[2]
	{
		yi := y[2]
		hi, lo = bits.Mul64(x0, yi)
		t0, cc = bits.Add64(t0, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x1, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t1, cc = bits.Add64(t1, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x2, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t2, cc = bits.Add64(t2, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x3, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t3, cc = bits.Add64(t3, lo, 0)
		c = hi + cc
		t4, cc = bits.Add64(t4, c, 0)
		t5 = cc
		// (t + m·p) / 2⁶⁴ with m = t0, p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1:
		// t0 − m cancels, leaving t/2⁶⁴ + m + m·2¹⁹² − m·2³² − m·2¹⁶⁰.
		m = t0
		t0, cc = bits.Add64(t1, m, 0)
		t1, cc = bits.Add64(t2, 0, cc)
		t2, cc = bits.Add64(t3, 0, cc)
		t3, cc = bits.Add64(t4, m, cc)
		t4 = t5 + cc
		ml, mh := m<<32, m>>32
		t0, cc = bits.Sub64(t0, ml, 0)
		t1, cc = bits.Sub64(t1, mh, cc)
		t2, cc = bits.Sub64(t2, ml, cc)
		t3, cc = bits.Sub64(t3, mh, cc)
		t4 -= cc
	}
	// round 3: t += x·y[3]
	{
		yi := y[3]
		hi, lo = bits.Mul64(x0, yi)
		t0, cc = bits.Add64(t0, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x1, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t1, cc = bits.Add64(t1, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x2, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t2, cc = bits.Add64(t2, lo, 0)
		c = hi + cc
		hi, lo = bits.Mul64(x3, yi)
		lo, cc = bits.Add64(lo, c, 0)
		hi += cc
		t3, cc = bits.Add64(t3, lo, 0)
		c = hi + cc
		t4, cc = bits.Add64(t4, c, 0)
		t5 = cc
		// (t + m·p) / 2⁶⁴ with m = t0, p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1:
		// t0 − m cancels, leaving t/2⁶⁴ + m + m·2¹⁹² − m·2³² − m·2¹⁶⁰.
		m = t0
		t0, cc = bits.Add64(t1, m, 0)
		t1, cc = bits.Add64(t2, 0, cc)
		t2, cc = bits.Add64(t3, 0, cc)
		t3, cc = bits.Add64(t4, m, cc)
		t4 = t5 + cc
		ml, mh := m<<32, m>>32
		t0, cc = bits.Sub64(t0, ml, 0)
		t1, cc = bits.Sub64(t1, mh, cc)
		t2, cc = bits.Sub64(t2, ml, cc)
		t3, cc = bits.Sub64(t3, mh, cc)
		t4 -= cc
	}
	feReduce(z, t0, t1, t2, t3, t4)
}

// feReduce sets z to the 5-limb value t (< 2p) minus p if it is ≥ p.
func feReduce(z *fe, t0, t1, t2, t3, t4 uint64) {
	r0, b := bits.Sub64(t0, feP[0], 0)
	r1, b := bits.Sub64(t1, feP[1], b)
	r2, b := bits.Sub64(t2, feP[2], b)
	r3, b := bits.Sub64(t3, feP[3], b)
	_, b = bits.Sub64(t4, 0, b)
	if b == 0 {
		*z = fe{r0, r1, r2, r3}
		return
	}
	*z = fe{t0, t1, t2, t3}
}

func feSqr(z, x *fe) { feMul(z, x, x) }

// feAdd sets z = x + y mod p.
func feAdd(z, x, y *fe) {
	t0, c := bits.Add64(x[0], y[0], 0)
	t1, c := bits.Add64(x[1], y[1], c)
	t2, c := bits.Add64(x[2], y[2], c)
	t3, c := bits.Add64(x[3], y[3], c)
	feReduce(z, t0, t1, t2, t3, c)
}

// feSub sets z = x − y mod p.
func feSub(z, x, y *fe) {
	t0, b := bits.Sub64(x[0], y[0], 0)
	t1, b := bits.Sub64(x[1], y[1], b)
	t2, b := bits.Sub64(x[2], y[2], b)
	t3, b := bits.Sub64(x[3], y[3], b)
	if b != 0 {
		var c uint64
		t0, c = bits.Add64(t0, feP[0], 0)
		t1, c = bits.Add64(t1, feP[1], c)
		t2, c = bits.Add64(t2, feP[2], c)
		t3, _ = bits.Add64(t3, feP[3], c)
	}
	*z = fe{t0, t1, t2, t3}
}

// feInv sets z = x⁻¹ mod p (x ≠ 0); used once per table, so math/big.
func feInv(z, x *fe) {
	v := x.toBig()
	*z = feFromBig(v.ModInverse(v, pBig))
}

package gmcrypto

import (
	"encoding/binary"
	"math/big"
	"os"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm2/sm2ec"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Fast SM2 verification for keys that sign often. An SM2 verification
// computes s·G + t·P: gmsm multiplies the fixed base G with precomputed
// tables, but the signer's key P with a variable-base multiplication, which
// is three quarters of a verification. A bank's gateway key signs every
// payment it sends, so once a key has been seen verifyTableAfter times
// jinlian precomputes j·64ⁱ·P (i < 43, 1 ≤ j ≤ 32) for it, and t·P + s·G
// becomes one sum of at most 86 table entries, P's and the generator's (t
// and s in signed base-64 digits, a negative digit adding the entry's
// negative), added by gmsm's assembly where it has it (sm2asm.go). The
// result is the same as gmsm's verifier for every input (FuzzFastVerify
// compares them); verification handles public values only, so it need not
// run in constant time. ADR 0016.

// verifyTableAfter: a key earns a table at its verifyTableAfter-th
// verification (building one costs about as much as 25 verifications).
const verifyTableAfter = 4

// maxVerifyTables bounds the tables kept (88,064 bytes each: 22 MiB at
// most).
const maxVerifyTables = 256

// The table's shape: tableWindows digits of tableBits bits, entries
// 1..tableEntries of each window.
const (
	tableBits    = 6
	tableWindows = (256 + tableBits) / tableBits // 43: room for the top digit's carry
	tableEntries = 1 << (tableBits - 1)          // 32
)

type verifyTable [tableWindows][tableEntries]affine

type affine struct{ x, y fe }

type jacobian struct{ x, y, z fe } // z = 0: the point at infinity

// keyTable is what fast verification keeps per key.
type keyTable struct {
	once sync.Once
	za   []byte
	t    *verifyTable // nil when the key could not be tabled
	hits uint32       // verifications through it, halved as the cache ages (tableCache's lock)
}

// tableCache holds the tables of the keys that sign most, and counts the
// verifications of keys without one. It keeps the most frequent signers,
// not the latest: a key with no table takes the place of the least used of
// a few tables drawn at random only when it has been seen verifyTableAfter
// times more than that table was used, and every count is halved every
// tableAgePeriod verifications, so the cache follows a changing load. The
// first version dropped the oldest table instead: with more than
// maxVerifyTables keys signing in turn every table was dropped before its
// next use and rebuilt a few verifications later, up to five times the
// cost of no tables at all (TestTableCachePolicy; docs/performance.md).
// An attacker's fresh keys (or garbage signatures under one key) push a
// table out only by being verified more often than that table's key is.
type tableCache struct {
	sync.Mutex
	m    map[string]*keyTable // at most maxVerifyTables
	uses map[string]uint32    // at most maxCountedKeys
	seen int                  // verifications since the counts were last halved
}

// tableAgePeriod: the counts are halved every tableAgePeriod verifications.
const tableAgePeriod = 128 * maxVerifyTables

// tableVictimSample: how many tables (drawn by map iteration, which is
// random) a candidate competes with.
const tableVictimSample = 8

// maxCountedKeys bounds the keys whose uses are counted before they earn
// a table; past it the counts start over.
const maxCountedKeys = 4096

func newTableCache() *tableCache {
	return &tableCache{m: map[string]*keyTable{}, uses: map[string]uint32{}}
}

var verifyTables = newTableCache()

// fastVerifyOff makes Verify use gmsm only: tests, and the environment
// variable JINLIAN_SM2_TABLES=off (a diagnostic switch, and the "before" of
// docs/performance.md's comparison).
var fastVerifyOff atomic.Bool

func init() {
	if os.Getenv("JINLIAN_SM2_TABLES") == "off" {
		fastVerifyOff.Store(true)
	}
}

// get returns the table entry of key k (its raw bytes), nil while k has
// not earned one; a new entry's table is built by its first user.
func (c *tableCache) get(k []byte) *keyTable {
	c.Lock()
	defer c.Unlock()
	if c.seen++; c.seen >= tableAgePeriod {
		c.age()
	}
	if kt, ok := c.m[string(k)]; ok {
		kt.hits++
		return kt
	}
	n := c.uses[string(k)] + 1
	if n < verifyTableAfter {
		if len(c.uses) >= maxCountedKeys {
			clear(c.uses)
		}
		c.uses[string(k)] = n
		return nil
	}
	if len(c.m) >= maxVerifyTables {
		victim, least, i := "", ^uint32(0), 0
		for vk, kt := range c.m {
			if kt.hits < least {
				victim, least = vk, kt.hits
			}
			if i++; i == tableVictimSample {
				break
			}
		}
		if n <= least+verifyTableAfter {
			c.uses[string(k)] = n
			return nil
		}
		delete(c.m, victim)
	}
	delete(c.uses, string(k))
	kt := &keyTable{hits: n}
	c.m[string(k)] = kt
	return kt
}

// age halves every count, and forgets the keys counted once.
func (c *tableCache) age() {
	c.seen = 0
	for _, kt := range c.m {
		kt.hits /= 2
	}
	for k, n := range c.uses {
		if n /= 2; n == 0 {
			delete(c.uses, k)
		} else {
			c.uses[k] = n
		}
	}
}

var (
	curveN      = sm2ec.P256().Params().N
	defaultSMID = []byte("1234567812345678") // GB/T 32918's default user ID
)

// verify checks sig over msg with p: through p's table once p has signed
// often enough, else through gmsm.
func (p *PublicKey) verify(msg, sig []byte) bool {
	if fastVerifyOff.Load() {
		return sm2.VerifyASN1WithSM2(p.k, nil, msg, sig)
	}
	kt := verifyTables.get(p.raw)
	if kt != nil {
		kt.once.Do(func() { kt.build(p) })
	}
	if kt == nil || kt.t == nil {
		return sm2.VerifyASN1WithSM2(p.k, nil, msg, sig)
	}
	return kt.verify(msg, sig)
}

func (kt *keyTable) build(p *PublicKey) {
	za, err := sm2.CalculateZA(p.k, defaultSMID)
	if err != nil {
		return
	}
	kt.za = za
	kt.t = buildTable(rawAffine(p.raw))
}

// rawAffine reads 04 ‖ X ‖ Y (a point checked on the curve).
func rawAffine(raw []byte) affine {
	return affine{feFromBig(new(big.Int).SetBytes(raw[1:33])), feFromBig(new(big.Int).SetBytes(raw[33:65]))}
}

// addend is one addition of a sum of table entries: the entry, or its
// negative.
type addend struct {
	e   affine
	neg bool
}

// addendOf is digit d (≠ 0) of window w: the entry |d|·64ⁱ·P, negated for
// d < 0.
func addendOf(w *[tableEntries]affine, d int8) addend {
	if d < 0 {
		return addend{w[-d-1], true}
	}
	return addend{w[d-1], false}
}

// addEntry (sm2asm.go, sm2noasm.go) sets acc = acc ± e, acc not the point
// at infinity: gmsm's assembly where it has it, else addMixed. The
// assembly's formula is incomplete (acc = ±e gives Z = 0, and Z stays 0),
// so sumTerms checks its result. A plain function, not a variable: an
// indirect call would move every verification's terms (6 KB) to the heap.

func negated(a affine, neg bool) affine {
	if neg {
		feSub(&a.y, &fe{}, &a.y) // −(x, y) = (x, −y)
	}
	return a
}

// sumTerms returns the sum of ts. The terms were copied out of their
// tables before any addition, so the processor fetches a cold table's
// cache lines together instead of stalling on one miss per addition (a
// verifier that sees many keys' tables: BenchmarkSM2VerifyTabledMany).
//
// The fast additions are exact unless the running sum meets ± the entry
// it adds (a doubling or a cancellation), which leaves Z = 0 to the end;
// then the sum is taken again with addMixed, whose formulas are complete.
// A sum whose exact value is the point at infinity meets its last entry's
// negative, so it takes that path too and comes back with Z = 0. Honest
// signatures meet such a case with negligible probability; a signer that
// crafts one (a key such as P = G makes it easy) only slows its own
// verification, and the answer is gmsm's either way.
func sumTerms(ts []addend) jacobian {
	if len(ts) == 0 {
		return jacobian{}
	}
	first := negated(ts[0].e, ts[0].neg)
	acc := jacobian{first.x, first.y, feOne}
	for i := 1; i < len(ts); i++ {
		addEntry(&acc, &ts[i].e, ts[i].neg)
	}
	if !acc.z.isZero() {
		return acc
	}
	acc = jacobian{}
	for _, t := range ts {
		acc = addMixed(acc, negated(t.e, t.neg))
	}
	return acc
}

// gTable is the generator's table, built at the first tabled verification.
var gTable = sync.OnceValue(func() *verifyTable {
	params := sm2ec.P256().Params()
	return buildTable(affine{feFromBig(params.Gx), feFromBig(params.Gy)})
})

// linearCombination returns t·P + s·G (t, s < n as 32 big-endian bytes),
// P the table's point: the digits of both scalars, one addition each.
func linearCombination(tp *verifyTable, t, s *[32]byte) jacobian {
	g := gTable()
	var ts [2 * tableWindows]addend
	n := 0
	dt, ds := digits(t), digits(s)
	for i := range tableWindows {
		if d := dt[i]; d != 0 {
			ts[n] = addendOf(&tp[i], d)
			n++
		}
		if d := ds[i]; d != 0 {
			ts[n] = addendOf(&g[i], d)
			n++
		}
	}
	return sumTerms(ts[:n])
}

// buildTable returns T[i][j−1] = j·64ⁱ·P. The additions j·B + B (j ≥ 2)
// never meet ±B (P's order is the prime n, far above 33), so they may use
// addEntry's incomplete formula; 2·B is a doubling.
func buildTable(p affine) *verifyTable {
	const n = tableWindows * tableEntries
	jac := make([]jacobian, n)
	base := p
	for i := range tableWindows {
		acc := jacobian{base.x, base.y, feOne}
		jac[tableEntries*i] = acc
		acc = double(acc)
		jac[tableEntries*i+1] = acc
		for j := 2; j < tableEntries; j++ {
			addEntry(&acc, &base, false)
			jac[tableEntries*i+j] = acc
		}
		if i < tableWindows-1 {
			base = double(acc).toAffine() // 64·base
		}
	}
	// One inversion for all (Montgomery's trick).
	prefix := make([]fe, n)
	prod := feOne
	for i := range jac {
		prefix[i] = prod
		feMul(&prod, &prod, &jac[i].z)
	}
	var inv fe
	feInv(&inv, &prod)
	t := new(verifyTable)
	for i := n - 1; i >= 0; i-- {
		var zi, zi2, zi3 fe
		feMul(&zi, &inv, &prefix[i]) // 1/z_i
		feMul(&inv, &inv, &jac[i].z)
		feSqr(&zi2, &zi)
		feMul(&zi3, &zi2, &zi)
		e := &t[i/tableEntries][i%tableEntries]
		feMul(&e.x, &jac[i].x, &zi2)
		feMul(&e.y, &jac[i].y, &zi3)
	}
	return t
}

// digits writes t (32 bytes, big-endian, < n) in signed base 2^tableBits:
// t = Σ d[i]·64ⁱ with −32 ≤ d[i] < 32.
func digits(t *[32]byte) [tableWindows]int8 {
	var limbs [5]uint64 // little-endian, and a zero limb for the top window
	for i := range 4 {
		limbs[i] = binary.BigEndian.Uint64(t[24-8*i:])
	}
	var d [tableWindows]int8
	carry := 0
	for i := range tableWindows {
		bit := i * tableBits
		w := limbs[bit/64] >> (bit % 64)
		if bit%64 > 64-tableBits {
			w |= limbs[bit/64+1] << (64 - bit%64)
		}
		v := int(w&(1<<tableBits-1)) + carry
		carry = 0
		if v >= tableEntries {
			v -= 1 << tableBits
			carry = 1
		}
		d[i] = int8(v)
	}
	return d
}

// toAffine returns q (not the point at infinity) in affine coordinates.
func (q jacobian) toAffine() affine {
	var zi, zi2, zi3 fe
	feInv(&zi, &q.z)
	feSqr(&zi2, &zi)
	feMul(&zi3, &zi2, &zi)
	var a affine
	feMul(&a.x, &q.x, &zi2)
	feMul(&a.y, &q.y, &zi3)
	return a
}

// double returns 2·q (a = −3; dbl-2001-b).
func double(q jacobian) jacobian {
	var delta, gamma, beta, alpha, t1, t2 fe
	feSqr(&delta, &q.z)
	feSqr(&gamma, &q.y)
	feMul(&beta, &q.x, &gamma)
	feSub(&t1, &q.x, &delta)
	feAdd(&t2, &q.x, &delta)
	feMul(&alpha, &t1, &t2)
	feAdd(&t1, &alpha, &alpha)
	feAdd(&alpha, &t1, &alpha) // 3·(x−δ)(x+δ)
	var r jacobian
	feSqr(&r.x, &alpha)
	feAdd(&t1, &beta, &beta) // 2β
	feAdd(&t1, &t1, &t1)     // 4β
	feAdd(&t2, &t1, &t1)     // 8β
	feSub(&r.x, &r.x, &t2)
	feAdd(&r.z, &q.y, &q.z)
	feSqr(&r.z, &r.z)
	feSub(&r.z, &r.z, &gamma)
	feSub(&r.z, &r.z, &delta)
	feSub(&t1, &t1, &r.x) // 4β − x3
	feMul(&r.y, &alpha, &t1)
	feSqr(&t2, &gamma) // γ²
	feAdd(&t2, &t2, &t2)
	feAdd(&t2, &t2, &t2)
	feAdd(&t2, &t2, &t2) // 8γ²
	feSub(&r.y, &r.y, &t2)
	return r
}

// addMixed returns q + a (a affine, not the point at infinity;
// madd-2007-bl), with the exceptional cases q = ∞, q = a and q = −a.
func addMixed(q jacobian, a affine) jacobian {
	if q.z.isZero() {
		return jacobian{a.x, a.y, feOne}
	}
	var z1z1, u2, s2, h, rr fe
	feSqr(&z1z1, &q.z)
	feMul(&u2, &a.x, &z1z1)
	feMul(&s2, &a.y, &q.z)
	feMul(&s2, &s2, &z1z1)
	feSub(&h, &u2, &q.x)
	feSub(&rr, &s2, &q.y)
	if h.isZero() {
		if rr.isZero() {
			return double(q)
		}
		return jacobian{} // q = −a
	}
	feAdd(&rr, &rr, &rr)
	var hh, i, j, v fe
	feSqr(&hh, &h)
	feAdd(&i, &hh, &hh)
	feAdd(&i, &i, &i)
	feMul(&j, &h, &i)
	feMul(&v, &q.x, &i)
	var r jacobian
	feSqr(&r.x, &rr)
	feSub(&r.x, &r.x, &j)
	feSub(&r.x, &r.x, &v)
	feSub(&r.x, &r.x, &v)
	var t fe
	feSub(&t, &v, &r.x)
	feMul(&r.y, &rr, &t)
	feMul(&t, &q.y, &j)
	feAdd(&t, &t, &t)
	feSub(&r.y, &r.y, &t)
	feAdd(&r.z, &q.z, &h)
	feSqr(&r.z, &r.z)
	feSub(&r.z, &r.z, &z1z1)
	feSub(&r.z, &r.z, &hh)
	return r
}

// verify is GB/T 32918.2's verification, as gmsm's VerifyASN1WithSM2 with
// the default user ID, with t·P from the key's table.
func (kt *keyTable) verify(msg, sig []byte) bool {
	// The signature's DER, read exactly as gmsm reads it.
	var inner cryptobyte.String
	var rb, sb []byte
	input := cryptobyte.String(sig)
	if !input.ReadASN1(&inner, asn1.SEQUENCE) || !input.Empty() || !inner.ReadASN1Integer(&rb) || !inner.ReadASN1Integer(&sb) || !inner.Empty() {
		return false
	}
	if len(rb) > 32 || len(sb) > 32 {
		return false // ≥ 2²⁵⁶ > n
	}
	r, s := new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb)
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(curveN) >= 0 || s.Cmp(curveN) >= 0 {
		return false
	}
	h := sm3.New()
	h.Write(kt.za)
	h.Write(msg)
	e := new(big.Int).SetBytes(h.Sum(nil))
	e.Mod(e, curveN)
	t := new(big.Int).Add(r, s)
	if t.Mod(t, curveN).Sign() == 0 {
		return false
	}
	// t·P + s·G from the key's table and the generator's.
	var tb, sk [32]byte
	t.FillBytes(tb[:])
	s.FillBytes(sk[:])
	acc := linearCombination(kt.t, &tb, &sk)
	if acc.z.isZero() {
		return false
	}
	// (x + e) mod n = r, with x = X/Z²: x ≡ r − e (mod n), so x is c or
	// c + n (when below p), and X = x·Z² needs no inversion.
	c := new(big.Int).Sub(r, e)
	c.Mod(c, curveN)
	var zz, want fe
	feSqr(&zz, &acc.z)
	for c.Cmp(pBig) < 0 {
		cf := feFromBig(c)
		feMul(&want, &cf, &zz)
		if want.equal(&acc.x) {
			return true
		}
		c.Add(c, curveN)
	}
	return false
}

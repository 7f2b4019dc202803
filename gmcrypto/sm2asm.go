//go:build (amd64 || arm64) && !purego

package gmcrypto

import (
	_ "unsafe" // go:linkname

	_ "github.com/emmansun/gmsm/sm2" // links gmsm's curve assembly
)

// gmsm's mixed point addition in assembly (internal/sm2ec, amd64 and arm64):
// res = in1 + (−1)^sign·in2, res = in1 when sel is 0, res = in2 when zero
// is 0. Its point layouts are jacobian's and affine's: Montgomery-form
// field elements (R = 2²⁵⁶) in four little-endian limbs, x, y (, z).
// gmsm does not export it; the version is pinned in go.mod and
// TestFastVerifyMatchesGmsm, FuzzFastVerify, TestSumTermsExact and
// TestFastVerifyCraftedKey check it against gmsm's verifier and against
// addMixed.
//
//go:linkname p256PointAddAffineAsm github.com/emmansun/gmsm/internal/sm2ec.p256PointAddAffineAsm
//go:noescape
func p256PointAddAffineAsm(res, in1 *jacobian, in2 *affine, sign, sel, zero int)

// addEntry sets acc = acc + e (neg: acc − e); acc is not the point at
// infinity. The formula is incomplete: acc = ±e gives Z = 0 (see sumTerms).
func addEntry(acc *jacobian, e *affine, neg bool) {
	sign := 0
	if neg {
		sign = 1
	}
	p256PointAddAffineAsm(acc, acc, e, sign, 1, 1)
}

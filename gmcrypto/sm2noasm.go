//go:build !(amd64 || arm64) || purego

package gmcrypto

// addEntry sets acc = acc ± e with addMixed's complete formulas, where
// gmsm has no assembly (sm2asm.go).
func addEntry(acc *jacobian, e *affine, neg bool) { *acc = addMixed(*acc, negated(*e, neg)) }

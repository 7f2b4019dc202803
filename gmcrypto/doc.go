// Package gmcrypto is jinlian's only door to Guomi cryptography: SM2 keys,
// signatures and encryption (GB/T 32918), SM3 hashing (GB/T 32905), SM4
// (GB/T 32907) with GCM, SM2-with-SM3 X.509 certificates (GM/T 0015
// profile: root CAs and role-bearing leaves), addresses, and the encrypted
// keystore (PBKDF2-HMAC-SM3 + SM4-GCM). docs/guomi.md says which algorithm
// protects what.
//
// It also speaks GM TLS (GM/T 0024, the TLCP of GB/T 38636: dual SM2
// certificates, ECC_SM4_CBC_SM3) for the node's client-facing API:
// NewGMTLSListener and DialGMTLS, with IssueLeaf making the signing and
// encryption certificates and ParsePrivateKeyPEM reading TLS key files.
//
// Every other package of jinlian reaches SM2/SM3/SM4 through this package, so
// that swapping the underlying library (today github.com/emmansun/gmsm) is a
// change to this folder only. github.com/tjfoc/gmsm is used for GM TLS only,
// in gmtls.go (emmansun has no TLS stack), and in interoperability tests.
// Verification of keys that sign often goes through a per-key table of
// multiples of the key, on a small field implementation of its own
// (sm2fast.go, sm2field.go, ADR 0016); its answer is gmsm's for every
// input. It imports nothing of jinlian.
package gmcrypto

// Package gmcrypto is jinlian's only door to Guomi cryptography: SM2 keys,
// signatures and encryption (GB/T 32918), SM3 hashing (GB/T 32905), SM4
// (GB/T 32907) with GCM, SM2-with-SM3 X.509 certificates (GM/T 0015
// profile: root CAs and role-bearing leaves), addresses, and the encrypted
// keystore (PBKDF2-HMAC-SM3 + SM4-GCM). docs/guomi.md says which algorithm
// protects what.
//
// Every other package of jinlian reaches SM2/SM3/SM4 through this package, so
// that swapping the underlying library (today github.com/emmansun/gmsm) is a
// change to this folder only. It imports nothing of jinlian.
package gmcrypto

// Package gmcrypto is jinlian's only door to Guomi cryptography: SM2 keys,
// signatures and encryption (GB/T 32918), SM3 hashing (GB/T 32905), SM4
// (GB/T 32907), addresses, and the encrypted keystore.
//
// Every other package of jinlian reaches SM2/SM3/SM4 through this package, so
// that swapping the underlying library (today github.com/emmansun/gmsm) is a
// change to this folder only. It imports nothing of jinlian.
package gmcrypto

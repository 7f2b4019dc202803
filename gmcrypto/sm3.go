package gmcrypto

import (
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// HashSize is the size of an SM3 digest in bytes.
const HashSize = sm3.Size

// SM3 returns the SM3 digest of the concatenation of parts.
func SM3(parts ...[]byte) [HashSize]byte {
	h := sm3.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// NewSM3 returns a streaming SM3 hash.
func NewSM3() hash.Hash { return sm3.New() }

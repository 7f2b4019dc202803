package gmcrypto

import (
	"encoding/binary"
	"hash"
	"io"

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

// NewSM3Stream is SM3 in counter mode over seed: block i is
// SM3(seed ‖ uint64 big-endian i). A deterministic byte stream for the
// INSECURE development setup and for test keys; never for secrets.
func NewSM3Stream(seed [HashSize]byte) io.Reader { return &sm3Stream{seed: seed} }

type sm3Stream struct {
	seed [HashSize]byte
	ctr  uint64
	buf  []byte
}

func (s *sm3Stream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			b := SM3(s.seed[:], binary.BigEndian.AppendUint64(nil, s.ctr))
			s.ctr++
			s.buf = b[:]
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return n, nil
}

package gmcrypto

import (
	"bytes"
	"io"
	"testing"
)

func TestSM3Stream(t *testing.T) {
	seed := SM3([]byte("seed"))
	b := make([]byte, 80)
	if _, err := io.ReadFull(NewSM3Stream(seed), b); err != nil {
		t.Fatal(err)
	}
	b0, b1 := SM3(seed[:], make([]byte, 8)), SM3(seed[:], []byte{0, 0, 0, 0, 0, 0, 0, 1})
	if !bytes.Equal(b[:32], b0[:]) || !bytes.Equal(b[32:64], b1[:]) {
		t.Fatal("stream is not SM3(seed ‖ counter)")
	}
	// Reads of any size give the same stream.
	r, c := NewSM3Stream(seed), make([]byte, 0, 80)
	for len(c) < 80 {
		p := make([]byte, 7)
		n, _ := r.Read(p)
		c = append(c, p[:n]...)
	}
	if !bytes.Equal(c[:80], b) {
		t.Fatal("chunked reads differ")
	}
}

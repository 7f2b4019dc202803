package movement

// Fuzz targets for the decoders of outside bytes: a commitment as a state
// proof delivers it. Run with
//   go test ./movement -run '^$' -fuzz FuzzDecodeCommitment -fuzztime 1m

import (
	"bytes"
	"testing"
)

func FuzzDecodeCommitment(f *testing.F) {
	c := Commitment{Count: 3, Balance: 9}
	c.Chain[5] = 1
	f.Add(c.Encode())
	f.Add(Commitment{Balance: 1}.Encode())
	f.Add([]byte{})
	f.Add(make([]byte, CommitmentSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommitment(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatalf("DecodeCommitment(%x) = %+v, which encodes as %x", b, c, c.Encode())
		}
	})
}

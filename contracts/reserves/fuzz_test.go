package reserves_test

import (
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
)

// FuzzDecodeBundle: the decoder and the verifier take outside bytes and
// must refuse bad ones with an error, never panic; a bundle that decodes
// re-encodes to one that decodes the same.
func FuzzDecodeBundle(f *testing.F) {
	fx := newFixture(f, map[int]uint64{1: 10, 2: 20, 3: 30}, 0)
	good, err := fx.bundle(f, addr(2)).Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"path":[{"side":"left","hash":"00","sum":"1"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := reserves.DecodeBundle(in)
		if err != nil {
			return
		}
		_, _ = reserves.Verify(b)
		again, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reserves.DecodeBundle(again); err != nil {
			t.Fatalf("a decoded bundle re-encodes to one that does not decode: %v", err)
		}
	})
}

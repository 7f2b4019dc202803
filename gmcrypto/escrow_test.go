package gmcrypto

import (
	"bytes"
	"errors"
	"testing"
)

func escrowReaders(t testing.TB, n int) ([]*PrivateKey, []*PublicKey) {
	t.Helper()
	privs := make([]*PrivateKey, n)
	pubs := make([]*PublicKey, n)
	for i := range privs {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		privs[i], pubs[i] = k, k.Public()
	}
	return privs, pubs
}

func TestSharedPayloadRoundTrip(t *testing.T) {
	privs, pubs := escrowReaders(t, 3)
	aad := []byte("test aad")
	ct, shares, proof, err := SealShared([]byte("invoice 42"), aad, pubs)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyShared(ct, pubs, shares, proof); err != nil {
		t.Fatalf("honest shares refused: %v", err)
	}
	for i, k := range privs {
		got, err := k.OpenShared(ct, aad, shares[i])
		if err != nil || string(got) != "invoice 42" {
			t.Fatalf("reader %d: %q %v", i, got, err)
		}
	}
	outsider, _ := GenerateKey()
	if _, err := outsider.OpenShared(ct, aad, shares[2]); err == nil {
		t.Fatal("an outsider opened reader 2's share")
	}
}

// TestSharedPayloadAdversary plays a sender who wants the parties to read
// the payload and the regulator (reader 2) not to: every way of giving the
// regulator a share of another key, or none, is refused by a verifier that
// holds no private key.
func TestSharedPayloadAdversary(t *testing.T) {
	_, pubs := escrowReaders(t, 3)
	aad := []byte("aad")
	ct, shares, proof, err := SealShared([]byte("secret"), aad, pubs)
	if err != nil {
		t.Fatal(err)
	}
	// Another payload's share for the regulator: a valid share, of another key.
	ct2, shares2, proof2, err := SealShared([]byte("decoy"), aad, pubs)
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, s []byte) [][]byte {
		out := append([][]byte(nil), shares...)
		out[i] = s
		return out
	}
	garbage := bytes.Repeat([]byte{0x04}, ShareSize)
	swapped := append(append([]byte(nil), shares[2][PublicKeySize:]...), shares[2][:PublicKeySize]...)
	// The regulator's share re-encrypted to the sender (a real point pair
	// under another key).
	flipped := append([]byte(nil), shares[2]...)
	flipped[PublicKeySize-1] ^= 1
	badScalar := append([]byte(nil), proof...)
	for i := 0; i < scalarSize; i++ {
		badScalar[scalarSize+i] = 0xff
	}
	zeroC := append(make([]byte, scalarSize), proof[scalarSize:]...)

	cases := []struct {
		name    string
		ct      []byte
		readers []*PublicKey
		shares  [][]byte
		proof   []byte
	}{
		{"regulator's share of another key", ct, pubs, with(2, shares2[2]), proof},
		{"regulator's share garbage", ct, pubs, with(2, garbage), proof},
		{"regulator's share with A and B swapped", ct, pubs, with(2, swapped), proof},
		{"regulator's share altered", ct, pubs, with(2, flipped), proof},
		{"regulator's share missing", ct, pubs, shares[:2], proof},
		{"regulator dropped from the readers", ct, pubs[:2], shares[:2], proof[:len(proof)-scalarSize]},
		{"proof of another payload", ct, pubs, shares, proof2},
		{"proof moved to another ciphertext", ct2, pubs, shares, proof},
		{"readers reordered", ct, []*PublicKey{pubs[0], pubs[2], pubs[1]}, [][]byte{shares[0], shares[2], shares[1]}, proof},
		{"scalar not below the order", ct, pubs, shares, badScalar},
		{"zero challenge", ct, pubs, shares, zeroC},
		{"truncated proof", ct, pubs, shares, proof[:len(proof)-1]},
		{"no readers", ct, nil, nil, proof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyShared(tc.ct, tc.readers, tc.shares, tc.proof)
			if !errors.Is(err, ErrBadShares) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func FuzzVerifyShared(f *testing.F) {
	_, pubs := escrowReaders(f, 2)
	ct, shares, proof, err := SealShared([]byte("x"), nil, pubs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct, shares[0], shares[1], proof)
	f.Fuzz(func(t *testing.T, ct, s0, s1, proof []byte) {
		_ = VerifyShared(ct, pubs, [][]byte{s0, s1}, proof) // must not panic
	})
}

func BenchmarkVerifyShared(b *testing.B) {
	_, pubs := escrowReaders(b, 3)
	ct, shares, proof, err := SealShared(make([]byte, 1024), nil, pubs)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := VerifyShared(ct, pubs, shares, proof); err != nil {
			b.Fatal(err)
		}
	}
}

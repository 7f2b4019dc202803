package gmcrypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSM4GCM(t *testing.T) {
	key, err := GenerateSM4Key()
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("confidential payload")
	aad := []byte("ledger=payments")
	sealed, err := SealSM4GCM(key, pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != SM4GCMNonceSize+len(pt)+SM4GCMTagSize {
		t.Fatalf("sealed length %d", len(sealed))
	}
	got, err := OpenSM4GCM(key, sealed, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("open: %q, %v", got, err)
	}
	again, _ := SealSM4GCM(key, pt, aad)
	if bytes.Equal(again[:SM4GCMNonceSize], sealed[:SM4GCMNonceSize]) {
		t.Fatal("nonce repeated")
	}
	otherKey, _ := GenerateSM4Key()
	flipped := append([]byte{}, sealed...)
	flipped[SM4GCMNonceSize] ^= 1
	cases := []struct {
		name   string
		key    []byte
		sealed []byte
		aad    []byte
		want   error
	}{
		{"wrong key", otherKey, sealed, aad, ErrDecrypt},
		{"wrong aad", key, sealed, []byte("ledger=assets"), ErrDecrypt},
		{"missing aad", key, sealed, nil, ErrDecrypt},
		{"flipped ciphertext", key, flipped, aad, ErrDecrypt},
		{"truncated", key, sealed[:SM4GCMNonceSize+SM4GCMTagSize-1], aad, ErrDecrypt},
		{"empty", key, nil, aad, ErrDecrypt},
		{"short key", key[:15], sealed, aad, ErrInvalidSM4Key},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := OpenSM4GCM(c.key, c.sealed, c.aad); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := SealSM4GCM(make([]byte, 32), pt, nil); !errors.Is(err, ErrInvalidSM4Key) {
		t.Fatalf("32-byte key: %v", err)
	}
	empty, err := SealSM4GCM(key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenSM4GCM(key, empty, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty plaintext: %q, %v", got, err)
	}
}

package gmcrypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSM2EncryptDecrypt(t *testing.T) {
	k, _ := GenerateKey()
	other, _ := GenerateKey()
	msg := []byte("an SM4 key of 16")
	for _, enc := range []CiphertextEncoding{CiphertextASN1, CiphertextC1C3C2, CiphertextC1C2C3} {
		t.Run(enc.String(), func(t *testing.T) {
			ct, err := k.Public().EncryptAs(msg, enc)
			if err != nil {
				t.Fatal(err)
			}
			if enc == CiphertextASN1 && ct[0] != 0x30 || enc != CiphertextASN1 && (ct[0] != 4 || len(ct) != 65+32+len(msg)) {
				t.Fatalf("ciphertext %x has the wrong form", ct)
			}
			pt, err := k.DecryptAs(ct, enc)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("decrypt: %q, %v", pt, err)
			}
			if _, err := other.DecryptAs(ct, enc); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("other key: %v", err)
			}
			bad := append([]byte{}, ct...)
			bad[len(bad)-1] ^= 1
			if _, err := k.DecryptAs(bad, enc); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("tampered: %v", err)
			}
		})
	}
	ct, _ := k.Public().Encrypt(msg)
	if pt, err := k.Decrypt(ct); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("Encrypt/Decrypt: %v", err)
	}
	raw, _ := k.Public().EncryptAs(msg, CiphertextC1C3C2)
	cases := []struct {
		name string
		ct   []byte
		enc  CiphertextEncoding
	}{
		{"raw given to Decrypt", raw, CiphertextASN1},
		{"ASN.1 given as raw", ct, CiphertextC1C3C2},
		{"empty", nil, CiphertextASN1},
		{"garbage", []byte{0x30, 1, 2}, CiphertextASN1},
		{"wrong order", raw, CiphertextC1C2C3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := k.DecryptAs(c.ct, c.enc); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
	if _, err := k.Public().Encrypt(nil); !errors.Is(err, ErrEmptyMessage) {
		t.Fatalf("empty message: %v", err)
	}
}

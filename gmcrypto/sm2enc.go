package gmcrypto

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
)

// CiphertextEncoding selects the wire form of an SM2 ciphertext.
type CiphertextEncoding int

const (
	// CiphertextASN1 is the GM/T 0009 form SEQUENCE { x INTEGER, y INTEGER,
	// hash OCTET STRING (C3), ciphertext OCTET STRING (C2) }. It is the default.
	CiphertextASN1 CiphertextEncoding = iota
	// CiphertextC1C3C2 is the raw GB/T 32918.4-2016 form 0x04 ‖ X ‖ Y ‖ C3 ‖ C2.
	CiphertextC1C3C2
	// CiphertextC1C2C3 is the raw form of the 2010 draft, 0x04 ‖ X ‖ Y ‖ C2 ‖ C3,
	// still produced by some older libraries.
	CiphertextC1C2C3
)

// String names the encoding.
func (e CiphertextEncoding) String() string {
	switch e {
	case CiphertextASN1:
		return "asn1"
	case CiphertextC1C3C2:
		return "c1c3c2"
	case CiphertextC1C2C3:
		return "c1c2c3"
	}
	return fmt.Sprintf("CiphertextEncoding(%d)", int(e))
}

// ErrEmptyMessage means an attempt to SM2-encrypt nothing.
var ErrEmptyMessage = errors.New("SM2 encrypt: empty message")

// Encrypt encrypts msg to p with SM2 public-key encryption (GB/T 32918.4)
// and returns the ASN.1 (GM/T 0009) ciphertext. It suits short secrets such as
// SM4 keys; wrap bulk data with SM4-GCM under a fresh key instead.
func (p *PublicKey) Encrypt(msg []byte) ([]byte, error) {
	return p.EncryptAs(msg, CiphertextASN1)
}

// EncryptAs is Encrypt with a chosen ciphertext encoding.
func (p *PublicKey) EncryptAs(msg []byte, enc CiphertextEncoding) ([]byte, error) {
	if len(msg) == 0 {
		return nil, ErrEmptyMessage
	}
	var opts *sm2.EncrypterOpts
	switch enc {
	case CiphertextASN1:
		opts = sm2.ASN1EncrypterOpts
	case CiphertextC1C3C2:
		opts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2)
	case CiphertextC1C2C3:
		opts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C2C3)
	default:
		return nil, fmt.Errorf("SM2 encrypt: unknown ciphertext encoding %v", enc)
	}
	ct, err := sm2.Encrypt(rand.Reader, p.k, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("SM2 encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts an ASN.1 (GM/T 0009) SM2 ciphertext made by Encrypt.
// Any failure, including a raw ciphertext, returns an error wrapping ErrDecrypt.
func (k *PrivateKey) Decrypt(ct []byte) ([]byte, error) {
	return k.DecryptAs(ct, CiphertextASN1)
}

// DecryptAs decrypts ct, which must be in encoding enc.
func (k *PrivateKey) DecryptAs(ct []byte, enc CiphertextEncoding) ([]byte, error) {
	if len(ct) == 0 {
		return nil, fmt.Errorf("%w: empty SM2 ciphertext", ErrDecrypt)
	}
	// gmsm sniffs ASN.1 by its first byte whatever the options say; hold the
	// caller to the encoding it named so that forms are never confused.
	isASN1 := ct[0] == 0x30
	var opts *sm2.DecrypterOpts
	switch enc {
	case CiphertextASN1:
		if !isASN1 {
			return nil, fmt.Errorf("%w: SM2 ciphertext is not ASN.1", ErrDecrypt)
		}
		opts = sm2.ASN1DecrypterOpts
	case CiphertextC1C3C2, CiphertextC1C2C3:
		if isASN1 {
			return nil, fmt.Errorf("%w: SM2 ciphertext is ASN.1, want raw %v", ErrDecrypt, enc)
		}
		order := sm2.C1C3C2
		if enc == CiphertextC1C2C3 {
			order = sm2.C1C2C3
		}
		opts = sm2.NewPlainDecrypterOpts(order)
	default:
		return nil, fmt.Errorf("SM2 decrypt: unknown ciphertext encoding %v", enc)
	}
	pt, err := k.k.Decrypt(nil, ct, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: SM2 %v ciphertext", ErrDecrypt, enc)
	}
	return pt, nil
}

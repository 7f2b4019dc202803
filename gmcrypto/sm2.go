package gmcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PublicKeySize is the length of an uncompressed SM2 public key (0x04 ‖ X ‖ Y).
const PublicKeySize = 65

// AddressSize is the length of an account address.
const AddressSize = 20

// Errors callers tell apart.
var (
	ErrInvalidPublicKey  = errors.New("invalid SM2 public key")
	ErrInvalidPrivateKey = errors.New("invalid SM2 private key")
	ErrInvalidAddress    = errors.New("invalid address")
)

// PrivateKey is an SM2 private key.
type PrivateKey struct {
	k   *sm2.PrivateKey
	pub *PublicKey
}

// PublicKey is an SM2 public key.
type PublicKey struct {
	k   *ecdsa.PublicKey
	raw []byte // 04 ‖ X ‖ Y, encoded once: addresses hash it on every transaction
}

// newPublicKey wraps an SM2 point, checking it is on the curve.
func newPublicKey(k *ecdsa.PublicKey) (*PublicKey, error) {
	e, err := sm2.PublicKeyToECDH(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return &PublicKey{k: k, raw: e.Bytes()}, nil
}

func newPrivateKey(k *sm2.PrivateKey) (*PrivateKey, error) {
	pub, err := newPublicKey(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
	}
	return &PrivateKey{k: k, pub: pub}, nil
}

// GenerateKey returns a fresh SM2 key from crypto/rand.
func GenerateKey() (*PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate SM2 key: %w", err)
	}
	return newPrivateKey(k)
}

// Public returns the public half of k.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Sign signs msg per GB/T 32918.2: e = SM3(ZA ‖ msg) with the default user
// ID "1234567812345678"; the signature is ASN.1 DER (r, s). An empty msg is
// a valid message.
func (k *PrivateKey) Sign(msg []byte) ([]byte, error) {
	// Compute e here rather than pass DefaultSM2SignerOpts: gmsm refuses an
	// empty msg before it prepends ZA, though SM3(ZA) is a well-defined e.
	e, err := sm2.CalculateSM2Hash(&k.k.PublicKey, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("SM2 sign: %w", err)
	}
	sig, err := sm2.SignASN1(rand.Reader, k.k, e, nil)
	if err != nil {
		return nil, fmt.Errorf("SM2 sign: %w", err)
	}
	return sig, nil
}

// Verify reports whether sig is a valid GB/T 32918 signature of msg
// (default user ID). A key that signs often is verified through a table of
// its multiples (sm2fast.go).
func (p *PublicKey) Verify(msg, sig []byte) bool { return p.verify(msg, sig) }

// Bytes returns the 65-byte uncompressed encoding 0x04 ‖ X ‖ Y.
func (p *PublicKey) Bytes() []byte { return bytes.Clone(p.raw) }

// Equal reports whether p and o are the same key.
func (p *PublicKey) Equal(o *PublicKey) bool {
	return o != nil && bytes.Equal(p.raw, o.raw)
}

// Address is the account address of p: the last 20 bytes of SM3(Bytes()).
func (p *PublicKey) Address() Address {
	h := SM3(p.raw)
	var a Address
	copy(a[:], h[HashSize-AddressSize:])
	return a
}

// ParsePublicKey parses an uncompressed SM2 point and checks it is on the curve.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	// gmsm v0.44.0's NewPublicKey also takes a 33-byte compressed point but
	// returns it with Y = 0, off the curve; accept only 0x04 ‖ X ‖ Y.
	if len(b) != PublicKeySize || b[0] != 4 {
		return nil, fmt.Errorf("%w: want %d-byte uncompressed point 04‖X‖Y, got %d bytes", ErrInvalidPublicKey, PublicKeySize, len(b))
	}
	k, err := sm2.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return &PublicKey{k: k, raw: bytes.Clone(b)}, nil
}

// MarshalPEM encodes p as a PKIX "PUBLIC KEY" PEM block with the SM2 OID.
func (p *PublicKey) MarshalPEM() []byte {
	der, err := smx509.MarshalPKIXPublicKey(p.k)
	if err != nil {
		// An SM2 point we hold is always encodable.
		panic(fmt.Sprintf("marshal SM2 public key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKeyPEM parses a PKIX "PUBLIC KEY" PEM block holding an SM2 key.
func ParsePublicKeyPEM(data []byte) (*PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: no PUBLIC KEY PEM block", ErrInvalidPublicKey)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: trailing data after PEM block", ErrInvalidPublicKey)
	}
	key, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	ek, ok := key.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ek) {
		return nil, fmt.Errorf("%w: not an SM2 key", ErrInvalidPublicKey)
	}
	return newPublicKey(ek)
}

// MarshalPKCS8 encodes k as unencrypted PKCS#8 DER. Keep it in memory only;
// the keystore encrypts it before it touches disk.
func (k *PrivateKey) MarshalPKCS8() ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(k.k)
	if err != nil {
		return nil, fmt.Errorf("marshal SM2 private key: %w", err)
	}
	return der, nil
}

// ParsePKCS8PrivateKey parses an unencrypted PKCS#8 SM2 private key.
func ParsePKCS8PrivateKey(der []byte) (*PrivateKey, error) {
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
	}
	k, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: not an SM2 key", ErrInvalidPrivateKey)
	}
	return newPrivateKey(k)
}

// Address identifies an account: the last 20 bytes of SM3 of the uncompressed public key.
type Address [AddressSize]byte

// String is the lowercase hex form without prefix. It encodes into an
// array on the stack, so the string is its one allocation: a transfer
// names its accounts about twenty times between CheckTx and the block.
func (a Address) String() string {
	var b [2 * AddressSize]byte
	hex.Encode(b[:], a[:])
	return string(b[:])
}

// ParseAddress accepts 40 hex digits, with or without a 0x prefix.
func ParseAddress(s string) (Address, error) {
	var a Address
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != AddressSize {
		return a, fmt.Errorf("%w %q: want %d hex digits", ErrInvalidAddress, s, 2*AddressSize)
	}
	copy(a[:], b)
	return a, nil
}

// AddressFromBytes converts a 20-byte slice.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressSize {
		return a, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidAddress, len(b), AddressSize)
	}
	copy(a[:], b)
	return a, nil
}

// Bytes returns the address as a slice.
func (a Address) Bytes() []byte { return a[:] }

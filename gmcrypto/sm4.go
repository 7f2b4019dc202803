package gmcrypto

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// SM4KeySize is the size of an SM4 key in bytes (128 bits).
const SM4KeySize = sm4.BlockSize

// SM4GCMNonceSize and SM4GCMTagSize describe the layout of SealSM4GCM's
// output: nonce ‖ ciphertext ‖ tag.
const (
	SM4GCMNonceSize = 12
	SM4GCMTagSize   = 16
)

// Errors callers tell apart.
var (
	// ErrInvalidSM4Key means a key that is not SM4KeySize bytes long.
	ErrInvalidSM4Key = errors.New("invalid SM4 key")
	// ErrDecrypt means a ciphertext did not authenticate or decrypt under the
	// given key: wrong key, wrong associated data, or tampered bytes. It is
	// deliberately vague so that it cannot serve as an oracle.
	ErrDecrypt = errors.New("decryption failed: wrong key or tampered ciphertext")
)

// GenerateSM4Key returns a fresh random SM4 key.
func GenerateSM4Key() ([]byte, error) {
	k := make([]byte, SM4KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate SM4 key: %w", err)
	}
	return k, nil
}

// NewSM4 returns the raw SM4 block cipher (GB/T 32907) for modes this package
// does not wrap. Prefer SealSM4GCM/OpenSM4GCM.
func NewSM4(key []byte) (cipher.Block, error) {
	if len(key) != SM4KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSM4Key, len(key), SM4KeySize)
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSM4Key, err)
	}
	return b, nil
}

func newSM4GCM(key []byte) (cipher.AEAD, error) {
	b, err := NewSM4(key)
	if err != nil {
		return nil, err
	}
	// crypto/cipher picks gmsm's accelerated GCM where the CPU has one.
	return cipher.NewGCM(b)
}

// SealSM4GCM encrypts and authenticates plaintext and authenticates aad under
// key with SM4-GCM. The output is a random 12-byte nonce ‖ ciphertext ‖ 16-byte tag.
// A random nonce is safe for up to about 2^32 messages under one key.
func SealSM4GCM(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newSM4GCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, SM4GCMNonceSize, SM4GCMNonceSize+len(plaintext)+SM4GCMTagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("SM4-GCM nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// OpenSM4GCM reverses SealSM4GCM. It returns ErrDecrypt when the key or aad
// differ or when sealed was modified.
func OpenSM4GCM(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newSM4GCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < SM4GCMNonceSize+SM4GCMTagSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than nonce and tag", ErrDecrypt, len(sealed))
	}
	pt, err := aead.Open(nil, sealed[:SM4GCMNonceSize], sealed[SM4GCMNonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

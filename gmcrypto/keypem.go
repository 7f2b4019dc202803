package gmcrypto

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
)

// PEM files for TLS. A TLS server or client reads its key from a plain
// "PRIVATE KEY" (PKCS#8) PEM file, as every TLS stack does; protect it with
// the file mode (0600). Identities that sign transactions keep their keys in
// the encrypted keystore instead.

// MarshalPrivateKeyPEM encodes k as an unencrypted PKCS#8 "PRIVATE KEY" PEM block.
func (k *PrivateKey) MarshalPrivateKeyPEM() ([]byte, error) {
	der, err := k.MarshalPKCS8()
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses exactly one unencrypted PKCS#8 "PRIVATE KEY" PEM
// block holding an SM2 key.
func ParsePrivateKeyPEM(b []byte) (*PrivateKey, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: no PRIVATE KEY (PKCS#8) PEM block", ErrInvalidPrivateKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: trailing data after PEM block", ErrInvalidPrivateKey)
	}
	return ParsePKCS8PrivateKey(block.Bytes)
}

// ParseCertificatesPEM parses one or more "CERTIFICATE" PEM blocks (a CA
// bundle, or a leaf followed by its intermediates) and nothing else.
func ParseCertificatesPEM(b []byte) ([]*Certificate, error) {
	var out []*Certificate
	for len(bytes.TrimSpace(b)) != 0 {
		block, rest := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%w: data after certificate %d is not PEM", ErrInvalidCertificate, len(out))
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %d is %q, want CERTIFICATE", ErrInvalidCertificate, len(out)+1, block.Type)
		}
		c, err := ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
		b = rest
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block", ErrInvalidCertificate)
	}
	return out, nil
}

// LoadCertificatesFile reads a PEM file for ParseCertificatesPEM.
func LoadCertificatesFile(path string) ([]*Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// LoadPrivateKeyFile reads a PEM file for ParsePrivateKeyPEM.
func LoadPrivateKeyFile(path string) (*PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	k, err := ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

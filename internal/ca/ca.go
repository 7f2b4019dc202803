// Package ca keeps an organisation's certificate authority on disk: a root
// certificate (ca.crt.pem) and its SM2 key in the encrypted keystore
// (ca.key.json). It issues identity certificates and saves identities as
// keystore files that carry their certificate, usable with --from.
// `jinlian ca` and the localnet use it. It imports gmcrypto only.
package ca

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// File names inside a CA directory.
const (
	CertFile = "ca.crt.pem"
	KeyFile  = "ca.key.json"
)

// clockSkew backdates certificates so that block times from slightly slow
// clocks fall inside their validity.
const clockSkew = time.Hour

// Authority is an opened CA.
type Authority struct {
	Org     string
	Key     *gmcrypto.PrivateKey
	CertPEM []byte
}

// New creates a root CA for org in memory.
func New(org string, days int, now time.Time) (*Authority, error) {
	key, err := gmcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	certPEM, err := gmcrypto.CreateRootCA(org, key, now.Add(-clockSkew), days)
	if err != nil {
		return nil, err
	}
	return &Authority{Org: org, Key: key, CertPEM: certPEM}, nil
}

// Save writes the CA into dir, its key encrypted under passphrase.
func (a *Authority) Save(dir string, passphrase []byte) error {
	if _, err := os.Stat(filepath.Join(dir, CertFile)); err == nil {
		return fmt.Errorf("%s already holds a CA", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info := gmcrypto.KeyInfo{Name: a.Org + "-ca", Org: a.Org, Certificate: string(a.CertPEM)}
	if err := gmcrypto.SaveKey(filepath.Join(dir, KeyFile), info, a.Key, passphrase); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CertFile), a.CertPEM, 0o644)
}

// Load opens the CA in dir.
func Load(dir string, passphrase []byte) (*Authority, error) {
	info, key, err := gmcrypto.LoadKey(filepath.Join(dir, KeyFile), passphrase)
	if err != nil {
		return nil, fmt.Errorf("CA key in %s: %w", dir, err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, err
	}
	return &Authority{Org: info.Org, Key: key, CertPEM: certPEM}, nil
}

// Issue certifies key as name with role, valid for days from now.
func (a *Authority) Issue(name string, role gmcrypto.Role, key *gmcrypto.PublicKey, days int, now time.Time) (*gmcrypto.Certificate, error) {
	certPEM, err := gmcrypto.IssueCertificate(a.CertPEM, a.Key, name, a.Org, role, key, now.Add(-clockSkew), days)
	if err != nil {
		return nil, err
	}
	return gmcrypto.ParseCertificatePEM(certPEM)
}

// IssueIdentity certifies key and saves it with its certificate as
// outDir/<name>.json, encrypted under passphrase; it returns the path.
func (a *Authority) IssueIdentity(outDir, name string, role gmcrypto.Role, key *gmcrypto.PrivateKey, days int, passphrase []byte, now time.Time) (string, *gmcrypto.Certificate, error) {
	cert, err := a.Issue(name, role, key.Public(), days, now)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", nil, err
	}
	path := filepath.Join(outDir, name+".json")
	info := gmcrypto.KeyInfo{Name: name, Org: a.Org, Certificate: string(cert.PEM())}
	if err := gmcrypto.SaveKey(path, info, key, passphrase); err != nil {
		return "", nil, err
	}
	return path, cert, nil
}

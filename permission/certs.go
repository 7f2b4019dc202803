package permission

import (
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// ErrCertificate is returned for an identity certificate that does not
// authenticate; the message says which check failed.
var ErrCertificate = errs.Register(codespace, 5, "certificate rejected")

// Revocation is one entry of an organisation's revocation list.
type Revocation struct {
	Org    string `json:"org"`
	Serial string `json:"serial"`
	Reason string `json:"reason,omitempty"`
	Height int64  `json:"height"`
}

// NormalizeSerial returns the canonical lower-case hex of a serial number.
func NormalizeSerial(s string) (string, error) {
	n, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(s), "0x"), 16)
	if !ok || n.Sign() <= 0 {
		return "", ErrInvalid.Wrapf("certificate serial %q: want positive hex", s)
	}
	return n.Text(16), nil
}

func revocationKey(org, serial string) []byte { return []byte("revoked/" + org + "/" + serial) }

// Revoke adds a serial to org's revocation list.
func Revoke(kv ledger.KV, r Revocation) error {
	serial, err := NormalizeSerial(r.Serial)
	if err != nil {
		return err
	}
	if _, err := GetOrganisation(kv, r.Org); err != nil {
		return err
	}
	r.Serial = serial
	b, err := ledger.Encode(r)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, revocationKey(r.Org, serial), b)
}

// IsRevoked reports whether org revoked serial.
func IsRevoked(kv Reader, org, serial string) (bool, error) {
	b, err := kv.Get(SystemLedger, revocationKey(org, serial))
	return b != nil, err
}

// Revocations lists org's revocation list in serial order.
func Revocations(kv Reader, org string) ([]Revocation, error) {
	return list[Revocation](kv, "revoked/"+org+"/")
}

// CertVerifier authenticates identity certificates against the root CAs in
// state. Chain signatures are the expensive part, so the time-independent
// verdict on a (leaf, root) pair (the root is a CA, it signed the leaf, the
// leaf may sign) is cached by the SM3 hashes of both certificates: a pure
// function of their bytes. Everything that depends on time or state (the
// validity periods of the leaf and of its root at the block time, the
// signing role, the revocation list in state) is checked on every use, so a
// warm cache and a cold one give the same verdict and the cache never
// changes an outcome. Revocations take effect through state; nothing
// purges the cache.
type CertVerifier struct {
	mu     sync.Mutex
	signed map[[2][gmcrypto.HashSize]byte]struct{}
	roots  map[string]*gmcrypto.Certificate // root PEM → parsed
	max    int
}

// NewCertVerifier returns a verifier caching up to max verified pairs.
func NewCertVerifier(max int) *CertVerifier {
	return &CertVerifier{signed: map[[2][gmcrypto.HashSize]byte]struct{}{}, roots: map[string]*gmcrypto.Certificate{}, max: max}
}

// Len is the number of (leaf, root) pairs whose signature verdict is cached.
func (v *CertVerifier) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.signed)
}

// SignerRoles are the certificate roles that may sign transactions.
var SignerRoles = []gmcrypto.Role{gmcrypto.RoleClient, gmcrypto.RoleAdmin}

// Authenticate checks that cert identifies a transaction signer of org at
// time at: issued by org's root CA held in state, valid at that time and
// issued by a root valid at that time, of a role that may sign
// transactions, and not revoked in kv.
func (v *CertVerifier) Authenticate(kv Reader, org Organisation, cert *gmcrypto.Certificate, at time.Time) error {
	if org.RootCA == "" {
		return ErrCertificate.Wrapf("organisation %s has no root CA registered", org.ID)
	}
	if cert.Org() != org.ID {
		return ErrCertificate.Wrapf("certificate %s names organisation %q, the envelope %q", cert.Subject(), cert.Org(), org.ID)
	}
	root, err := v.root(org.RootCA)
	if err != nil {
		return ErrCertificate.Wrapf("root CA of %s: %v", org.ID, err)
	}
	if err := v.verifySigned(cert, root); err != nil {
		return ErrCertificate.Wrapf("%v", err)
	}
	// Time-dependent: checked on every use, for the root and the leaf.
	if err := root.ValidAt(at); err != nil {
		return ErrCertificate.Wrapf("root CA of %s: %v", org.ID, err)
	}
	if err := cert.ValidAt(at); err != nil {
		return ErrCertificate.Wrapf("%v", err)
	}
	roleOK := false
	for _, r := range SignerRoles {
		roleOK = roleOK || cert.Role() == r
	}
	if !roleOK {
		return ErrCertificate.Wrapf("%v: %s has role %q; only client and admin certificates sign transactions", gmcrypto.ErrCertKeyUsage, cert.Subject(), cert.Role())
	}
	revoked, err := IsRevoked(kv, org.ID, cert.Serial())
	if err != nil {
		return err
	}
	if revoked {
		return ErrCertificate.Wrapf("certificate %s (serial %s) is revoked by %s", cert.Subject(), cert.Serial(), org.ID)
	}
	return nil
}

// verifySigned is cert.VerifySignedBy(root), remembered when it succeeds.
func (v *CertVerifier) verifySigned(cert, root *gmcrypto.Certificate) error {
	key := [2][gmcrypto.HashSize]byte{cert.Hash(), root.Hash()}
	v.mu.Lock()
	_, ok := v.signed[key]
	v.mu.Unlock()
	if ok {
		return nil
	}
	if err := cert.VerifySignedBy(root); err != nil {
		return err
	}
	v.mu.Lock()
	if len(v.signed) >= v.max {
		clear(v.signed)
	}
	v.signed[key] = struct{}{}
	v.mu.Unlock()
	return nil
}

func (v *CertVerifier) root(pem string) (*gmcrypto.Certificate, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, ok := v.roots[pem]; ok {
		return r, nil
	}
	r, err := gmcrypto.ParseCertificatePEM([]byte(pem))
	if err != nil {
		return nil, err
	}
	if !r.IsCA() {
		return nil, errors.New("registered root is not a CA certificate")
	}
	if len(v.roots) > 1024 {
		clear(v.roots)
	}
	v.roots[pem] = r
	return r, nil
}

// ValidateRootCA checks a root CA PEM for registration under org.
func ValidateRootCA(org, pem string) error {
	r, err := gmcrypto.ParseCertificatePEM([]byte(pem))
	if err != nil {
		return ErrInvalid.Wrapf("root CA of %s: %v", org, err)
	}
	if !r.IsCA() {
		return ErrInvalid.Wrapf("root CA of %s is not a CA certificate", org)
	}
	if r.Org() != org {
		return ErrInvalid.Wrapf("root CA of %s names organisation %q", org, r.Org())
	}
	return nil
}

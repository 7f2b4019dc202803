package gmcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Role is what a certificate's holder may do, carried in the subject OU.
type Role string

// Roles jinlian issues certificates for.
const (
	RoleClient    Role = "client"
	RoleAdmin     Role = "admin"
	RoleNode      Role = "node"
	RoleValidator Role = "validator"
)

// Valid reports whether r is one of the roles above.
func (r Role) Valid() bool {
	switch r {
	case RoleClient, RoleAdmin, RoleNode, RoleValidator:
		return true
	}
	return false
}

// Errors of certificate parsing, issuing and verification. Verification
// errors wrap one of these with the subject and the reason.
var (
	ErrInvalidCertificate = errors.New("invalid certificate")
	ErrCertExpired        = errors.New("certificate expired")
	ErrCertNotYetValid    = errors.New("certificate not yet valid")
	ErrCertWrongIssuer    = errors.New("certificate not issued by this CA")
	ErrCertKeyUsage       = errors.New("certificate key usage does not allow this use")
)

// serialBits is the size of the random serial numbers this package issues.
const serialBits = 128

// Certificate is a parsed SM2-with-SM3 X.509 certificate (GM/T 0015 profile).
type Certificate struct {
	c   *smx509.Certificate
	pub *PublicKey
	// hash (SM3 of the DER) and serial are computed once: every
	// transaction that carries the certificate is authenticated with them
	// (permission's CertVerifier: the verified-chain cache, the
	// revocation list), and parsed certificates are shared.
	hash   [HashSize]byte
	serial string
}

// ParseCertificatePEM parses exactly one "CERTIFICATE" PEM block holding an
// X.509 certificate with an SM2 key signed with SM2-with-SM3.
func ParseCertificatePEM(b []byte) (*Certificate, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block", ErrInvalidCertificate)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: trailing data after PEM block", ErrInvalidCertificate)
	}
	return ParseCertificate(block.Bytes)
}

// ParseCertificate parses a DER certificate; see ParseCertificatePEM.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCertificate, err)
	}
	ek, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ek) {
		return nil, fmt.Errorf("%w: subject key is %v, want SM2", ErrInvalidCertificate, c.PublicKeyAlgorithm)
	}
	if c.SignatureAlgorithm != smx509.SM2WithSM3 {
		return nil, fmt.Errorf("%w: signature algorithm %v, want SM2-SM3", ErrInvalidCertificate, c.SignatureAlgorithm)
	}
	pub, err := newPublicKey(ek)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCertificate, err)
	}
	return &Certificate{c: c, pub: pub, hash: SM3(c.Raw), serial: c.SerialNumber.Text(16)}, nil
}

// PublicKey returns the certified SM2 key.
func (c *Certificate) PublicKey() *PublicKey { return c.pub }

// Name is the subject common name.
func (c *Certificate) Name() string { return c.c.Subject.CommonName }

// Org is the first subject organization, "" if none.
func (c *Certificate) Org() string { return first(c.c.Subject.Organization) }

// Role is the first subject organizational unit; it may be a string that is
// not a valid Role when the certificate came from elsewhere (check Valid).
func (c *Certificate) Role() Role { return Role(first(c.c.Subject.OrganizationalUnit)) }

// Subject is the subject distinguished name, e.g. "CN=alice,OU=client,O=bankA".
func (c *Certificate) Subject() string { return c.c.Subject.String() }

// Serial is the serial number in lowercase hex.
func (c *Certificate) Serial() string { return c.serial }

// NotBefore is the start of the validity period.
func (c *Certificate) NotBefore() time.Time { return c.c.NotBefore }

// NotAfter is the end of the validity period.
func (c *Certificate) NotAfter() time.Time { return c.c.NotAfter }

// IsCA reports whether the certificate may issue others.
func (c *Certificate) IsCA() bool {
	return c.c.BasicConstraintsValid && c.c.IsCA && c.c.KeyUsage&smx509.KeyUsageCertSign != 0
}

// Hash is SM3 of the DER encoding: the certificate's identity on the ledger.
func (c *Certificate) Hash() [HashSize]byte { return c.hash }

// DER returns the DER encoding.
func (c *Certificate) DER() []byte { return bytes.Clone(c.c.Raw) }

// PEM returns the PEM encoding.
func (c *Certificate) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.c.Raw})
}

// Equal reports whether c and o have the same DER encoding.
func (c *Certificate) Equal(o *Certificate) bool { return o != nil && bytes.Equal(c.c.Raw, o.c.Raw) }

// VerifyIssuedBy checks that root is a CA valid at `at` and signed c, that c
// is valid at `at`, and that c's key may make digital signatures. Errors wrap
// ErrCertWrongIssuer, ErrCertNotYetValid, ErrCertExpired or ErrCertKeyUsage.
// It is VerifySignedBy followed by ValidAt of root and of c.
func (c *Certificate) VerifyIssuedBy(root *Certificate, at time.Time) error {
	if err := c.VerifySignedBy(root); err != nil {
		return err
	}
	if err := root.ValidAt(at); err != nil {
		return err
	}
	return c.ValidAt(at)
}

// VerifySignedBy checks the time-independent half of VerifyIssuedBy: root is
// a CA, it signed c, and c's key may make digital signatures. Its verdict
// depends on the two certificates' bytes alone, so a caller may cache it;
// the validity periods (ValidAt of both) must still be checked at each use.
// Errors wrap ErrCertWrongIssuer or ErrCertKeyUsage.
func (c *Certificate) VerifySignedBy(root *Certificate) error {
	if root == nil {
		return fmt.Errorf("%w: no CA certificate", ErrCertWrongIssuer)
	}
	if !root.IsCA() {
		return fmt.Errorf("%w: %s is not a CA (needs basicConstraints cA and keyCertSign)", ErrCertWrongIssuer, root.Subject())
	}
	if !bytes.Equal(c.c.RawIssuer, root.c.RawSubject) {
		return fmt.Errorf("%w: %s is issued by %s, not %s", ErrCertWrongIssuer, c.Subject(), c.c.Issuer, root.Subject())
	}
	if err := c.c.CheckSignatureFrom(root.c); err != nil {
		return fmt.Errorf("%w: signature on %s does not verify under %s: %v", ErrCertWrongIssuer, c.Subject(), root.Subject(), err)
	}
	if c.c.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: %s lacks digitalSignature", ErrCertKeyUsage, c.Subject())
	}
	return nil
}

// ValidAt checks that `at` lies within c's validity period. Errors wrap
// ErrCertNotYetValid or ErrCertExpired and name the certificate.
func (c *Certificate) ValidAt(at time.Time) error {
	if at.Before(c.c.NotBefore) {
		return fmt.Errorf("%w: %s is valid from %s, checked at %s", ErrCertNotYetValid, c.Subject(), c.c.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if at.After(c.c.NotAfter) {
		return fmt.Errorf("%w: %s expired at %s, checked at %s", ErrCertExpired, c.Subject(), c.c.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// CreateRootCA makes a self-signed SM2 root CA certificate for org, valid for
// days from notBefore, and returns it as PEM.
func CreateRootCA(org string, key *PrivateKey, notBefore time.Time, days int) (certPEM []byte, err error) {
	if org == "" {
		return nil, errors.New("create root CA: empty organization")
	}
	if key == nil {
		return nil, fmt.Errorf("create root CA for %s: %w: nil key", org, ErrInvalidPrivateKey)
	}
	if days <= 0 {
		return nil, fmt.Errorf("create root CA for %s: validity of %d days", org, days)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create root CA for %s: %w", org, err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " root CA"},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notBefore.UTC().AddDate(0, 0, days),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(key.Public()),
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.k.Public(), key.k)
	if err != nil {
		return nil, fmt.Errorf("create root CA for %s: %w", org, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// IssueCertificate has the CA (caCertPEM, caKey) certify pub for name in org
// with role, valid for days from notBefore. Every leaf may sign
// (digitalSignature); node certificates may also encipher and agree keys and
// serve TLS, and carry name as a DNS or IP subject alternative name when it
// is one. It returns the certificate as PEM. IssueLeaf takes more options.
func IssueCertificate(caCertPEM []byte, caKey *PrivateKey, name, org string, role Role, pub *PublicKey, notBefore time.Time, days int) ([]byte, error) {
	return IssueLeaf(caCertPEM, caKey, LeafRequest{Name: name, Org: org, Role: role, Key: pub, NotBefore: notBefore, Days: days})
}

// LeafRequest describes a leaf certificate for IssueLeaf.
type LeafRequest struct {
	Name, Org string
	Role      Role
	Key       *PublicKey
	NotBefore time.Time
	Days      int
	// Hosts are further DNS names or IP addresses for the subject
	// alternative name of a node certificate (besides Name, when Name is
	// one), e.g. "127.0.0.1" and "localhost" for a TLS server.
	Hosts []string
	// Encryption makes the encryption half of a GM TLS (GM/T 0024, TLCP)
	// certificate pair: key usage keyEncipherment, dataEncipherment and
	// keyAgreement and no digitalSignature, so the key can never sign. Its
	// holder also needs a signing certificate (Encryption false) for another key.
	Encryption bool
}

// IssueLeaf has the CA (caCertPEM, caKey) certify req.Key; see
// IssueCertificate for the profile of each role. It returns the certificate as PEM.
func IssueLeaf(caCertPEM []byte, caKey *PrivateKey, req LeafRequest) ([]byte, error) {
	name, org, role := req.Name, req.Org, req.Role
	fail := func(format string, a ...any) ([]byte, error) {
		return nil, fmt.Errorf("issue certificate for %s (%s, %s): %s", name, org, role, fmt.Sprintf(format, a...))
	}
	switch {
	case name == "" || org == "":
		return fail("empty name or organization")
	case !role.Valid():
		return fail("unknown role %q (want client, admin, node or validator)", role)
	case req.Key == nil || caKey == nil:
		return fail("nil key")
	case req.Days <= 0:
		return fail("validity of %d days", req.Days)
	case len(req.Hosts) > 0 && role != RoleNode:
		return fail("hosts %v: only node certificates name hosts", req.Hosts)
	}
	ca, err := ParseCertificatePEM(caCertPEM)
	if err != nil {
		return fail("CA certificate: %v", err)
	}
	if !ca.IsCA() {
		return fail("%s is not a CA", ca.Subject())
	}
	if !ca.PublicKey().Equal(caKey.Public()) {
		return fail("CA key does not match CA certificate %s", ca.Subject())
	}
	// A leaf must not outlive its CA: verifiers check both periods, and one
	// that cached the pair while the CA was valid must not be the only one
	// to keep accepting the leaf afterwards.
	// Certificates carry whole seconds.
	notAfter := req.NotBefore.UTC().AddDate(0, 0, req.Days)
	if notAfter.Truncate(time.Second).After(ca.NotAfter()) {
		return fail("validity to %s outlives the CA %s, valid to %s: issue for fewer days or renew the CA",
			notAfter.Format(time.RFC3339), ca.Subject(), ca.NotAfter().UTC().Format(time.RFC3339))
	}
	serial, err := randomSerial()
	if err != nil {
		return fail("%v", err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{org},
			OrganizationalUnit: []string{string(role)},
			CommonName:         name,
		},
		NotBefore:             req.NotBefore.UTC(),
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(req.Key),
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	switch role {
	case RoleClient, RoleAdmin:
		tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}
	case RoleNode:
		tmpl.KeyUsage |= smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement
		tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}
		seen := map[string]bool{}
		for _, h := range append([]string{name}, req.Hosts...) {
			if seen[h] {
				continue
			}
			seen[h] = true
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else if isDNSName(h) {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			} else if h != name {
				return fail("host %q is neither a DNS name nor an IP address", h)
			}
		}
	case RoleValidator:
		tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}
	}
	if req.Encryption {
		tmpl.KeyUsage = smx509.KeyUsageKeyEncipherment | smx509.KeyUsageDataEncipherment | smx509.KeyUsageKeyAgreement
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.c, req.Key.k, caKey.k)
	if err != nil {
		return fail("%v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func randomSerial() (*big.Int, error) {
	b := make([]byte, serialBits/8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	// DER adds a leading zero when the top bit is set: 17 octets, within
	// RFC 5280's 20.
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, errors.New("serial number: zero from the random source")
	}
	return n, nil
}

// keyID is the subject key identifier: the leftmost 160 bits of SM3 of the
// uncompressed key, after RFC 7093 method 1 with SM3 in place of SHA-256.
func keyID(p *PublicKey) []byte {
	h := SM3(p.Bytes())
	return h[:20]
}

func isDNSName(s string) bool {
	if len(s) == 0 || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

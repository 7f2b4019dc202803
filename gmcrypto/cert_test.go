package gmcrypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testCA struct {
	key  *PrivateKey
	pem  []byte
	cert *Certificate
}

func newTestCA(t testing.TB, org string, notBefore time.Time, days int) testCA {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := CreateRootCA(org, k, notBefore, days)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificatePEM(p)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{k, p, c}
}

func (ca testCA) issue(t testing.TB, name string, role Role, days int) (*Certificate, *PrivateKey) {
	t.Helper()
	k, _ := GenerateKey()
	p, err := IssueCertificate(ca.pem, ca.key, name, ca.cert.Org(), role, k.Public(), testNow, days)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificatePEM(p)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestCreateRootCA(t *testing.T) {
	ca := newTestCA(t, "bankA", testNow, 3650)
	c := ca.cert
	x := c.c
	switch {
	case !c.IsCA():
		t.Fatal("root is not a CA")
	case c.Org() != "bankA" || c.Name() != "bankA root CA":
		t.Fatalf("subject %s", c.Subject())
	case !x.NotBefore.Equal(testNow) || !x.NotAfter.Equal(testNow.AddDate(0, 0, 3650)):
		t.Fatalf("validity %v – %v", x.NotBefore, x.NotAfter)
	case x.KeyUsage != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign:
		t.Fatalf("key usage %b", x.KeyUsage)
	case x.SignatureAlgorithm != smx509.SM2WithSM3:
		t.Fatalf("signature algorithm %v", x.SignatureAlgorithm)
	case !c.PublicKey().Equal(ca.key.Public()):
		t.Fatal("wrong subject key")
	case x.SerialNumber.BitLen() > 128 || len(c.Serial()) > 32 || c.Serial() != x.SerialNumber.Text(16):
		t.Fatalf("serial %s", c.Serial())
	case c.Hash() != SM3(x.Raw):
		t.Fatal("Hash is not SM3 of the DER")
	}
	if err := x.CheckSignatureFrom(x); err != nil {
		t.Fatalf("self-signature: %v", err)
	}
	other := newTestCA(t, "bankA", testNow, 3650)
	if other.cert.Serial() == c.Serial() {
		t.Fatal("serial repeated")
	}
	for _, bad := range []struct {
		org  string
		key  *PrivateKey
		days int
	}{{"", ca.key, 1}, {"bankA", nil, 1}, {"bankA", ca.key, 0}} {
		if _, err := CreateRootCA(bad.org, bad.key, testNow, bad.days); err == nil {
			t.Fatalf("CreateRootCA(%q, %v, %d) accepted", bad.org, bad.key, bad.days)
		}
	}
}

func TestIssueCertificateRoles(t *testing.T) {
	ca := newTestCA(t, "bankA", testNow.AddDate(-1, 0, 0), 3650)
	cases := []struct {
		name     string
		role     Role
		usage    smx509.KeyUsage
		ext      []smx509.ExtKeyUsage
		dnsNames []string
		ips      int
	}{
		{"alice", RoleClient, smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}, nil, 0},
		{"ops", RoleAdmin, smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}, nil, 0},
		{"node0.banka.example", RoleNode, smx509.KeyUsageDigitalSignature | smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement,
			[]smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}, []string{"node0.banka.example"}, 0},
		{"127.0.0.1", RoleNode, smx509.KeyUsageDigitalSignature | smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement,
			[]smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}, nil, 1},
		{"node 1", RoleNode, smx509.KeyUsageDigitalSignature | smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement,
			[]smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}, nil, 0},
		{"val0", RoleValidator, smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(string(tc.role)+"/"+tc.name, func(t *testing.T) {
			c, k := ca.issue(t, tc.name, tc.role, 365)
			x := c.c
			switch {
			case c.Name() != tc.name || c.Org() != "bankA" || c.Role() != tc.role:
				t.Fatalf("subject %s", c.Subject())
			case c.IsCA():
				t.Fatal("leaf is a CA")
			case !c.PublicKey().Equal(k.Public()):
				t.Fatal("wrong subject key")
			case x.KeyUsage != tc.usage:
				t.Fatalf("key usage %b, want %b", x.KeyUsage, tc.usage)
			case len(x.ExtKeyUsage) != len(tc.ext):
				t.Fatalf("ext key usage %v, want %v", x.ExtKeyUsage, tc.ext)
			case strings.Join(x.DNSNames, ",") != strings.Join(tc.dnsNames, ",") || len(x.IPAddresses) != tc.ips:
				t.Fatalf("SANs %v %v", x.DNSNames, x.IPAddresses)
			case string(x.AuthorityKeyId) != string(ca.cert.c.SubjectKeyId):
				t.Fatal("authority key id does not name the CA")
			case !c.NotBefore().Equal(testNow) || !c.NotAfter().Equal(testNow.AddDate(0, 0, 365)):
				t.Fatalf("validity %v – %v", c.NotBefore(), c.NotAfter())
			}
			for i := range tc.ext {
				if x.ExtKeyUsage[i] != tc.ext[i] {
					t.Fatalf("ext key usage %v, want %v", x.ExtKeyUsage, tc.ext)
				}
			}
			if err := c.VerifyIssuedBy(ca.cert, testNow.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			// The library's own chain builder agrees.
			roots := smx509.NewCertPool()
			roots.AddCert(ca.cert.c)
			if _, err := x.Verify(smx509.VerifyOptions{Roots: roots, CurrentTime: testNow.Add(time.Hour), KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("smx509 Verify: %v", err)
			}
		})
	}
}

func TestIssueCertificateRefuses(t *testing.T) {
	ca := newTestCA(t, "bankA", testNow, 3650)
	leaf, leafKey := ca.issue(t, "alice", RoleClient, 30)
	k, _ := GenerateKey()
	cases := []struct {
		name  string
		caPEM []byte
		caKey *PrivateKey
		role  Role
		days  int
		want  string
	}{
		{"unknown role", ca.pem, ca.key, "auditor", 1, `unknown role "auditor"`},
		{"empty role", ca.pem, ca.key, "", 1, "unknown role"},
		{"CA key does not match", ca.pem, k, RoleClient, 1, "does not match"},
		{"leaf as CA", leaf.PEM(), leafKey, RoleClient, 1, "is not a CA"},
		{"garbage CA", []byte("x"), ca.key, RoleClient, 1, "no CERTIFICATE"},
		{"zero days", ca.pem, ca.key, RoleClient, 0, "validity of 0 days"},
		{"outlives the CA", ca.pem, ca.key, RoleClient, 3651, "outlives the CA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := IssueCertificate(c.caPEM, c.caKey, "bob", "bankA", c.role, k.Public(), testNow, c.days)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestVerifyIssuedBy(t *testing.T) {
	var err error
	ca := newTestCA(t, "bankA", testNow.AddDate(0, 0, -10), 100)
	leaf, _ := ca.issue(t, "alice", RoleClient, 30)                    // testNow .. +30d
	impostor := newTestCA(t, "bankA", testNow.AddDate(0, 0, -10), 100) // same DN, other key
	bankB := newTestCA(t, "bankB", testNow.AddDate(0, 0, -10), 100)
	// A leaf that outlives its CA: IssueLeaf refuses to make one, so it is
	// issued under a longer-lived twin of the CA (same key, same subject).
	twin := testCA{key: ca.key}
	if twin.pem, err = CreateRootCA("bankA", ca.key, testNow.AddDate(0, 0, -10), 1000); err != nil {
		t.Fatal(err)
	}
	if twin.cert, err = ParseCertificatePEM(twin.pem); err != nil {
		t.Fatal(err)
	}
	longLeaf, _ := twin.issue(t, "carol", RoleClient, 365)

	// A leaf the CA signed without digitalSignature (not something IssueCertificate makes).
	k, _ := GenerateKey()
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "enc-only", Organization: []string{"bankA"}},
		NotBefore: testNow, NotAfter: testNow.AddDate(0, 0, 30), KeyUsage: smx509.KeyUsageKeyEncipherment,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.cert.c, k.Public().k, ca.key.k)
	if err != nil {
		t.Fatal(err)
	}
	encOnly, err := ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		cert *Certificate
		root *Certificate
		at   time.Time
		want error
	}{
		{"valid", leaf, ca.cert, testNow.Add(time.Minute), nil},
		{"valid at the first second", leaf, ca.cert, testNow, nil},
		{"not yet valid", leaf, ca.cert, testNow.Add(-time.Second), ErrCertNotYetValid},
		{"expired", leaf, ca.cert, testNow.AddDate(0, 0, 30).Add(time.Second), ErrCertExpired},
		{"root expired", longLeaf, ca.cert, testNow.AddDate(0, 0, 91), ErrCertExpired},
		{"same DN, other key", leaf, impostor.cert, testNow, ErrCertWrongIssuer},
		{"other org", leaf, bankB.cert, testNow, ErrCertWrongIssuer},
		{"issuer is not a CA", leaf, leaf, testNow, ErrCertWrongIssuer},
		{"nil root", leaf, nil, testNow, ErrCertWrongIssuer},
		{"no digitalSignature", encOnly, ca.cert, testNow, ErrCertKeyUsage},
		{"root cannot sign", ca.cert, ca.cert, testNow, ErrCertKeyUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cert.VerifyIssuedBy(c.root, c.at)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseCertificatePEMRejects(t *testing.T) {
	ca := newTestCA(t, "bankA", testNow, 10)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"}, NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	p256 := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no CERTIFICATE"},
		{"public key block", ca.key.Public().MarshalPEM(), "no CERTIFICATE"},
		{"two certificates", append(append([]byte{}, ca.pem...), ca.pem...), "trailing data"},
		{"P-256 certificate", p256, "want SM2"},
		{"corrupt DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.c.Raw[:100]}), "invalid certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCertificatePEM(c.in)
			if !errors.Is(err, ErrInvalidCertificate) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if c, err := ParseCertificatePEM(append(append([]byte{}, ca.pem...), "\n\n"...)); err != nil || !c.Equal(ca.cert) {
		t.Fatalf("trailing whitespace refused: %v", err)
	}
}

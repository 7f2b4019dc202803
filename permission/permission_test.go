package permission

import (
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

func newKV(t testing.TB) *ledger.Store {
	t.Helper()
	s, err := ledger.Open(t.TempDir(), ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.CreateLedger(SystemLedger); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequireRole(t *testing.T) {
	kv := newKV(t)
	k, _ := gmcrypto.GenerateKey()
	addr := k.Public().Address()
	if err := SetOrganisation(kv, Organisation{ID: "bankA"}); err != nil {
		t.Fatal(err)
	}
	if err := SetIdentity(kv, Identity{Address: addr.String(), Org: "bankA", Roles: []string{"member", "issuer", "member"}}); err != nil {
		t.Fatal(err)
	}
	id, ok, _ := GetIdentity(kv, addr)
	if !ok || strings.Join(id.Roles, ",") != "issuer,member" {
		t.Fatalf("roles not sorted and deduplicated: %+v", id)
	}
	stranger, _ := gmcrypto.GenerateKey()
	scoped, _ := gmcrypto.GenerateKey()
	if err := SetIdentity(kv, Identity{Address: scoped.Public().Address().String(), Org: "bankA", Roles: []string{"issuer:payments/CNY", "member:custody"}}); err != nil {
		t.Fatal(err)
	}
	sAddr := scoped.Public().Address()
	cases := []struct {
		name     string
		addr     gmcrypto.Address
		org      string
		role     string
		scope    string
		contains string
	}{
		{"has role", addr, "bankA", "issuer", "", ""},
		{"global role covers any scope", addr, "bankA", "issuer", "payments/CNY", ""},
		{"missing role", addr, "bankA", "admin", "", "lacks role admin"},
		{"other organisation", addr, "bankB", "issuer", "", "organisation bankB"},
		{"unregistered", stranger.Public().Address(), "bankA", "member", "", "not registered"},
		{"asset-scoped grant, that asset", sAddr, "bankA", "issuer", "payments/CNY", ""},
		{"asset-scoped grant, another asset", sAddr, "bankA", "issuer", "payments/USD", "lacks role issuer"},
		{"ledger-scoped grant covers its assets", sAddr, "bankA", "member", "custody/GOLD", ""},
		{"scoped grant is not global", sAddr, "bankA", "issuer", "", "lacks role issuer"},
	}
	for _, c := range cases {
		err := RequireRole(kv, c.addr, c.org, c.role, c.scope)
		if (c.contains == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.contains)) {
			t.Errorf("%s: RequireRole = %v, want %q", c.name, err, c.contains)
		}
	}
	if err := SetIdentity(kv, Identity{Address: addr.String(), Org: "nosuch"}); err == nil {
		t.Error("identity of an unknown organisation accepted")
	}
	if err := SetOrganisation(kv, Organisation{ID: "bad id"}); err == nil {
		t.Error("invalid organisation id accepted")
	}
}

// certFixture registers organisation bankA with a root CA of ten days
// and returns it, the CA's PEM, a client certificate of alice valid for
// two days, its PEM, and a time inside both.
func certFixture(t testing.TB, kv ledger.KV) (org Organisation, root []byte, leaf *gmcrypto.Certificate, leafPEM []byte, now time.Time) {
	t.Helper()
	now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	caKey, _ := gmcrypto.GenerateKey()
	root, err := gmcrypto.CreateRootCA("bankA", caKey, now.Add(-time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	org = Organisation{ID: "bankA", RootCA: string(root)}
	if err := SetOrganisation(kv, org); err != nil {
		t.Fatal(err)
	}
	k, _ := gmcrypto.GenerateKey()
	if leafPEM, err = gmcrypto.IssueCertificate(root, caKey, "alice", "bankA", gmcrypto.RoleClient, k.Public(), now.Add(-time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	if leaf, err = gmcrypto.ParseCertificatePEM(leafPEM); err != nil {
		t.Fatal(err)
	}
	return org, root, leaf, leafPEM, now
}

func TestCertVerifier(t *testing.T) {
	kv := newKV(t)
	org, root, leaf, leafPEM, now := certFixture(t, kv)
	v := NewCertVerifier(2)
	for i := 0; i < 3; i++ { // cold, then cached
		if err := v.Authenticate(kv, org, leaf, now); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	// The cache never turns an expired certificate into a valid one.
	if err := v.Authenticate(kv, org, leaf, now.Add(72*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired certificate from cache: %v", err)
	}
	// Nor a revoked one.
	if err := Revoke(kv, Revocation{Org: "bankA", Serial: "0x" + leaf.Serial()}); err != nil {
		t.Fatal(err)
	}
	if err := v.Authenticate(kv, org, leaf, now); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked certificate accepted: %v", err)
	}
	list, _ := Revocations(kv, "bankA")
	if len(list) != 1 || list[0].Serial != leaf.Serial() {
		t.Fatalf("revocations %+v", list)
	}
	for _, bad := range []string{"", "xyz", "0", "-1"} {
		if _, err := NormalizeSerial(bad); err == nil {
			t.Errorf("serial %q accepted", bad)
		}
	}
	if err := ValidateRootCA("bankB", string(root)); err == nil {
		t.Error("root CA of bankA accepted for bankB")
	}
	if err := ValidateRootCA("bankA", string(leafPEM)); err == nil {
		t.Error("leaf certificate accepted as a root CA")
	}
}

// BenchmarkCertVerifierAuthenticate is what every transaction that carries
// a certificate pays in CheckTx and in its block, once the chain to the
// root is cached: the organisation, validity, role and revocation checks.
// go test ./permission -run '^$' -bench CertVerifierAuthenticate -benchmem
func BenchmarkCertVerifierAuthenticate(b *testing.B) {
	kv := newKV(b)
	org, _, leaf, _, now := certFixture(b, kv)
	v := NewCertVerifier(1024)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Authenticate(kv, org, leaf, now); err != nil {
			b.Fatal(err)
		}
	}
}

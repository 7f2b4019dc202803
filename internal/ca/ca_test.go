package ca

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestAuthorityLifecycle(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	a, err := New("bankA", 30, now)
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("pw")
	if err := a.Save(dir, pass); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(dir, pass); err == nil || !strings.Contains(err.Error(), "already holds a CA") {
		t.Fatalf("second Save: %v", err)
	}
	if _, err := Load(dir, []byte("wrong")); !errors.Is(err, gmcrypto.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	b, err := Load(dir, pass)
	if err != nil || b.Org != "bankA" {
		t.Fatalf("Load: %+v %v", b, err)
	}
	key, _ := gmcrypto.GenerateKey()
	path, cert, err := b.IssueIdentity(t.TempDir(), "alice", gmcrypto.RoleClient, key, 10, pass, now)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := gmcrypto.ParseCertificatePEM(a.CertPEM)
	if err := cert.VerifyIssuedBy(root, now); err != nil {
		t.Fatalf("issued certificate does not chain to the root: %v", err)
	}
	if cert.Org() != "bankA" || cert.Name() != "alice" || cert.Role() != gmcrypto.RoleClient {
		t.Fatalf("subject %s", cert.Subject())
	}
	info, k2, err := gmcrypto.LoadKey(path, pass)
	if err != nil || !k2.Public().Equal(key.Public()) || info.Certificate == "" {
		t.Fatalf("identity file: %+v %v", info, err)
	}
	// Backdated by the clock-skew allowance, valid for the days asked.
	if !cert.NotBefore().Equal(now.Add(-clockSkew)) || cert.NotAfter().Before(now.Add(9*24*time.Hour)) {
		t.Fatalf("validity %s .. %s", cert.NotBefore(), cert.NotAfter())
	}
}

package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

type testCA struct {
	org  string
	key  *gmcrypto.PrivateKey
	cert []byte
}

func newTestCA(t testing.TB, org string) testCA {
	k := mustKey(t)
	c, err := gmcrypto.CreateRootCA(org, k, genesisTime.Add(-24*time.Hour), 3650)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{org: org, key: k, cert: c}
}

func (ca testCA) issue(t testing.TB, name string, role gmcrypto.Role, key *gmcrypto.PrivateKey, notBefore time.Time, days int) []byte {
	c, err := gmcrypto.IssueCertificate(ca.cert, ca.key, name, ca.org, role, key.Public(), notBefore, days)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCertificateIdentities pins CheckTx's certificate checks: chain to the
// organisation's root CA in state, validity at block time, signing role,
// revocation list.
func TestCertificateIdentities(t *testing.T) {
	h := newCertHarness(t)
	a, store, caA, caB, admin, alice, bob := h.app, h.store, h.caA, h.caB, h.admin, h.alice, h.bob
	valid := h.aliceCert
	pay := transfer("CNY", bob, 1)
	signed := func(key *gmcrypto.PrivateKey, org string, cert []byte, ledgerName string, m *txpb.Message) []byte {
		raw, _, err := BuildTx(Signer{Key: key, MSPID: org, CertPEM: cert}, testChain, ledgerName, h.now, m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	check := func(raw []byte) *abci.ResponseCheckTx {
		r, err := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := check(signed(alice, "bankA", valid, "payments", pay)); r.Code != 0 {
		t.Fatalf("valid certificate rejected: %s", r.Log)
	}
	otherCA := newTestCA(t, "bankA") // same org name, different key: not the CA in state
	cases := []struct {
		name     string
		raw      []byte
		contains string
	}{
		{"expired", signed(alice, "bankA", caA.issue(t, "alice", gmcrypto.RoleClient, alice, genesisTime.Add(-48*time.Hour), 1), "payments", pay), "expired"},
		{"not yet valid", signed(alice, "bankA", caA.issue(t, "alice", gmcrypto.RoleClient, alice, genesisTime.Add(48*time.Hour), 10), "payments", pay), "not yet valid"},
		{"issued by another organisation's CA", signed(alice, "bankA", caB.issue(t, "alice", gmcrypto.RoleClient, alice, genesisTime.Add(-time.Hour), 10), "payments", pay), "names organisation \"bankB\""},
		{"issued by a CA not in state", signed(alice, "bankA", otherCA.issue(t, "alice", gmcrypto.RoleClient, alice, genesisTime.Add(-time.Hour), 10), "payments", pay), "certificate rejected"},
		{"wrong key usage (node certificate)", signed(alice, "bankA", caA.issue(t, "alice-node", gmcrypto.RoleNode, alice, genesisTime.Add(-time.Hour), 10), "payments", pay), "only client and admin"},
		{"bare key where a CA is registered", signed(alice, "bankA", nil, "payments", pay), "requires certificate identities"},
		{"certificate of another key", signed(bob, "bankA", valid, "payments", pay), "invalid signature"},
		{"unknown organisation", signed(alice, "bankZ", valid, "payments", pay), "unknown organisation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := check(c.raw); r.Code == 0 || !strings.Contains(r.Log, c.contains) {
				t.Fatalf("CheckTx = %d %q, want rejection containing %q", r.Code, r.Log, c.contains)
			}
		})
	}

	// Revocation by the organisation's admin takes effect for the next tx.
	serial := mustCert(t, valid).Serial()
	adminCert := caA.issue(t, "admin", gmcrypto.RoleAdmin, admin, genesisTime.Add(-time.Hour), 365)
	revoke := &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: serial, Reason: "key compromise"}}}
	if r := check(signed(alice, "bankA", valid, permission.SystemLedger, revoke)); !strings.Contains(r.Log, "role admin of organisation bankA") {
		t.Fatalf("revocation by a non-admin: %d %q", r.Code, r.Log)
	}
	if r := check(signed(admin, "bankA", adminCert, "payments", revoke)); !strings.Contains(r.Log, "_system channel") {
		t.Fatalf("revocation on a sub-ledger channel: %d %q", r.Code, r.Log)
	}
	res := h.block(signed(admin, "bankA", adminCert, permission.SystemLedger, revoke))
	if res[0].Code != 0 {
		t.Fatalf("revocation failed: %s", res[0].Log)
	}
	r := check(signed(alice, "bankA", valid, "payments", pay))
	if r.Code != permission.ErrCertificate.Code() || !strings.Contains(r.Log, "revoked") {
		t.Fatalf("revoked certificate accepted: %d %q", r.Code, r.Log)
	}
	v, _ := store.View(0)
	list, _ := permission.Revocations(v, "bankA")
	if len(list) != 1 || list[0].Serial != serial || list[0].Reason != "key compromise" {
		t.Fatalf("revocation list %+v", list)
	}
}

func mustCert(t *testing.T, pem []byte) *gmcrypto.Certificate {
	c, err := gmcrypto.ParseCertificatePEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type certHarness struct {
	*harness
	caA, caB          testCA
	admin, alice, bob *gmcrypto.PrivateKey
	aliceCert         []byte
}

// newCertHarness runs a chain whose two organisations have root CAs; alice
// (bankA, client certificate) holds 100 CNY; admin is bankA's admin.
func newCertHarness(t testing.TB) *certHarness {
	h := &certHarness{caA: newTestCA(t, "bankA"), caB: newTestCA(t, "bankB"), admin: mustKey(t), alice: mustKey(t), bob: mustKey(t)}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA", RootCA: string(h.caA.cert)}, {ID: "bankB", RootCA: string(h.caB.cert)}},
		Identities: []permission.Identity{
			{Address: h.admin.Public().Address().String(), Org: "bankA", Roles: []string{"admin"}},
			{Address: h.alice.Public().Address().String(), Org: "bankA", Roles: []string{"member"}},
		},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}},
			Balances: []GenesisBalance{{Asset: "CNY", Account: h.alice.Public().Address().String(), Amount: 1 << 40}}}},
	}
	b, _ := json.Marshal(g)
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a, _ := New(store, Options{})
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b}); err != nil {
		t.Fatal(err)
	}
	h.harness = &harness{t: t, app: a, store: store, now: genesisTime}
	h.block()
	h.aliceCert = h.caA.issue(t, "alice", gmcrypto.RoleClient, h.alice, genesisTime.Add(-time.Hour), 365)
	return h
}

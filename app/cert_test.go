package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
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
		raw, _, err := wire.BuildTx(wire.Signer{Key: key, MSPID: org, CertPEM: cert}, testChain, ledgerName, h.now, m)
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
			{Address: h.bob.Public().Address().String(), Org: "bankB", Roles: []string{"member"}},
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

// TestCertificateCacheWarmEqualsCold plays a bank whose root CA in state
// expires while a leaf it issued is still within its own validity (a CA
// re-issued its root certificate with the same key and subject but a
// shorter life, so the leaf chains to the short root and outlives it), and
// a revocation, with certificates carried and named by hash. A warm node
// (certificate verdicts cached by earlier blocks and by its mempool) and a cold node (a fresh App, as after a restart,
// before every block) must give every transaction the same result and
// every block the same app hash.
func TestCertificateCacheWarmEqualsCold(t *testing.T) {
	keyA, keyB := mustKey(t), mustKey(t)
	rootLong, err := gmcrypto.CreateRootCA("bankA", keyA, genesisTime.Add(-24*time.Hour), 3650)
	if err != nil {
		t.Fatal(err)
	}
	rootShort, err := gmcrypto.CreateRootCA("bankA", keyA, genesisTime.Add(-24*time.Hour), 2) // expires at genesis + 24h
	if err != nil {
		t.Fatal(err)
	}
	caLong := testCA{org: "bankA", key: keyA, cert: rootLong}
	caB := testCA{org: "bankB", key: keyB}
	if caB.cert, err = gmcrypto.CreateRootCA("bankB", keyB, genesisTime.Add(-24*time.Hour), 3650); err != nil {
		t.Fatal(err)
	}
	alice, bob, adminB := mustKey(t), mustKey(t), mustKey(t)
	aliceCert := caLong.issue(t, "alice", gmcrypto.RoleClient, alice, genesisTime.Add(-time.Hour), 365) // outlives rootShort
	bobCert := caB.issue(t, "bob", gmcrypto.RoleClient, bob, genesisTime.Add(-time.Hour), 365)
	adminCert := caB.issue(t, "admin", gmcrypto.RoleAdmin, adminB, genesisTime.Add(-time.Hour), 365)
	addr := func(k *gmcrypto.PrivateKey) string { return k.Public().Address().String() }
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA", RootCA: string(rootShort)}, {ID: "bankB", RootCA: string(caB.cert)}},
		Identities: []permission.Identity{
			{Address: addr(alice), Org: "bankA", Roles: []string{"member"}},
			{Address: addr(bob), Org: "bankB", Roles: []string{"member"}},
			{Address: addr(adminB), Org: "bankB", Roles: []string{"admin"}},
		},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}},
			Balances: []GenesisBalance{{Asset: "CNY", Account: addr(alice), Amount: 100}, {Asset: "CNY", Account: addr(bob), Amount: 100}}}},
	}
	appState, _ := json.Marshal(g)
	sign := func(key *gmcrypto.PrivateKey, org string, cert []byte, ledgerName string, at time.Time, m *txpb.Message) []byte {
		raw, _, err := wire.BuildTx(wire.Signer{Key: key, MSPID: org, CertPEM: cert}, testChain, ledgerName, at, m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	expiry := mustCert(t, rootShort).NotAfter()
	revoke := &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: mustCert(t, bobCert).Serial(), Reason: "key compromise"}}}
	type block struct {
		at   time.Time
		txs  [][]byte
		want []uint32 // result codes, pinned so that both nodes being wrong alike fails too
	}
	var blocks []block
	add := func(at time.Time, want []uint32, txs ...func(time.Time) []byte) {
		b := block{at: at, want: want}
		for _, f := range txs {
			b.txs = append(b.txs, f(at))
		}
		blocks = append(blocks, b)
	}
	alicePays := func(at time.Time) []byte {
		return sign(alice, "bankA", aliceCert, "payments", at, transfer("CNY", bob, 1))
	}
	bobPays := func(at time.Time) []byte {
		return sign(bob, "bankB", bobCert, "payments", at, transfer("CNY", alice, 1))
	}
	// The same signers naming their certificates by hash (ADR 0025), once
	// the block of 10 s has recorded them.
	signNamed := func(key *gmcrypto.PrivateKey, org string, cert []byte, at time.Time, m *txpb.Message) []byte {
		raw, _, err := wire.BuildTx(wire.Signer{Key: key, MSPID: org, IDBytes: wire.NamedCertPEM(key.Public(), mustCert(t, cert).Hash())}, testChain, "payments", at, m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	aliceNames := func(at time.Time) []byte { return signNamed(alice, "bankA", aliceCert, at, transfer("CNY", bob, 1)) }
	bobNames := func(at time.Time) []byte { return signNamed(bob, "bankB", bobCert, at, transfer("CNY", alice, 1)) }
	revokeBob := func(at time.Time) []byte {
		return sign(adminB, "bankB", adminCert, permission.SystemLedger, at, revoke)
	}
	certCode := permission.ErrCertificate.Code()
	add(genesisTime.Add(time.Second), nil)
	add(genesisTime.Add(10*time.Second), []uint32{0, 0}, alicePays, bobPays)
	add(expiry.Add(-10*time.Second), []uint32{0, 0}, alicePays, aliceNames)
	add(expiry.Add(10*time.Second), []uint32{certCode, 0, certCode, 0}, alicePays, bobPays, aliceNames, bobNames) // bankA's root expired
	add(expiry.Add(20*time.Second), []uint32{0, certCode, certCode}, revokeBob, bobPays, bobNames)
	add(expiry.Add(30*time.Second), []uint32{certCode, certCode, certCode}, bobPays, alicePays, bobNames)

	ctx := context.Background()
	warmStore, coldStore := openStore(t), openStore(t)
	warm, cold := initApp(t, warmStore, appState), initApp(t, coldStore, appState)
	for i, b := range blocks {
		height := int64(i + 1)
		// The warm node sees the block's transactions in its mempool first.
		for _, raw := range b.txs {
			before := warm.certs.Len()
			if _, err := warm.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); err != nil {
				t.Fatal(err)
			}
			if warm.certs.Len() < before {
				t.Fatalf("height %d: CheckTx dropped cached certificate verdicts (%d → %d): a node-local side effect of the mempool", height, before, warm.certs.Len())
			}
		}
		if height > 1 {
			// The cold node restarts before every block: no cache survives.
			var err error
			if cold, err = New(coldStore, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		w, c := runBlock(t, warm, height, b.at, b.txs...), runBlock(t, cold, height, b.at, b.txs...)
		for j := range b.txs {
			wr, cr := w.TxResults[j], c.TxResults[j]
			if wr.Code != cr.Code || wr.Log != cr.Log {
				t.Errorf("height %d tx %d: warm node %d %q, cold node %d %q", height, j, wr.Code, wr.Log, cr.Code, cr.Log)
			}
			if b.want != nil && cr.Code != b.want[j] {
				t.Errorf("height %d tx %d: code %d %q, want %d", height, j, cr.Code, cr.Log, b.want[j])
			}
		}
		if !bytes.Equal(w.AppHash, c.AppHash) {
			t.Fatalf("height %d: warm app hash %X, cold %X", height, w.AppHash, c.AppHash)
		}
	}
	if warm.certs.Len() == 0 {
		t.Fatal("the warm node cached nothing: the test did not exercise the cache")
	}
}

func openStore(t testing.TB) *ledger.Store {
	s, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// initApp starts a chain on s from the genesis app state.
func initApp(t testing.TB, s *ledger.Store, appState []byte) *App {
	a, err := New(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: appState}); err != nil {
		t.Fatal(err)
	}
	return a
}

// runBlock finalizes and commits txs as block height at time at.
func runBlock(t testing.TB, a *App, height int64, at time.Time, txs ...[]byte) *abci.ResponseFinalizeBlock {
	ctx := context.Background()
	res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: txs, Height: height, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRefusedTxLeavesNoState plays an outsider holding a valid certificate
// of a bank's CA (and a registered member whose transaction fails): their
// refused transactions must leave no trace in state, no recorded public key,
// and the same app hash as a chain that never saw them.
func TestRefusedTxLeavesNoState(t *testing.T) {
	ca := newTestCA(t, "bankA")
	member, outsider, payee := mustKey(t), mustKey(t), mustKey(t)
	addr := func(k *gmcrypto.PrivateKey) string { return k.Public().Address().String() }
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA", RootCA: string(ca.cert)}},
		Identities: []permission.Identity{
			{Address: addr(member), Org: "bankA", Roles: []string{"member"}},
			{Address: addr(payee), Org: "bankA", Roles: []string{"member"}},
		},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}}}},
	}
	appState, _ := json.Marshal(g)
	at := genesisTime.Add(10 * time.Second)
	sign := func(k *gmcrypto.PrivateKey, name string, m *txpb.Message) []byte {
		raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankA", CertPEM: ca.issue(t, name, gmcrypto.RoleClient, k, genesisTime.Add(-time.Hour), 30)}, testChain, "payments", at, m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	refused := [][]byte{
		sign(outsider, "outsider", transfer("CNY", payee, 1)), // not registered
		sign(member, "member", transfer("CNY", payee, 1)),     // registered, holds nothing
	}
	with, without := initApp(t, openStore(t), appState), initApp(t, openStore(t), appState)
	runBlock(t, with, 1, genesisTime.Add(time.Second))
	runBlock(t, without, 1, genesisTime.Add(time.Second))
	got, want := runBlock(t, with, 2, at, refused...), runBlock(t, without, 2, at)
	for i, r := range got.TxResults {
		if r.Code == 0 {
			t.Fatalf("tx %d accepted", i)
		}
	}
	// The block's results commitment records the refused transactions
	// with their codes (ADR 0013), the spent-id commitment their ids;
	// nothing else may differ.
	v, _ := with.store.View(0)
	w, _ := without.store.View(0)
	if d := stateDiff(t, v, w, wire.TxResultsKey); d != "" {
		t.Fatalf("refused transactions changed the state: %s", d)
	}
	if bytes.Equal(got.AppHash, want.AppHash) {
		t.Fatal("the results commitment does not record the refused transactions")
	}
	for _, k := range []*gmcrypto.PrivateKey{outsider, member} {
		if pub, err := permission.PublicKeyOf(v, addr(k)); err != nil || pub != nil {
			t.Fatalf("public key of %s recorded by a refused transaction (%v)", addr(k), err)
		}
	}
}

// TestIdentityClaims plays a bank admin claiming another bank's customer:
// a registration must carry a certificate from the admin's own CA, whose
// key gives the address; a payment to an address nobody registered is
// refused (a typo strands no money); and governance corrects a claim a
// malicious CA made possible (reassign_identity, remove_identity).
func TestIdentityClaims(t *testing.T) {
	caA, caB := newTestCA(t, "bankA"), newTestCA(t, "bankB")
	adminA, adminB, alice, carol, dave := mustKey(t), mustKey(t), mustKey(t), mustKey(t), mustKey(t)
	addr := func(k *gmcrypto.PrivateKey) string { return k.Public().Address().String() }
	nb := genesisTime.Add(-time.Hour)
	certs := map[*gmcrypto.PrivateKey][]byte{
		adminA: caA.issue(t, "adminA", gmcrypto.RoleAdmin, adminA, nb, 365),
		adminB: caB.issue(t, "adminB", gmcrypto.RoleAdmin, adminB, nb, 365),
		alice:  caA.issue(t, "alice", gmcrypto.RoleClient, alice, nb, 365),
		carol:  caB.issue(t, "carol", gmcrypto.RoleClient, carol, nb, 365), // bankB's customer
	}
	orgOf := map[*gmcrypto.PrivateKey]string{adminA: "bankA", adminB: "bankB", alice: "bankA", carol: "bankB"}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA", RootCA: string(caA.cert)}, {ID: "bankB", RootCA: string(caB.cert)}},
		Identities: []permission.Identity{
			{Address: addr(adminA), Org: "bankA", Roles: []string{"admin", "committee", "issuer"}},
			{Address: addr(adminB), Org: "bankB", Roles: []string{"admin", "committee"}},
			{Address: addr(alice), Org: "bankA", Roles: []string{"member"}},
		},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}},
			Balances: []GenesisBalance{{Asset: "CNY", Account: addr(alice), Amount: 100}}}},
	}
	appState, _ := json.Marshal(g)
	store := openStore(t)
	h := &harness{t: t, app: initApp(t, store, appState), store: store, now: genesisTime}
	h.block()
	sign := func(k *gmcrypto.PrivateKey, ledgerName string, m *txpb.Message) []byte {
		raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: orgOf[k], CertPEM: certs[k]}, testChain, ledgerName, h.now.Add(time.Second), m)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	register := func(admin *gmcrypto.PrivateKey, address []byte, cert []byte) []byte {
		return sign(admin, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{
			Address: address, Certificate: cert, Roles: []string{"member"}}}})
	}
	identity := func(k *gmcrypto.PrivateKey) (permission.Identity, bool) {
		v, _ := store.View(0)
		id, ok, err := permission.GetIdentity(v, k.Public().Address())
		if err != nil {
			t.Fatal(err)
		}
		return id, ok
	}
	refused := []struct {
		name     string
		raw      []byte
		code     uint32
		contains string
	}{
		{"claim without a certificate", register(adminA, carol.Public().Address().Bytes(), nil), permission.ErrCertificate.Code(), "must carry the identity's certificate"},
		{"claim with the other bank's certificate", register(adminA, nil, certs[carol]), permission.ErrCertificate.Code(), `names organisation "bankB"`},
		{"certificate of another address", register(adminB, alice.Public().Address().Bytes(), certs[carol]), permission.ErrInvalid.Code(), "certifies address " + addr(carol)},
		{"pay an unregistered address", sign(alice, "payments", transfer("CNY", carol, 10)), permission.ErrUnknownPayee.Code(), "not a registered identity"},
		{"issue to an unregistered address", sign(adminA, "payments", issue("CNY", carol, 10)), permission.ErrUnknownPayee.Code(), "not a registered identity"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			before := h.root("payments")
			res := h.block(c.raw)
			if res[0].Code != c.code || !strings.Contains(res[0].Log, c.contains) {
				t.Fatalf("result %s/%d %q, want code %d containing %q", res[0].Codespace, res[0].Code, res[0].Log, c.code, c.contains)
			}
			if _, ok := identity(carol); ok {
				t.Fatal("carol registered by a refused transaction")
			}
			if !bytes.Equal(before, h.root("payments")) {
				t.Fatal("a refused transaction changed the payments ledger")
			}
		})
	}

	// The rightful bank registers its customer by certificate (the address
	// comes from it); then she can be paid.
	if res := h.block(register(adminB, nil, certs[carol])); res[0].Code != 0 {
		t.Fatalf("bankB registering its own customer: %s", res[0].Log)
	}
	if id, ok := identity(carol); !ok || id.Org != "bankB" {
		t.Fatalf("carol %+v %v", id, ok)
	}
	if res := h.block(sign(alice, "payments", transfer("CNY", carol, 10))); res[0].Code != 0 {
		t.Fatalf("paying a registered customer: %s", res[0].Log)
	}

	// A malicious CA certifies another bank's customer's public key (it is
	// public: recorded on chain); its admin's claim is accepted, and
	// governance gives the address back.
	rogue := caA.issue(t, "dave", gmcrypto.RoleClient, dave, nb, 30)
	if res := h.block(register(adminA, nil, rogue)); res[0].Code != 0 {
		t.Fatalf("claim with a certificate of the own CA: %s", res[0].Log)
	}
	vote := func(k *gmcrypto.PrivateKey, p *txpb.Propose) permission.Proposal {
		if res := h.block(sign(k, permission.SystemLedger, proposeMsg(p))); res[0].Code != 0 {
			t.Fatal(res[0].Log)
		}
		v, _ := store.View(0)
		ps, _ := permission.Proposals(v)
		last := ps[len(ps)-1]
		if res := h.block(sign(adminB, permission.SystemLedger, voteMsg(last.ID, true))); res[0].Code != 0 {
			t.Fatal(res[0].Log)
		}
		v, _ = store.View(0)
		p2, _ := permission.GetProposal(v, last.ID)
		return p2
	}
	reassign := &txpb.Propose{Action: &txpb.Propose_ReassignIdentity{ReassignIdentity: &txpb.ReassignIdentity{
		Address: dave.Public().Address().Bytes(), Org: "bankB", Roles: []string{"member"}}}}
	if p := vote(adminA, reassign); p.Status != permission.StatusPassed || p.Type != "reassign_identity" {
		t.Fatalf("reassign: %+v", p)
	}
	if id, ok := identity(dave); !ok || id.Org != "bankB" || strings.Join(id.Roles, ",") != "member" {
		t.Fatalf("dave after reassignment %+v %v", id, ok)
	}
	remove := &txpb.Propose{Action: &txpb.Propose_RemoveIdentity{RemoveIdentity: &txpb.RemoveIdentity{Address: dave.Public().Address().Bytes()}}}
	if p := vote(adminA, remove); p.Status != permission.StatusPassed {
		t.Fatalf("remove: %+v", p)
	}
	if _, ok := identity(dave); ok {
		t.Fatal("dave still registered")
	}
	if p := vote(adminA, remove); p.Status != permission.StatusFailed || !strings.Contains(p.Result, "not registered") {
		t.Fatalf("removing an unregistered identity: %+v", p)
	}
}

// stateDiff names the first key whose value differs between a and b, in
// any ledger, skipping the _system key skip and the spent-id commitments
// (a refused transaction spends its id); "" when none.
func stateDiff(t *testing.T, a, b *ledger.View, skip []byte) string {
	t.Helper()
	dump := func(v *ledger.View) []string {
		var out []string
		for _, name := range v.Ledgers() {
			if err := v.Iterate(name, nil, nil, func(k, val []byte) bool {
				if name != permission.SystemLedger || !bytes.Equal(k, skip) && !bytes.HasPrefix(k, spentCommitPrefix) {
					out = append(out, fmt.Sprintf("%s/%x=%x", name, k, val))
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	x, y := dump(a), dump(b)
	for i := range min(len(x), len(y)) {
		if x[i] != y[i] {
			return x[i] + " vs " + y[i]
		}
	}
	if len(x) != len(y) {
		return fmt.Sprintf("%d entries vs %d", len(x), len(y))
	}
	return ""
}

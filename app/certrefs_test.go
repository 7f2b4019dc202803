package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// signedAs builds msg signed by key for org with id_bytes as given (a
// certificate, a key naming one, or anything an attacker crafts).
func (h *harness) signedAs(key *gmcrypto.PrivateKey, org string, idBytes []byte, ledgerName string, msg *txpb.Message) []byte {
	h.t.Helper()
	raw, _, err := wire.BuildTx(wire.Signer{Key: key, MSPID: org, IDBytes: idBytes}, testChain, ledgerName, h.now, msg)
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

func (h *harness) checkTx(raw []byte) *abci.ResponseCheckTx {
	h.t.Helper()
	r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) certRecorded(c *gmcrypto.Certificate) bool {
	h.t.Helper()
	v, err := h.store.View(0)
	if err != nil {
		h.t.Fatal(err)
	}
	hash := c.Hash()
	got, err := permission.RecordedCertificate(v, hash[:])
	if err != nil {
		h.t.Fatal(err)
	}
	return got != nil
}

// TestCertRefs plays signers and attackers against certificates named by
// hash (ADR 0025) on a chain started with them on: a certificate is
// recorded only by an executed transaction that carries it; a name is
// accepted only for a recorded certificate of the envelope's own key that
// still passes every check a carried one does.
func TestCertRefs(t *testing.T) {
	h := newCertHarness(t)
	aliceCert := mustCert(t, h.aliceCert)
	aliceHash := aliceCert.Hash()
	named := wire.NamedCertPEM(h.alice.Public(), aliceHash)
	pay := transfer("CNY", h.bob, 1)
	certCode, decodeCode := permission.ErrCertificate.Code(), wire.ErrTxDecode.Code()

	// Not recorded yet: refused at submission and in a block, naming the hash.
	unrecorded := h.signedAs(h.alice, "bankA", named, "payments", pay)
	if r := h.checkTx(unrecorded); r.Code != certCode || !strings.Contains(r.Log, "has not recorded") || !strings.Contains(r.Log, hashHex(aliceCert)) {
		t.Fatalf("unrecorded name at CheckTx: %d %q", r.Code, r.Log)
	}
	// A refused transaction carrying the whole certificate records nothing.
	tooMuch := h.signedAs(h.alice, "bankA", h.aliceCert, "payments", transfer("CNY", h.bob, 1<<50))
	if res := h.block(tooMuch, unrecorded); res[0].Code == 0 || res[1].Code != certCode {
		t.Fatalf("overdraft %d %q, unrecorded name %d %q", res[0].Code, res[0].Log, res[1].Code, res[1].Log)
	}
	if h.certRecorded(aliceCert) {
		t.Fatal("a refused transaction recorded its certificate")
	}
	// An executed one records it; a name in the same block, after it, is
	// accepted, and so are later ones.
	res := h.block(h.signedAs(h.alice, "bankA", h.aliceCert, "payments", pay), h.signedAs(h.alice, "bankA", named, "payments", pay))
	if res[0].Code != 0 || res[1].Code != 0 {
		t.Fatalf("whole %d %q, then named %d %q", res[0].Code, res[0].Log, res[1].Code, res[1].Log)
	}
	if !h.certRecorded(aliceCert) {
		t.Fatal("an executed transaction did not record its certificate")
	}
	if res := h.block(h.signedAs(h.alice, "bankA", named, "payments", pay)); res[0].Code != 0 {
		t.Fatalf("named after recording: %d %q", res[0].Code, res[0].Log)
	}

	otherCA := newTestCA(t, "bankA")
	foreign := mustCert(t, otherCA.issue(t, "alice", gmcrypto.RoleClient, h.alice, genesisTime.Add(-time.Hour), 30))
	var absent [gmcrypto.HashSize]byte
	absent[0] = 1
	cases := []struct {
		name     string
		raw      []byte
		code     uint32
		contains string
	}{
		{"another key naming alice's certificate", h.signedAs(h.bob, "bankA", wire.NamedCertPEM(h.bob.Public(), aliceHash), "payments", pay), certCode, "whose key is not the envelope's"},
		{"alice's certificate named for another organisation", h.signedAs(h.alice, "bankB", named, "payments", pay), certCode, `names organisation "bankA"`},
		{"a hash nobody recorded", h.signedAs(h.alice, "bankA", wire.NamedCertPEM(h.alice.Public(), absent), "payments", pay), certCode, "has not recorded"},
		{"a certificate of a CA not in state, never recordable", h.signedAs(h.alice, "bankA", wire.NamedCertPEM(h.alice.Public(), foreign.Hash()), "payments", pay), certCode, "has not recorded"},
		{"a second header", h.signedAs(h.alice, "bankA", bytes.Replace(named, []byte("\n\n"), []byte("\nComment: x\n\n"), 1), "payments", pay), decodeCode, "want exactly one, Certificate-SM3"},
		{"upper-case hex", h.signedAs(h.alice, "bankA", bytes.Replace(named, []byte(hashHex(aliceCert)), []byte(strings.ToUpper(hashHex(aliceCert))), 1), "payments", pay), decodeCode, "lowercase hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := h.checkTx(c.raw); r.Code != c.code || !strings.Contains(r.Log, c.contains) {
				t.Fatalf("CheckTx = %d %q, want %d containing %q", r.Code, r.Log, c.code, c.contains)
			}
			if res := h.block(c.raw); res[0].Code != c.code {
				t.Fatalf("block = %d %q, want %d", res[0].Code, res[0].Log, c.code)
			}
		})
	}
	// A certificate of a CA not in state is refused whole, so never recorded.
	if res := h.block(h.signedAs(h.alice, "bankA", foreign.PEM(), "payments", pay)); res[0].Code != certCode || h.certRecorded(foreign) {
		t.Fatalf("foreign certificate: %d %q, recorded %v", res[0].Code, res[0].Log, h.certRecorded(foreign))
	}

	// Revoking the certificate refuses its name as well as the whole.
	adminCert := h.caA.issue(t, "admin", gmcrypto.RoleAdmin, h.admin, genesisTime.Add(-time.Hour), 365)
	revoke := &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: aliceCert.Serial(), Reason: "key compromise"}}}
	if res := h.block(h.signedAs(h.admin, "bankA", adminCert, permission.SystemLedger, revoke)); res[0].Code != 0 {
		t.Fatalf("revocation: %s", res[0].Log)
	}
	for _, id := range [][]byte{named, h.aliceCert} {
		if res := h.block(h.signedAs(h.alice, "bankA", id, "payments", pay)); res[0].Code != certCode || !strings.Contains(res[0].Log, "revoked") {
			t.Fatalf("revoked certificate: %d %q", res[0].Code, res[0].Log)
		}
	}
}

// TestCertRefsOnlyAfterUpgrade: on a chain of an older release (no
// meta/certrefs), a carried certificate records nothing and a key's PEM
// headers mean what they always did, nothing: an organisation with a root
// CA refuses the key as bare, one without accepts it as bare. The
// certificate-references upgrade's migration turns both on.
func TestCertRefsOnlyAfterUpgrade(t *testing.T) {
	h := newCertHarness(t)
	if err := h.store.Delete(permission.SystemLedger, []byte("meta/certrefs")); err != nil {
		t.Fatal(err)
	}
	h.block()
	aliceCert := mustCert(t, h.aliceCert)
	named := wire.NamedCertPEM(h.alice.Public(), aliceCert.Hash())
	pay := transfer("CNY", h.bob, 1)

	if res := h.block(h.signedAs(h.alice, "bankA", h.aliceCert, "payments", pay)); res[0].Code != 0 || h.certRecorded(aliceCert) {
		t.Fatalf("before the upgrade a carried certificate: %d %q, recorded %v", res[0].Code, res[0].Log, h.certRecorded(aliceCert))
	}
	if res := h.block(h.signedAs(h.alice, "bankA", named, "payments", pay)); res[0].Code != permission.ErrCertificate.Code() || !strings.Contains(res[0].Log, `only after upgrade "certificate-references"`) {
		t.Fatalf("before the upgrade a name: %d %q", res[0].Code, res[0].Log)
	}

	// The migration this binary carries for the upgrade.
	migrationsMu.Lock()
	m := migrations[CertRefsUpgrade]
	migrationsMu.Unlock()
	if m == nil {
		t.Fatalf("this binary carries no migration %q", CertRefsUpgrade)
	}
	if err := m(h.store); err != nil {
		t.Fatal(err)
	}
	h.block()
	res := h.block(h.signedAs(h.alice, "bankA", h.aliceCert, "payments", pay), h.signedAs(h.alice, "bankA", named, "payments", pay))
	if res[0].Code != 0 || res[1].Code != 0 || !h.certRecorded(aliceCert) {
		t.Fatalf("after the upgrade: whole %d %q, named %d %q", res[0].Code, res[0].Log, res[1].Code, res[1].Log)
	}
}

// TestCertRefHeadersOfBareKeys: an organisation without a root CA signs
// with bare keys. Before the upgrade a key with a Certificate-SM3 header
// (or any header) is a bare key, as it always was, so a replay of old
// blocks reads them as they were; after it, the header names a
// certificate, and the organisation, having no CA, refuses it.
func TestCertRefHeadersOfBareKeys(t *testing.T) {
	h := newHarness(t)
	if err := h.store.Delete(permission.SystemLedger, []byte("meta/certrefs")); err != nil {
		t.Fatal(err)
	}
	h.block()
	var some [gmcrypto.HashSize]byte
	headed := wire.NamedCertPEM(h.alice.Public(), some)
	pay := transfer("CNY", h.bob, 1)
	if res := h.block(h.signedAs(h.alice, "bankB", headed, "payments", pay)); res[0].Code != 0 {
		t.Fatalf("before the upgrade: %d %q", res[0].Code, res[0].Log)
	}
	if err := permission.EnableCertRefs(h.store); err != nil {
		t.Fatal(err)
	}
	h.block()
	if res := h.block(h.signedAs(h.alice, "bankB", headed, "payments", pay)); res[0].Code != permission.ErrCertificate.Code() || !strings.Contains(res[0].Log, "has not recorded") {
		t.Fatalf("after the upgrade: %d %q", res[0].Code, res[0].Log)
	}
	if res := h.block(h.signedAs(h.alice, "bankB", h.alice.Public().MarshalPEM(), "payments", pay)); res[0].Code != 0 {
		t.Fatalf("a bare key after the upgrade: %d %q", res[0].Code, res[0].Log)
	}
}

func hashHex(c *gmcrypto.Certificate) string {
	h := c.Hash()
	return hex.EncodeToString(h[:])
}

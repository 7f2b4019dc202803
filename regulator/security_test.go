package regulator

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Tests of the regulator's own trust boundaries (security review, finding
// 13): the audit chain, signed requests, the role cache, the audit log
// under a flood of refused requests and the alert stream.

func mustKey(t *testing.T) *gmcrypto.PrivateKey {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// auditFixture writes n audit entries into an index on disk and closes it.
func auditFixture(t *testing.T, key *gmcrypto.PrivateKey, n int) string {
	t.Helper()
	dir := t.TempDir() + "/regulator.badger"
	ix, err := OpenIndexWith(dir, IndexOptions{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := ix.AppendAudit(AuditEntry{At: time.Now(), Who: "auditor", Roles: []string{"auditor"}, Action: "query txs",
			Target: fmt.Sprintf("/v1/txs?account=%d", i), Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editBadger changes the operator store directly, as someone with access
// to the observer's disk would.
func editBadger(t *testing.T, dir string, fn func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(OperatorDir(dir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func auditValue(t *testing.T, txn *badger.Txn, seq uint64) []byte {
	it, err := txn.Get(cat(prefixAudit, u64(seq)))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := it.ValueCopy(nil)
	return v
}

// TestAuditChainDetectsTampering: editing, deleting, reordering or
// re-signing one entry, in Badger or in an export, is caught at its seq.
func TestAuditChainDetectsTampering(t *testing.T) {
	key, forger := mustKey(t), mustKey(t)
	trusted := []*gmcrypto.PublicKey{key.Public()}
	edit := func(v []byte) []byte { return bytes.Replace(v, []byte(`"status":200`), []byte(`"status":404`), 1) }
	badgerCases := []struct {
		name    string
		tamper  func(t *testing.T, txn *badger.Txn) error
		wantSeq uint64
	}{
		{"an edited entry", func(t *testing.T, txn *badger.Txn) error {
			return txn.Set(cat(prefixAudit, u64(4)), edit(auditValue(t, txn, 4)))
		}, 4},
		{"a deleted entry", func(t *testing.T, txn *badger.Txn) error { return txn.Delete(cat(prefixAudit, u64(5))) }, 5},
		{"two entries swapped", func(t *testing.T, txn *badger.Txn) error {
			a, b := auditValue(t, txn, 3), auditValue(t, txn, 4)
			if err := txn.Set(cat(prefixAudit, u64(3)), b); err != nil {
				return err
			}
			return txn.Set(cat(prefixAudit, u64(4)), a)
		}, 3},
	}
	for _, tc := range badgerCases {
		dir := auditFixture(t, key, 8)
		ix, _ := OpenIndexWith(dir, IndexOptions{AuditKey: key})
		log, _ := ix.AuditLog()
		if sum, err := VerifyAudit(log, trusted); err != nil || sum.HeadSeq != 8 {
			t.Fatalf("%s: the untouched chain does not verify: %v", tc.name, err)
		}
		_ = ix.Close()
		editBadger(t, dir, func(txn *badger.Txn) error { return tc.tamper(t, txn) })
		ix, err := OpenIndexWith(dir, IndexOptions{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		log, _ = ix.AuditLog()
		_ = ix.Close()
		var broken *ErrAuditBroken
		if _, err := VerifyAudit(log, trusted); !errors.As(err, &broken) || broken.Seq != tc.wantSeq {
			t.Errorf("badger, %s: %v, want the chain broken at seq %d", tc.name, err, tc.wantSeq)
		}
	}

	// The same on an exported file, plus a forger who rewrites the chain
	// from the edit on with a key of their own.
	dir := auditFixture(t, key, 8)
	ix, _ := OpenIndexWith(dir, IndexOptions{AuditKey: key})
	log, _ := ix.AuditLog()
	_ = ix.Close()
	var file bytes.Buffer
	if err := WriteAuditJSONL(&file, log); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(file.String(), "\n")
	lines = lines[:len(lines)-1]
	fileCases := []struct {
		name    string
		tamper  func(lines []string) []string
		trusted []*gmcrypto.PublicKey
		wantSeq uint64
	}{
		{"an edited line", func(l []string) []string { l[5] = string(edit([]byte(l[5]))); return l }, nil, 6},
		{"a deleted line", func(l []string) []string { return append(l[:2], l[3:]...) }, nil, 3},
		{"two lines swapped", func(l []string) []string { l[6], l[7] = l[7], l[6]; return l }, nil, 7},
		{"a chain re-signed from seq 4 by another key", func(l []string) []string {
			es, _ := ReadAuditJSONL(strings.NewReader(strings.Join(l, "")))
			es[3].Detail = "nothing to see"
			for i := 3; i < len(es); i++ {
				_ = sealAudit(&es[i], es[i-1].Hash, forger)
			}
			var b bytes.Buffer
			_ = WriteAuditJSONL(&b, es)
			return []string{b.String()}
		}, trusted, 4},
	}
	for _, tc := range fileCases {
		tampered := tc.tamper(append([]string(nil), lines...))
		es, err := ReadAuditJSONL(strings.NewReader(strings.Join(tampered, "")))
		if err != nil {
			t.Fatal(err)
		}
		var broken *ErrAuditBroken
		if _, err := VerifyAudit(es, tc.trusted); !errors.As(err, &broken) || broken.Seq != tc.wantSeq {
			t.Errorf("file, %s: %v, want the chain broken at seq %d", tc.name, err, tc.wantSeq)
		}
	}
}

// TestRebuildKeepsAuditLogAndAcks: deleting the index directory (the
// documented rebuild) keeps the signed audit chain and the
// acknowledgements, and the chain goes on verifying.
func TestRebuildKeepsAuditLogAndAcks(t *testing.T) {
	w := newWorkload(7)
	eng := testEngine(t)
	key := mustKey(t)
	dir := t.TempDir() + "/regulator.badger"
	open := func() *Index {
		ix, err := OpenIndexWith(dir, IndexOptions{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.InitGenesis(w.genesis); err != nil {
			t.Fatal(err)
		}
		return ix
	}
	ix := open()
	runWorkload(t, ix, w, eng, 0, len(w.blocks))
	page, _ := ix.Alerts(AlertFilter{}, "", 1)
	if len(page.Items) == 0 {
		t.Fatal("the workload raised no alert")
	}
	acked := page.Items[0].ID
	if _, err := ix.Acknowledge(acked, "tester", "looked at it", time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ix.AppendAudit(AuditEntry{At: time.Now(), Who: "tester", Action: "query txs"}); err != nil {
			t.Fatal(err)
		}
	}
	_ = ix.Close()

	if err := os.RemoveAll(dir); err != nil { // rebuild
		t.Fatal(err)
	}
	ix = open()
	defer ix.Close()
	if last, _ := ix.LastHeight(); last != 0 {
		t.Fatalf("rebuilt index starts at %d", last)
	}
	runWorkload(t, ix, w, eng, 0, len(w.blocks))
	a, err := ix.Alert(acked)
	if err != nil || a.Status != StatusAcknowledged || a.Ack.Note != "looked at it" {
		t.Fatalf("acknowledgement lost in the rebuild: %+v %v", a, err)
	}
	if _, err := ix.AppendAudit(AuditEntry{At: time.Now(), Who: "tester", Action: "after rebuild"}); err != nil {
		t.Fatal(err)
	}
	log, _ := ix.AuditLog()
	sum, err := VerifyAudit(log, []*gmcrypto.PublicKey{key.Public()})
	if err != nil || sum.Entries != 4 {
		t.Fatalf("audit chain after the rebuild: %+v %v", sum, err)
	}
}

// TestAckBoundToItsAlert: an acknowledgement is for the alert it was given
// for; a rebuild under other rules that reuses the id leaves the new alert open.
func TestAckBoundToItsAlert(t *testing.T) {
	ix, _ := OpenIndex("")
	defer ix.Close()
	a := Alert{ID: "7-1", Rule: RuleLarge, Height: 7, Subject: "x", TxIDs: []string{"aa"}}
	b := a
	b.Rule, b.TxIDs = RuleVelocity, []string{"bb"}
	if string(ackKey(&a)) == string(ackKey(&b)) {
		t.Fatal("two different alerts with one id share an acknowledgement")
	}
}

// TestLegacyOperatorDataMigrated: acknowledgements and audit entries that
// an older observer kept inside the index move to the operator store,
// chained and signed, so that a rebuild no longer erases them.
func TestLegacyOperatorDataMigrated(t *testing.T) {
	w := newWorkload(7)
	eng := testEngine(t)
	key := mustKey(t)
	dir := t.TempDir() + "/regulator.badger"
	ix, _ := OpenIndexWith(dir, IndexOptions{AuditKey: key})
	_ = ix.InitGenesis(w.genesis)
	runWorkload(t, ix, w, eng, 0, len(w.blocks))
	page, _ := ix.Alerts(AlertFilter{}, "", 1)
	id := page.Items[0].ID
	legacy := [][2][]byte{
		{cat(prefixAck, id), []byte(`{"by":"old","note":"legacy ack","at":"2026-01-01T00:00:00Z"}`)},
		{cat(prefixAudit, u64(1)), []byte(`{"seq":1,"at":"2026-01-01T00:00:00Z","who":"old","action":"query txs","status":200}`)},
		{cat(prefixAudit, u64(2)), []byte(`{"seq":2,"at":"2026-01-01T00:00:01Z","who":"old","action":"report","status":200}`)},
	}
	if err := ix.db.Update(func(txn *badger.Txn) error {
		for _, kv := range legacy {
			if err := txn.Set(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = ix.Close()
	ix, err := OpenIndexWith(dir, IndexOptions{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	_ = ix.Close()
	_ = os.RemoveAll(dir) // rebuild
	ix, _ = OpenIndexWith(dir, IndexOptions{AuditKey: key})
	defer ix.Close()
	_ = ix.InitGenesis(w.genesis)
	runWorkload(t, ix, w, eng, 0, len(w.blocks))
	if a, err := ix.Alert(id); err != nil || a.Ack == nil || a.Ack.Note != "legacy ack" {
		t.Fatalf("legacy acknowledgement: %+v %v", a, err)
	}
	log, _ := ix.AuditLog()
	if sum, err := VerifyAudit(log, []*gmcrypto.PublicKey{key.Public()}); err != nil || sum.Entries != 2 || log[1].Action != "report" {
		t.Fatalf("legacy audit entries: %+v %v", sum, err)
	}
}

// TestAuditAPIReturnsChain: GET /v1/audit gives the chain fields, and the
// whole log read through the API verifies against the observer's key.
func TestAuditAPIReturnsChain(t *testing.T) {
	fx := newAPIFixture(t, false)
	c := NewClient(fx.svc.URL(), fx.auditor.key)
	for range 3 {
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.Audit(context.Background(), url.Values{"limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := page.Items[0]; e.Hash == "" || e.Prev != AuditGenesis || e.Sig == "" || e.Signer == "" {
		t.Fatalf("audit entry without its chain fields: %+v", e)
	}
	if _, err := VerifyAudit(page.Items, []*gmcrypto.PublicKey{fx.svc.Index().AuditPublicKey()}); err != nil {
		t.Fatal(err)
	}
}

// signedRequest builds a GET signed by key for the host of target.
func signedRequest(t *testing.T, key *gmcrypto.PrivateKey, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := SignRequest(req, key, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// resend is the same request, headers and all, to target with Host host.
func resend(req *http.Request, target, host string) *http.Request {
	r, _ := http.NewRequest(req.Method, target, nil)
	r.Header = req.Header.Clone()
	r.Host = host
	return r
}

// TestSignedRequestNotReplayable: a captured request is refused the second
// time, and at another observer, whatever Host it claims.
func TestSignedRequestNotReplayable(t *testing.T) {
	fx := newAPIFixture(t, false)
	other := fx.another(t)
	target := fx.svc.URL() + "/v1/status"
	req := signedRequest(t, fx.regulator.key, target)
	if code, body := send(t, req); code != http.StatusOK {
		t.Fatalf("first request: %d %s", code, body)
	}
	cases := []struct {
		name, target, host, want string
	}{
		{"the same request again", target, "", "replayed request"},
		{"to another observer, Host unchanged", other.URL() + "/v1/status", fx.svc.Addr(), "not this observer"},
		{"to another observer, Host rewritten", other.URL() + "/v1/status", other.Addr(), "does not verify"},
		{"to this observer under another name", target, "localhost:" + strings.Split(fx.svc.Addr(), ":")[1], "does not verify"},
	}
	for _, tc := range cases {
		host := tc.host
		if host == "" {
			host = fx.svc.Addr()
		}
		code, body := send(t, resend(req, tc.target, host))
		if code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want 401 %q", tc.name, code, body, tc.want)
		}
	}
	// A request signed for a host that is not the observer's is refused
	// even though its signature is good.
	r2 := signedRequest(t, fx.regulator.key, "http://observer.evil.example/v1/status")
	r2.URL, _ = url.Parse(target)
	r2.Host = "observer.evil.example"
	if code, body := send(t, r2); code != http.StatusUnauthorized || !strings.Contains(body, "not this observer") {
		t.Errorf("request signed for another host: %d %s", code, body)
	}
	// Fresh requests keep working.
	if _, err := NewClient(fx.svc.URL(), fx.regulator.key).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNonceCacheBounded: the replay cache never forgets a live nonce; full,
// it refuses new requests, and expired nonces make room.
func TestNonceCacheBounded(t *testing.T) {
	n := nonceCache{seen: map[string]time.Time{}, max: 3}
	now := time.Now()
	for i := range 3 {
		if err := n.use(fmt.Sprint("a/", i), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.use("a/1", now.Add(time.Minute), now); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if err := n.use("a/9", now.Add(time.Minute), now); !errors.Is(err, ErrBusy) {
		t.Fatalf("full cache: %v", err)
	}
	later := now.Add(2 * time.Minute)
	if err := n.use("a/9", later.Add(time.Minute), later); err != nil || len(n.seen) != 1 {
		t.Fatalf("after expiry: %v, %d held", err, len(n.seen))
	}
}

// TestRoleCacheBoundedAndRevocable: a revoked auditor loses access at the
// next indexed block (or after rolesTTL), and a flood of addresses does
// not grow the cache beyond its bound.
func TestRoleCacheBoundedAndRevocable(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx := context.Background()
	c := NewClient(fx.svc.URL(), fx.auditor.key)
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	fx.setRoles(fx.auditor.addr()) // revoked on chain in the next block
	fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 1})
	fx.wait(t)
	if _, err := c.Status(ctx); statusErr(err) != http.StatusForbidden {
		t.Fatalf("revoked auditor after the next block: %v, want 403", err)
	}

	// Without a block: the roles are read again after rolesTTL.
	rc := NewClient(fx.svc.URL(), fx.regulator.key)
	if _, err := rc.Status(ctx); err != nil {
		t.Fatal(err)
	}
	fx.setRoles(fx.regulator.addr(), permission.RoleMember)
	fx.advance(rolesTTL + time.Second)
	if _, err := rc.Status(ctx); statusErr(err) != http.StatusForbidden {
		t.Fatalf("revoked regulator after the TTL: %v, want 403", err)
	}

	for i := range 5 * rolesCacheSize {
		if _, err := fx.svc.auth.rolesOf(ctx, fmt.Sprintf("%040x", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := fx.svc.auth.cache.Len(); n > 2*rolesCacheSize {
		t.Fatalf("role cache holds %d entries, bound %d", n, 2*rolesCacheSize)
	}
}

// TestRefusedFloodDoesNotGrowAuditLog: 10,000 unsigned requests and a
// hundred signed by keys without a role add a bounded number of entries;
// the next interval starts with one entry that counts the rest.
func TestRefusedFloodDoesNotGrowAuditLog(t *testing.T) {
	fx := newAPIFixture(t, false)
	h := fx.svc.Handler()
	before, _ := fx.svc.Index().AuditLog()
	for i := range 10_000 {
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/txs?n=%d", i), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("unsigned request: %d", w.Code)
		}
	}
	for range 100 {
		c := NewClient(fx.svc.URL(), mustKey(t))
		if _, err := c.Alerts(context.Background(), nil); statusErr(err) != http.StatusForbidden {
			t.Fatalf("role-less key: %v", err)
		}
	}
	after, _ := fx.svc.Index().AuditLog()
	if added := len(after) - len(before); added > fx.svc.cfg.AnonymousAudit {
		t.Fatalf("10,100 refused requests added %d audit entries, bound %d", added, fx.svc.cfg.AnonymousAudit)
	}
	// An identity with a role is always logged, flood or not.
	c := NewClient(fx.svc.URL(), fx.auditor.key)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(10_100 - fx.svc.cfg.AnonymousAudit); st.UnloggedRefusals != want {
		t.Fatalf("unlogged refusals %d, want %d", st.UnloggedRefusals, want)
	}
	fx.advance(fx.svc.cfg.AnonymousAuditInterval)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/txs", nil))
	log, _ := fx.svc.Index().AuditLog()
	var summary *AuditEntry
	for i := range log {
		if log[i].Action == "unlogged refusals" {
			summary = &log[i]
		}
	}
	if summary == nil || !strings.Contains(summary.Detail, "10080 more requests") {
		t.Fatalf("no summary of the unlogged requests: %+v", summary)
	}
	if _, err := VerifyAudit(log, []*gmcrypto.PublicKey{fx.svc.Index().AuditPublicKey()}); err != nil {
		t.Fatal(err)
	}
}

// TestStreamClosedWhenRoleRevoked: an auditor following the alert stream
// is cut off at the first block after the chain revoked its role.
func TestStreamClosedWhenRoleRevoked(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := make(chan StreamEvent, 16)
	done := make(chan error, 1)
	go func() {
		done <- NewClient(fx.svc.URL(), fx.auditor.key).Stream(ctx, 0, func(e StreamEvent) error { events <- e; return nil })
	}()
	// While the auditor holds its role, blocks keep the stream open.
	fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 6_000_000})
	select {
	case e := <-events:
		if e.Kind != "alert" {
			t.Fatalf("streamed %+v", e)
		}
	case err := <-done:
		t.Fatalf("stream ended while the role was held: %v", err)
	case <-ctx.Done():
		t.Fatal("no alert streamed")
	}
	fx.setRoles(fx.auditor.addr(), permission.RoleMember)
	fx.chain.add(t, fx.start.Add(time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 1})
	select {
	case err := <-done:
		if statusErr(err) != http.StatusForbidden || !strings.Contains(err.Error(), "no longer holds") {
			t.Fatalf("stream ended with %v, want 403 naming the revoked role", err)
		}
	case <-ctx.Done():
		t.Fatal("the stream of a revoked auditor stayed open")
	}
	log, _ := fx.svc.Index().AuditLog()
	if last := log[len(log)-1]; last.Action != "stream alerts closed" || last.Who != fx.auditor.addr() {
		t.Fatalf("closure not audited: %+v", last)
	}
}

// selfSigned returns a TLS 1.3 server config and a client pool for 127.0.0.1.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "observer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}, pool
}

// TestAPITransport: plain HTTP only on loopback unless allowed explicitly;
// an API on every interface needs its names; over TLS the API answers
// signed requests and refuses plain HTTP.
func TestAPITransport(t *testing.T) {
	fx := newAPIFixture(t, false)
	start := func(mod func(c *Config)) (*Service, error) {
		c := fx.cfg
		mod(&c)
		svc, err := New(c)
		if err != nil {
			return nil, err
		}
		if err := svc.Start(context.Background()); err != nil {
			_ = svc.Stop()
			return nil, err
		}
		t.Cleanup(func() { _ = svc.Stop() })
		return svc, nil
	}
	cases := []struct {
		name string
		mod  func(c *Config)
		want string // "" = starts
	}{
		{"plain HTTP on every interface", func(c *Config) { c.Listen = "0.0.0.0:0" }, "refusing plain HTTP"},
		{"plain HTTP allowed, no names", func(c *Config) { c.Listen, c.PlainHTTP = "0.0.0.0:0", true }, "set regulator.hosts"},
		{"plain HTTP allowed, with names", func(c *Config) { c.Listen, c.PlainHTTP, c.Hosts = "0.0.0.0:0", true, []string{"observer.example"} }, ""},
		{"plain HTTP on loopback", func(c *Config) {}, ""},
	}
	for _, tc := range cases {
		_, err := start(tc.mod)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}

	srvTLS, pool := selfSigned(t)
	svc, err := start(func(c *Config) {
		c.Listen = "127.0.0.1:0"
		c.TLS = func(l net.Listener) net.Listener { return tls.NewListener(l, srvTLS) }
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svc.URL(), "https://") {
		t.Fatalf("URL %s", svc.URL())
	}
	c := NewClient(svc.URL(), fx.auditor.key)
	c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	plain := NewClient("http://"+svc.Addr(), fx.auditor.key)
	if _, err := plain.Status(context.Background()); err == nil {
		t.Fatal("the TLS API answered plain HTTP")
	}
}

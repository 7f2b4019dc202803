package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// fakeRegistry is the chain's registry as the gate sees it.
type fakeRegistry struct {
	ids     map[gmcrypto.Address][2][]string // org, roles
	cas     map[string]string                // root CA DER → organisation
	ledgers map[string][]string
}

func (f *fakeRegistry) Identity(addr gmcrypto.Address) (string, []string, bool, error) {
	id, ok := f.ids[addr]
	if !ok {
		return "", nil, false, nil
	}
	return id[0][0], id[1], true, nil
}

func (f *fakeRegistry) OrgOfRootCA(der []byte) (string, bool, error) {
	org, ok := f.cas[string(der)]
	return org, ok, nil
}

// OrgExists: an organisation is known when it registered a CA, holds an
// identity or is a member of a sub-ledger.
func (f *fakeRegistry) OrgExists(id string) (bool, error) {
	for _, org := range f.cas {
		if org == id {
			return true, nil
		}
	}
	for _, v := range f.ids {
		if v[0][0] == id {
			return true, nil
		}
	}
	for _, m := range f.ledgers {
		if slices.Contains(m, id) {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeRegistry) LedgerMembers(name string) ([]string, bool, error) {
	m, ok := f.ledgers[name]
	return m, ok, nil
}

func certDER(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	return blk.Bytes
}

func bundle(t *testing.T, files ...string) string {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	p := filepath.Join(t.TempDir(), "client_cas.pem")
	if err := os.WriteFile(p, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// issueECDSAClient has the CA of f issue a TLS client certificate whose
// subject claims organisation org, as any CA of the bundle can.
func issueECDSAClient(t *testing.T, f *api.CertFiles, cn, org string) (certFile, keyFile string) {
	t.Helper()
	caCert, err := x509.ParseCertificate(certDER(t, f.CA))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(certDER(t, f.CAKey))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{Organization: []string{org}, OrganizationalUnit: []string{"client"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"_key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// gatedAPI starts the API with mutual TLS and reg in front of a recording
// CometBFT RPC server.
func gatedAPI(t *testing.T, mode string, server *api.CertFiles, clientCAs string, reg api.Registry) (*api.Server, *api.RecordingRPC) {
	t.Helper()
	rec := api.NewRecordingRPC()
	backend := httptest.NewServer(rec.Handler)
	t.Cleanup(backend.Close)
	s, err := api.Start(api.Options{
		Listen: "127.0.0.1:0", TLS: serverTLS(mode, server, clientCAs),
		RPC: "tcp://" + backend.Listener.Addr().String(), Status: fakeStatus{}, Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s, rec
}

func hx(s string) string { return hex.EncodeToString([]byte(s)) }

func rpcBody(method, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":%q,"params":%s}`, method, params)
}

func query(path, data string) string {
	return rpcBody("abci_query", fmt.Sprintf(`{"path":%q,"data":%q}`, path, hx(data)))
}

func balanceOf(ledger string) string {
	return fmt.Sprintf(`{"ledger":%q,"asset":"CNY","account":"x"}`, ledger)
}

type gateCase struct {
	name   string
	client *http.Client
	method string // HTTP method; "" = POST
	target string // path and query; "" = "/"
	ctype  string
	body   string
	// want are the calls (method, and abci_query path) that must reach the
	// node; nil: the request must be refused and nothing reach it.
	want []string
	// wantErr is a substring of the refusal.
	wantErr string
}

func runGateCases(t *testing.T, s *api.Server, rec *api.RecordingRPC, cases []gateCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, target := c.method, c.target
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/"
			}
			req, err := http.NewRequest(method, s.URL()+target, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got []string
			for _, call := range rec.Take() {
				name := call.Method
				if name == "abci_query" {
					name += " " + call.Args[0].(string)
				}
				got = append(got, name)
			}
			if c.want == nil {
				if len(got) > 0 || resp.StatusCode < 400 {
					t.Fatalf("BYPASS: %s %s reached the node as %v (HTTP %s): %s", method, target, got, resp.Status, body)
				}
				if !strings.Contains(strings.ReplaceAll(string(body), `\"`, `"`), c.wantErr) {
					t.Fatalf("refusal %s %s does not say %q", resp.Status, body, c.wantErr)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || !slices.Equal(got, c.want) {
				t.Fatalf("node got %v, want %v (HTTP %s: %s)", got, c.want, resp.Status, body)
			}
		})
	}
}

// TestGateRefusesBypasses plays clients that completed the TLS handshake
// against the read gate, with every request shape that slipped through it
// (review issue 10), next to the honest calls that must still get through.
// The node behind the API is CometBFT's own RPC server over a recording
// route map, so "refused" means no call reached it.
func TestGateRefusesBypasses(t *testing.T) {
	mode := nodecfg.APITLSTLS13
	a := pki(t, mode, "bankA", "alice")
	b := pki(t, mode, "bankB", "bob")
	x := pki(t, mode, "bankX", "stranger") // a CA in the bundle that no organisation registered on chain
	reg := &fakeRegistry{
		cas:     map[string]string{string(certDER(t, a.CA)): "bankA", string(certDER(t, b.CA)): "bankB"},
		ledgers: map[string][]string{"custody": {"bankA"}, "payments": {"bankA", "bankB"}},
	}
	s, rec := gatedAPI(t, mode, a, bundle(t, a.CA, b.CA, x.CA), reg)
	client := func(f *api.CertFiles) *http.Client {
		return httpClient(t, api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
	}
	alice, bob, stranger := client(a), client(b), client(x)
	custodyJSON := url.QueryEscape(`"` + strings.ReplaceAll(balanceOf("custody"), `"`, `\"`) + `"`)
	status := rpcBody("status", "{}")
	cases := []gateCase{
		// (a) an open method in the body, the real method in the URL.
		{name: "unregistered client: POST /block?height=1 with status in the body", client: stranger,
			target: "/block?height=1", body: status, wantErr: "URI form"},
		{name: "unregistered client: POST /tx_search with status in the body", client: stranger,
			target: "/tx_search?query=%22tx.height%3E0%22", body: status, wantErr: "URI form"},
		{name: "unregistered client: POST /abci_query of custody with status in the body", client: stranger,
			target: "/abci_query?path=%22/balance%22&data=0x" + hx(balanceOf("custody")), body: status, wantErr: "URI form"},
		{name: "unregistered client: POST /v1/events with status in the body", client: stranger,
			target: "/v1/events?cursor=1", body: status, wantErr: "URI form"},
		{name: "member: GET /v1/events/ with a trailing slash", client: bob, method: http.MethodGet,
			target: "/v1/events/?cursor=1", wantErr: "URI form"},
		{name: "non-member: POST /abci_query with form-encoded arguments", client: bob, target: "/abci_query",
			ctype: "application/x-www-form-urlencoded", body: "path=%22/balance%22&data=0x" + hx(balanceOf("custody")), wantErr: "JSON-RPC"},
		// (b) parameters parsed otherwise than CometBFT parses them.
		{name: "non-member: GET /abci_query with upper-case 0X data", client: bob, method: http.MethodGet,
			target: "/abci_query?path=%22/balance%22&data=0X" + strings.ToUpper(hx(balanceOf("custody"))), wantErr: "URI form"},
		{name: "non-member: GET /abci_query with a hex-encoded path and quoted data", client: bob, method: http.MethodGet,
			target: "/abci_query?path=0x" + hx("/balance") + "&data=" + custodyJSON, wantErr: "URI form"},
		{name: "non-member: JSON-RPC with a case-variant duplicate Data key", client: bob,
			body: rpcBody("abci_query", fmt.Sprintf(`{"path":"/balance","data":%q,"Data":%q}`, hx(balanceOf("custody")), hx(balanceOf("payments")))), wantErr: `unknown key "Data"`},
		{name: "non-member: JSON-RPC with a case-variant duplicate Path key", client: bob,
			body: rpcBody("abci_query", fmt.Sprintf(`{"path":"/balance","Path":"/nodes","data":%q}`, hx(balanceOf("custody")))), wantErr: `unknown key "Path"`},
		{name: "non-member: JSON-RPC with an exact duplicate data key", client: bob,
			body: rpcBody("abci_query", fmt.Sprintf(`{"path":"/balance","data":%q,"data":%q}`, hx(balanceOf("payments")), hx(balanceOf("custody")))), wantErr: `duplicate key "data"`},
		{name: "non-member: balance request with a case-variant Ledger key", client: bob,
			body: query("/balance", `{"ledger":"payments","Ledger":"custody","asset":"CNY","account":"x"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: balance request with a duplicate ledger key", client: bob,
			body: query("/balance", `{"ledger":"payments","ledger":"custody","asset":"CNY","account":"x"}`), wantErr: `duplicate key "ledger"`},
		{name: "non-member: case-variant duplicate method key", client: bob,
			body: `{"jsonrpc":"2.0","id":1,"method":"status","METHOD":"block","params":{"height":"1"}}`, wantErr: `unknown key "METHOD"`},
		{name: "non-member: positional params", client: bob,
			body: fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"abci_query","params":["/balance",%q,"0",false]}`, hx(balanceOf("custody"))), wantErr: "want a JSON object"},
		{name: "non-member: block hidden in a batch behind status", client: bob,
			body: "[" + status + "," + rpcBody("block", `{"height":"1"}`) + "]", wantErr: "only regulators and auditors"},
		{name: "non-member: balance of a sub-ledger it is not a member of", client: bob,
			body: query("/balance", balanceOf("custody")), wantErr: "may not read sub-ledger custody"},
		{name: "unregistered client: balance of any sub-ledger", client: stranger,
			body: query("/balance", balanceOf("payments")), wantErr: "no organisation has registered on chain"},
		{name: "non-member: custody account on a sub-ledger it is not a member of", client: bob,
			body: query("/custody/account", `{"ledger":"custody","account":"x"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: custody proposals on a sub-ledger it is not a member of", client: bob,
			body: query("/custody/proposals", `{"ledger":"custody","account":"x"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: custody accounts with a case-variant Ledger key", client: bob,
			body: query("/custody/accounts", `{"ledger":"payments","Ledger":"custody"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: custody account with a ledger that is not a string", client: bob,
			body: query("/custody/account", `{"ledger":["custody"],"account":"x"}`), wantErr: "want a string"},
		{name: "non-member: redemption queue of a sub-ledger it is not a member of", client: bob,
			body: query("/redemptions", `{"ledger":"custody","asset":"GOLD"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: redemption queue with a case-variant Ledger key", client: bob,
			body: query("/redemptions", `{"ledger":"payments","Ledger":"custody","asset":"GOLD"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: redemption queue with a duplicate ledger key", client: bob,
			body: query("/redemptions", `{"ledger":"payments","ledger":"custody","asset":"GOLD"}`), wantErr: `duplicate key "ledger"`},
		{name: "non-member: redemption queue with a balance request's account key", client: bob,
			body: query("/redemptions", `{"ledger":"payments","asset":"GOLD","account":"x"}`), wantErr: `unknown key "account"`},
		{name: "non-member: pvp trade through a sub-ledger it is not a member of", client: bob,
			body: query("/pvp/trade", `{"ledger":"custody","trade":"x"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: pvp trades with an unknown key", client: bob,
			body: query("/pvp/trades", `{"ledger":"payments","trade":"x"}`), wantErr: `unknown key "trade"`},
		{name: "non-member: receivable through a sub-ledger it is not a member of", client: bob,
			body: query("/receivable", `{"ledger":"custody","receivable":"x"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: receivables with a case-variant Ledger key", client: bob,
			body: query("/receivables", `{"ledger":"payments","Ledger":"custody"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: receivables with an unknown key", client: bob,
			body: query("/receivables", `{"ledger":"payments","party":"x"}`), wantErr: `unknown key "party"`},
		{name: "non-member: proof of reserves of a sub-ledger it is not a member of", client: bob,
			body: query("/reserves", `{"ledger":"custody","asset":"GOLD","account":"x"}`), wantErr: "may not read sub-ledger custody"},
		{name: "non-member: proof of reserves with a case-variant Ledger key", client: bob,
			body: query("/reserves", `{"ledger":"payments","Ledger":"custody","asset":"GOLD"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: raw key of a sub-ledger it is not a member of", client: bob,
			body: query("/store", `{"ledger":"custody","key":"622f"}`), wantErr: "may not read sub-ledger custody"},
		{name: "member: raw key of the _system ledger (holds, sanctions, proposals)", client: bob,
			body: query("/store", `{"ledger":"_system","key":"76616c2f"}`), wantErr: `sub-ledger "_system"`},
		{name: "non-member: raw key with a case-variant Ledger key", client: bob,
			body: query("/store", `{"ledger":"payments","Ledger":"custody","key":"62"}`), wantErr: `unknown key "Ledger"`},
		{name: "non-member: raw key with a duplicate ledger key", client: bob,
			body: query("/store", `{"ledger":"payments","ledger":"custody","key":"62"}`), wantErr: `duplicate key "ledger"`},
		{name: "unregistered client: a validator's registration", client: stranger,
			body: query("/validator", "ABCD"), wantErr: "no organisation has registered on chain"},
		{name: "unregistered client: a block's results commitment", client: stranger,
			body: query("/txresults", ""), wantErr: "no organisation has registered on chain"},
		// App query paths that were not gated at all.
		{name: "member: /ledgers", client: bob, body: query("/ledgers", ""), wantErr: "only regulators and auditors"},
		{name: "member: /invariants", client: bob, body: query("/invariants", ""), wantErr: "only regulators and auditors"},
		{name: "member: /holds", client: bob, body: query("/holds", ""), wantErr: "only regulators and auditors"},
		{name: "member: /sanctions", client: bob, body: query("/sanctions", ""), wantErr: "only regulators and auditors"},
		{name: "member: /aml_thresholds", client: bob, body: query("/aml_thresholds", ""), wantErr: "only regulators and auditors"},
		{name: "member: /proposals", client: bob, body: query("/proposals", ""), wantErr: "for the committee"},
		{name: "member: unknown query path", client: bob, body: query("/p2p/filter/id/abcd", ""), wantErr: "is not served"},
		{name: "member: unknown method", client: bob, body: rpcBody("net_info", "{}"), wantErr: "is not served"},
		{name: "member: events over /websocket", client: bob, method: http.MethodGet, target: "/websocket", wantErr: "only regulators and auditors"},

		// Honest calls still get through, as the node decodes them.
		{name: "unregistered client: status", client: stranger, body: status, want: []string{"status"}},
		{name: "unregistered client: broadcast_tx_sync", client: stranger, body: rpcBody("broadcast_tx_sync", `{"tx":"aGVsbG8="}`), want: []string{"broadcast_tx_sync"}},
		{name: "member: balance of its sub-ledger", client: bob, body: query("/balance", balanceOf("payments")), want: []string{"abci_query /balance"}},
		{name: "member: balance of its own-only sub-ledger", client: alice, body: query("/balance", balanceOf("custody")), want: []string{"abci_query /balance"}},
		{name: "member: sub-ledger info", client: bob, body: query("/ledger", "payments"), want: []string{"abci_query /ledger"}},
		{name: "member: custody account of its sub-ledger", client: alice,
			body: query("/custody/account", `{"ledger":"custody","account":"x"}`), want: []string{"abci_query /custody/account"}},
		{name: "member: custody accounts of a signer", client: bob,
			body: query("/custody/accounts", `{"ledger":"payments","signer":"x"}`), want: []string{"abci_query /custody/accounts"}},
		{name: "member: pvp trade through its sub-ledger", client: alice,
			body: query("/pvp/trade", `{"ledger":"custody","trade":"x"}`), want: []string{"abci_query /pvp/trade"}},
		{name: "member: pvp trades of a party", client: bob,
			body: query("/pvp/trades", `{"ledger":"payments","party":"x"}`), want: []string{"abci_query /pvp/trades"}},
		{name: "member: receivable of its sub-ledger by invoice", client: alice,
			body: query("/receivable", `{"ledger":"custody","invoice":"x"}`), want: []string{"abci_query /receivable"}},
		{name: "member: receivables of a holder", client: bob,
			body: query("/receivables", `{"ledger":"payments","holder":"x"}`), want: []string{"abci_query /receivables"}},
		{name: "member: proof of reserves of its sub-ledger", client: alice,
			body: query("/reserves", `{"ledger":"custody","asset":"GOLD","account":"x"}`), want: []string{"abci_query /reserves"}},
		{name: "member: redemption queue of its sub-ledger", client: alice,
			body: query("/redemptions", `{"ledger":"custody","asset":"GOLD"}`), want: []string{"abci_query /redemptions"}},
		{name: "member: validators registry", client: bob, body: query("/validators", ""), want: []string{"abci_query /validators"}},
		{name: "member: raw key of its sub-ledger", client: bob,
			body: query("/store", `{"ledger":"payments","key":"622f"}`), want: []string{"abci_query /store"}},
		{name: "member: a validator's registration", client: bob, body: query("/validator", "ABCD"), want: []string{"abci_query /validator"}},
		{name: "member: a block's results commitment", client: bob, body: query("/txresults", ""), want: []string{"abci_query /txresults"}},
		{name: "member: commit of a height", client: bob, body: rpcBody("commit", `{"height":"2"}`), want: []string{"commit"}},
		{name: "member: batch of status and a balance", client: bob,
			body: "[" + status + "," + query("/balance", balanceOf("payments")) + "]", want: []string{"status", "abci_query /balance"}},
	}
	runGateCases(t, s, rec, cases)
}

// TestGateGMTLSRoles: over GM TLS the caller is its registered SM2
// identity; regulators and auditors read everything the API serves, the
// committee reads proposals, and nobody gets what the API does not serve.
func TestGateGMTLSRoles(t *testing.T) {
	mode := nodecfg.APITLSGM
	regu := pki(t, mode, "regulator", "reg")
	b := pki(t, mode, "bankB", "bob")
	x := pki(t, mode, "bankX", "stranger")
	aud := pki(t, mode, "bankC", "auditor")
	addr := func(f *api.CertFiles) gmcrypto.Address { return certAddr(t, f) }
	aliceKey, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	bobAcct, aliceAcct := addr(b).String(), aliceKey.Public().Address().String()
	custodyAcct := strings.Repeat("c7", 20) // no identity: a custody or escrow account
	reg := &fakeRegistry{
		ids: map[gmcrypto.Address][2][]string{
			addr(regu):                  {{"regulator"}, {"auditor", "regulator"}},
			addr(b):                     {{"bankB"}, {"committee", "member"}},
			addr(aud):                   {{"bankC"}, {"auditor:custody"}},
			aliceKey.Public().Address(): {{"bankA"}, {"member"}},
		},
		ledgers: map[string][]string{"custody": {"bankA"}, "payments": {"bankA", "bankB"}},
	}
	s, rec := gatedAPI(t, mode, regu, bundle(t, regu.CA, b.CA, x.CA, aud.CA), reg)
	client := func(f *api.CertFiles) *http.Client {
		return httpClient(t, api.ClientTLS{Mode: mode, CAFile: regu.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
	}
	regulator, bob, stranger, auditor := client(regu), client(b), client(x), client(aud)
	runGateCases(t, s, rec, []gateCase{
		{name: "regulator: block", client: regulator, body: rpcBody("block", `{"height":"1"}`), want: []string{"block"}},
		{name: "regulator: balance of any sub-ledger", client: regulator, body: query("/balance", balanceOf("custody")), want: []string{"abci_query /balance"}},
		{name: "regulator: /invariants", client: regulator, body: query("/invariants", ""), want: []string{"abci_query /invariants"}},
		{name: "regulator: /websocket", client: regulator, method: http.MethodGet, target: "/websocket", want: []string{"websocket"}},
		{name: "regulator: a method the API does not serve", client: regulator, body: rpcBody("dial_peers", `{"peers":["x@1.2.3.4:26656"]}`), wantErr: "is not served"},
		{name: "regulator: the URI form", client: regulator, method: http.MethodGet, target: "/block?height=1", wantErr: "URI form"},
		{name: "committee: /proposals", client: bob, body: query("/proposals", ""), want: []string{"abci_query /proposals"}},
		{name: "committee: /holds", client: bob, body: query("/holds", ""), wantErr: "only regulators and auditors"},
		{name: "committee member: balance of a sub-ledger of another bank", client: bob, body: query("/balance", balanceOf("custody")), wantErr: "may not read sub-ledger custody"},
		{name: "ledger-scoped auditor: balance of its ledger", client: auditor, body: query("/balance", balanceOf("custody")), want: []string{"abci_query /balance"}},
		{name: "ledger-scoped auditor: balance of another ledger", client: auditor, body: query("/balance", balanceOf("payments")), wantErr: "may not read sub-ledger payments"},
		{name: "ledger-scoped auditor: raw blocks", client: auditor, body: rpcBody("block", `{"height":"1"}`), wantErr: "only regulators and auditors"},
		{name: "unregistered identity: /nodes", client: stranger, body: query("/nodes", ""), wantErr: "is not registered on chain"},
		{name: "unregistered identity: /upgrade", client: stranger, body: query("/upgrade", ""), wantErr: "is not registered on chain"},
		{name: "committee member: /upgrade", client: bob, body: query("/upgrade", ""), want: []string{"abci_query /upgrade"}},
		// /certificate (ADR 0025) says whether a certificate hash is recorded:
		// registered identities only, as /pubkey.
		{name: "unregistered identity: /certificate", client: stranger, body: query("/certificate", strings.Repeat("ab", 32)), wantErr: "is not registered on chain"},
		{name: "member: /certificate", client: bob, body: query("/certificate", strings.Repeat("ab", 32)), want: []string{"abci_query /certificate"}},
		{name: "unregistered identity: /checkpoint", client: stranger, body: query("/checkpoint", "1"), wantErr: "is not registered on chain"},
		{name: "committee member: /checkpoint", client: bob, body: query("/checkpoint", "1"), want: []string{"abci_query /checkpoint"}},
		{name: "unregistered identity: status", client: stranger, body: rpcBody("status", "{}"), want: []string{"status"}},

		// /commitment: a member reads its own organisation's accounts only.
		{name: "member: commitment of its own account", client: bob, body: query("/commitment", commitmentOf("payments", bobAcct)), want: []string{"abci_query /commitment"}},
		{name: "member: commitment of another bank's account", client: bob, body: query("/commitment", commitmentOf("payments", aliceAcct)), wantErr: "it is an account of bankA"},
		{name: "member: commitment of a custody account", client: bob, body: query("/commitment", commitmentOf("payments", custodyAcct)), wantErr: "no registered identity"},
		{name: "member: its own account on a sub-ledger it is not a member of", client: bob, body: query("/commitment", commitmentOf("custody", bobAcct)), wantErr: "may not read sub-ledger custody"},
		{name: "member: a malformed account", client: bob, body: query("/commitment", commitmentOf("payments", "x")), wantErr: "account:"},
		{name: "member: no account", client: bob, body: query("/commitment", `{"ledger":"payments","asset":"CNY"}`), wantErr: "no account"},
		{name: "member: own account checked, another read (case-folded key)", client: bob,
			body: query("/commitment", fmt.Sprintf(`{"ledger":"payments","asset":"CNY","account":%q,"Account":%q}`, bobAcct, aliceAcct)), wantErr: `unknown key "Account"`},
		{name: "member: own account checked, another read (duplicate key)", client: bob,
			body: query("/commitment", fmt.Sprintf(`{"ledger":"payments","asset":"CNY","account":%q,"account":%q}`, bobAcct, aliceAcct)), wantErr: `duplicate key "account"`},
		{name: "member: account as a number", client: bob, body: query("/commitment", `{"ledger":"payments","asset":"CNY","account":5}`), wantErr: "want a string"},
		{name: "regulator: commitment of any account", client: regulator, body: query("/commitment", commitmentOf("payments", aliceAcct)), want: []string{"abci_query /commitment"}},
		{name: "regulator: commitment of a custody account", client: regulator, body: query("/commitment", commitmentOf("custody", custodyAcct)), want: []string{"abci_query /commitment"}},
		{name: "ledger-scoped auditor: commitment on its ledger", client: auditor, body: query("/commitment", commitmentOf("custody", aliceAcct)), want: []string{"abci_query /commitment"}},
		{name: "ledger-scoped auditor: commitment on another ledger", client: auditor, body: query("/commitment", commitmentOf("payments", aliceAcct)), wantErr: "may not read sub-ledger payments"},
		{name: "unregistered identity: commitment", client: stranger, body: query("/commitment", commitmentOf("payments", bobAcct)), wantErr: "is not registered on chain"},
	})
}

func commitmentOf(ledger, account string) string {
	return fmt.Sprintf(`{"ledger":%q,"asset":"CNY","account":%q}`, ledger, account)
}

// TestGateTLS13OrgFromIssuingCA: over TLS 1.3 a client is of the
// organisation that registered, on chain, the root CA its certificate
// chains to, not of the O its certificate claims. bankC's CA issuing a
// certificate that says O=bankA does not make its holder bankA.
func TestGateTLS13OrgFromIssuingCA(t *testing.T) {
	mode := nodecfg.APITLSTLS13
	a := pki(t, mode, "bankA", "alice")
	c := pki(t, mode, "bankC", "carol")
	reg := &fakeRegistry{
		cas:     map[string]string{string(certDER(t, a.CA)): "bankA", string(certDER(t, c.CA)): "bankC"},
		ledgers: map[string][]string{"custody": {"bankA"}, "trade": {"bankC"}},
	}
	s, rec := gatedAPI(t, mode, a, bundle(t, a.CA, c.CA), reg)
	forgedCert, forgedKey := issueECDSAClient(t, c, "mallory", "bankA")
	forged := httpClient(t, api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: forgedCert, KeyFile: forgedKey})
	carol := httpClient(t, api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: c.ClientCert, KeyFile: c.ClientKey})
	alice := httpClient(t, api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: a.ClientCert, KeyFile: a.ClientKey})
	runGateCases(t, s, rec, []gateCase{
		{name: "bankC's CA, O=bankA: balance of bankA's sub-ledger", client: forged, body: query("/balance", balanceOf("custody")), wantErr: "issued under the root CA of bankC"},
		{name: "bankC's CA, O=bankA: sub-ledger info of bankA's sub-ledger", client: forged, body: query("/ledger", "custody"), wantErr: "issued under the root CA of bankC"},
		{name: "bankC's CA, O=bankA: balance of bankC's sub-ledger", client: forged, body: query("/balance", balanceOf("trade")), wantErr: "issued under the root CA of bankC"},
		{name: "bankC's own client: balance of bankA's sub-ledger", client: carol, body: query("/balance", balanceOf("custody")), wantErr: "may not read sub-ledger custody"},
		{name: "bankC's own client: balance of bankC's sub-ledger", client: carol, body: query("/balance", balanceOf("trade")), want: []string{"abci_query /balance"}},
		{name: "bankA's own client: balance of bankA's sub-ledger", client: alice, body: query("/balance", balanceOf("custody")), want: []string{"abci_query /balance"}},
	})
}

// certAddr is the SM2 address of f's client certificate.
func certAddr(t *testing.T, f *api.CertFiles) gmcrypto.Address {
	t.Helper()
	c, err := gmcrypto.LoadCertificatesFile(f.ClientCert)
	if err != nil {
		t.Fatal(err)
	}
	return c[0].PublicKey().Address()
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/gorilla/websocket"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

const testChain = "api-test-chain"

// startNode starts one real CometBFT validator running the kvstore example
// on free loopback ports and stops it at cleanup.
func startNode(t *testing.T) *consensus.Node {
	t.Helper()
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	net, err := consensus.WriteNetwork(consensus.NetworkOptions{
		Dir:           t.TempDir(),
		ChainID:       testChain,
		Nodes:         []consensus.NodeSpec{{Moniker: "node0", Power: 10}},
		BasePort:      base,
		TimeoutCommit: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := consensus.StartNode(net.Nodes[0].Home, kvstore.NewInMemoryApplication(), consensus.NodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, n.Client(), 1); err != nil {
		t.Fatal(err)
	}
	return n
}

// pki is one CA's certificates for a mode, written by GenerateCertificates.
func pki(t *testing.T, mode, org, client string) *api.CertFiles {
	t.Helper()
	f, err := api.GenerateCertificates(api.CertOptions{Dir: t.TempDir(), Mode: mode, Org: org, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func serverTLS(mode string, f *api.CertFiles, clientCA string) api.ServerTLS {
	if mode == nodecfg.APITLSNone {
		return api.ServerTLS{}
	}
	return api.ServerTLS{Mode: mode, CertFile: f.Cert, KeyFile: f.Key, EncCertFile: f.EncCert, EncKeyFile: f.EncKey, ClientCAFile: clientCA}
}

func startAPI(t *testing.T, n *consensus.Node, tlsc api.ServerTLS) *api.Server {
	t.Helper()
	return startAPILog(t, n, tlsc, nil)
}

func startAPILog(t *testing.T, n *consensus.Node, tlsc api.ServerTLS, log io.Writer) *api.Server {
	t.Helper()
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", TLS: tlsc, RPC: n.RPCAddr(), Status: n.Client(), Version: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if err := s.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
	return s
}

func httpClient(t *testing.T, c api.ClientTLS) *http.Client {
	t.Helper()
	if c.Mode == nodecfg.APITLSNone {
		return &http.Client{}
	}
	hc, err := api.NewHTTPClient(c)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func getVersion(hc *http.Client, url string) (api.VersionInfo, error) {
	var v api.VersionInfo
	resp, err := hc.Get(url + "/version")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET /version: %s", resp.Status)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// TestAPIForwardsRPC runs CometBFT's own HTTP RPC client through the API in
// every mode, writes and reads a transaction, and checks what was negotiated.
func TestAPIForwardsRPC(t *testing.T) {
	n := startNode(t)
	modes := []struct {
		mode, wantVersion, wantSuite string
	}{
		{nodecfg.APITLSNone, "", ""},
		{nodecfg.APITLSTLS13, "TLS 1.3", "TLS_"},
		{nodecfg.APITLSGM, "GMTLS 1.1", "ECC_SM4_CBC_SM3"},
	}
	for _, m := range modes {
		t.Run(m.mode, func(t *testing.T) {
			var f *api.CertFiles
			if m.mode != nodecfg.APITLSNone {
				f = pki(t, m.mode, "bankA", "alice")
			}
			s := startAPI(t, n, serverTLS(m.mode, f, ""))
			ct := api.ClientTLS{Mode: m.mode}
			if f != nil {
				ct.CAFile = f.CA
			}
			hc := httpClient(t, ct)
			if want := map[bool]string{true: "http://", false: "https://"}[m.mode == nodecfg.APITLSNone]; !strings.HasPrefix(s.URL(), want) {
				t.Fatalf("URL %s", s.URL())
			}
			c, err := rpchttp.NewWithClient(s.URL(), "/websocket", hc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			if err != nil {
				t.Fatalf("status through the API: %v", err)
			}
			if st.NodeInfo.Network != testChain {
				t.Fatalf("chain %q", st.NodeInfo.Network)
			}
			key := "mode-" + m.mode
			res, err := c.BroadcastTxCommit(ctx, []byte(key+"=on"))
			if err != nil || res.TxResult.Code != 0 {
				t.Fatalf("broadcast_tx_commit through the API: %v %+v", err, res)
			}
			q, err := c.ABCIQuery(ctx, "", []byte(key))
			if err != nil || string(q.Response.Value) != "on" {
				t.Fatalf("abci_query through the API: %v %q", err, q.Response.Value)
			}
			// GET /<method>?args, CometBFT's URI form, is forwarded too.
			resp, err := hc.Get(s.URL() + "/block?height=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"height":"1"`) {
				t.Fatalf("GET /block: %s %s", resp.Status, body)
			}

			resp, err = hc.Get(s.URL() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			var health map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || health["status"] != "ok" || health["chain_id"] != testChain {
				t.Fatalf("healthz: %s %v", resp.Status, health)
			}
			v, err := getVersion(hc, s.URL())
			if err != nil {
				t.Fatal(err)
			}
			if v.Version != "test" || v.CometBFT == "" || v.Connection.TLS != m.mode || v.Connection.Version != m.wantVersion ||
				!strings.HasPrefix(v.Connection.CipherSuite, m.wantSuite) || v.Connection.Client != "" {
				t.Fatalf("version: %+v", v)
			}
			t.Logf("%s: %+v", m.mode, v.Connection)
		})
	}
}

// TestMutualTLS: with api.client_ca_file set, only clients holding a
// certificate from that CA get through the handshake.
func TestMutualTLS(t *testing.T) {
	n := startNode(t)
	for _, mode := range []string{nodecfg.APITLSTLS13, nodecfg.APITLSGM} {
		t.Run(mode, func(t *testing.T) {
			a := pki(t, mode, "bankA", "alice")
			b := pki(t, mode, "bankB", "mallory")
			// A CA with bankA's very name but another key: the client
			// sends its certificate, and the server must check the signature.
			impostor := pki(t, mode, "bankA", "mallory")
			var log syncBuffer
			s := startAPILog(t, n, serverTLS(mode, a, a.CA), &log)
			cases := []struct {
				name       string
				client     api.ClientTLS
				wantClient string // "" = rejected
			}{
				{"client without a certificate is rejected", api.ClientTLS{Mode: mode, CAFile: a.CA}, ""},
				{"client with a certificate of another CA is rejected", api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: b.ClientCert, KeyFile: b.ClientKey}, ""},
				{"client with a certificate of an impostor CA of the same name is rejected", api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: impostor.ClientCert, KeyFile: impostor.ClientKey}, ""},
				{"client with a certificate of the client CA gets through", api.ClientTLS{Mode: mode, CAFile: a.CA, CertFile: a.ClientCert, KeyFile: a.ClientKey}, "CN=alice,OU=client,O=bankA"},
				{"client trusting another CA rejects the server", api.ClientTLS{Mode: mode, CAFile: b.CA, CertFile: a.ClientCert, KeyFile: a.ClientKey}, ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					v, err := getVersion(httpClient(t, c.client), s.URL())
					if c.wantClient == "" {
						if err == nil {
							t.Fatalf("got through: %+v", v)
						}
						t.Logf("rejected: %v", err)
						if !waitFor(func() bool { return strings.Contains(log.String(), "handshake") }) {
							t.Fatalf("server logged no handshake failure: %s", log.String())
						}
						t.Logf("server: %s", log.String())
						log.Reset()
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if v.Connection.Client != c.wantClient {
						t.Fatalf("server knows the client as %q", v.Connection.Client)
					}
					rc, err := rpchttp.NewWithClient(s.URL(), "/websocket", httpClient(t, c.client))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := rc.Status(context.Background()); err != nil {
						t.Fatalf("status with a valid client certificate: %v", err)
					}
				})
			}
		})
	}
}

// TestWebsocketThroughAPI subscribes to new blocks over /websocket through
// the API in both TLS modes.
func TestWebsocketThroughAPI(t *testing.T) {
	n := startNode(t)
	for _, mode := range []string{nodecfg.APITLSTLS13, nodecfg.APITLSGM} {
		t.Run(mode, func(t *testing.T) {
			f := pki(t, mode, "bankA", "alice")
			s := startAPI(t, n, serverTLS(mode, f, f.CA))
			hc := httpClient(t, api.ClientTLS{Mode: mode, CAFile: f.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
			tr := hc.Transport.(*http.Transport)
			d := websocket.Dialer{TLSClientConfig: tr.TLSClientConfig, NetDialTLSContext: tr.DialTLSContext, HandshakeTimeout: 10 * time.Second}
			ws, _, err := d.Dial("wss://"+s.Addr().String()+"/websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			sub := `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"query":"tm.event='NewBlock'"}}`
			if err := ws.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
				t.Fatal(err)
			}
			ws.SetReadDeadline(time.Now().Add(20 * time.Second))
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(msg), `"type":"tendermint/event/NewBlock"`) {
					return
				}
			}
		})
	}
}

// TestStartRefusesBadTLS: misconfigurations fail at start and name the key.
func TestStartRefusesBadTLS(t *testing.T) {
	gm := pki(t, nodecfg.APITLSGM, "bankA", "alice")
	ec := pki(t, nodecfg.APITLSTLS13, "bankA", "alice")
	cases := []struct {
		name    string
		tls     api.ServerTLS
		wantKey string
	}{
		{"SM2 certificate for TLS 1.3", api.ServerTLS{Mode: nodecfg.APITLSTLS13, CertFile: gm.Cert, KeyFile: gm.Key}, "api.cert_file"},
		{"gmtls without an encryption certificate", api.ServerTLS{Mode: nodecfg.APITLSGM, CertFile: gm.Cert, KeyFile: gm.Key}, "api.enc_cert_file"},
		{"gmtls with ECDSA certificates", api.ServerTLS{Mode: nodecfg.APITLSGM, CertFile: ec.Cert, KeyFile: ec.Key, EncCertFile: gm.EncCert, EncKeyFile: gm.EncKey}, "api.cert_file"},
		{"gmtls with the keys swapped", api.ServerTLS{Mode: nodecfg.APITLSGM, CertFile: gm.Cert, KeyFile: gm.EncKey, EncCertFile: gm.EncCert, EncKeyFile: gm.Key}, "signing key does not match"},
		{"gmtls with an ECDSA client CA", api.ServerTLS{Mode: nodecfg.APITLSGM, CertFile: gm.Cert, KeyFile: gm.Key, EncCertFile: gm.EncCert, EncKeyFile: gm.EncKey, ClientCAFile: ec.CA}, "api.client_ca_file"},
		{"tls13 with an SM2 client CA", api.ServerTLS{Mode: nodecfg.APITLSTLS13, CertFile: ec.Cert, KeyFile: ec.Key, ClientCAFile: gm.CA}, "api.client_ca_file"},
		{"missing key file", api.ServerTLS{Mode: nodecfg.APITLSGM, CertFile: gm.Cert, KeyFile: filepath.Join(t.TempDir(), "none.pem"), EncCertFile: gm.EncCert, EncKeyFile: gm.EncKey}, "api.key_file"},
		{"client CA without TLS", api.ServerTLS{ClientCAFile: gm.CA}, "api.client_ca_file"},
		{"unknown mode", api.ServerTLS{Mode: "ssl"}, "api.tls"},
	}
	for _, c := range cases {
		_, err := api.Start(api.Options{Listen: "127.0.0.1:0", TLS: c.tls, RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}})
		if err == nil || !strings.Contains(err.Error(), c.wantKey) {
			t.Errorf("%s: error %v does not name %s", c.name, err, c.wantKey)
		}
	}
}

// TestGMTLSCipherOnTheWire dials the API with gmcrypto directly and reads
// the negotiated protocol from the client's side of the connection.
func TestGMTLSCipherOnTheWire(t *testing.T) {
	f := pki(t, nodecfg.APITLSGM, "bankA", "alice")
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", TLS: serverTLS(nodecfg.APITLSGM, f, ""), RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	cas, err := gmcrypto.LoadCertificatesFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := gmcrypto.DialGMTLS(ctx, "tcp", s.Addr().String(), gmcrypto.GMTLSClientConfig{RootCAs: cas})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.State()
	if st.Version != gmcrypto.GMTLSVersion || st.CipherSuite != gmcrypto.GMTLSECCSM4SM3 {
		t.Fatalf("negotiated version 0x%04x suite %s", st.Version, gmcrypto.GMTLSCipherSuiteName(st.CipherSuite))
	}
	if len(st.PeerCertificates) != 2 || st.PeerCertificates[1].Role() != gmcrypto.RoleNode {
		t.Fatalf("server certificates %v", st.PeerCertificates)
	}
	// A plain TLS client cannot talk to a GM TLS server.
	plain, err := httpClient(t, api.ClientTLS{Mode: nodecfg.APITLSTLS13, CAFile: pki(t, nodecfg.APITLSTLS13, "x", "y").CA}).Get(s.URL() + "/version")
	if err == nil {
		plain.Body.Close()
		t.Fatal("a TLS 1.3 client talked to the GM TLS server")
	}
}

// syncBuffer is a log sink the server's goroutines can write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func waitFor(cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

type fakeStatus struct{ err error }

func (f fakeStatus) Status(context.Context) (*ctypes.ResultStatus, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &ctypes.ResultStatus{}, nil
}

// TestNodeDown: the API stays up and says the node is unavailable.
func TestNodeDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://" + dead, Status: fakeStatus{err: errors.New("connection refused")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/healthz", http.StatusServiceUnavailable},
		{http.MethodPost, "/", http.StatusBadGateway},
		{http.MethodGet, "/status", http.StatusBadGateway},
	} {
		req, _ := http.NewRequest(c.method, s.URL()+c.path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"status"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %s, want %d", c.method, c.path, resp.Status, c.want)
		}
	}
}

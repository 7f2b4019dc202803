package gmcrypto

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
)

// tlsPKI is one organisation's CA with a GM TLS server (dual certificates
// for 127.0.0.1 and localhost) and a client, valid around the wall clock
// because the handshake checks validity at time.Now.
type tlsPKI struct {
	ca                testCA
	signCert, encCert *Certificate
	signKey, encKey   *PrivateKey
	clientCert        *Certificate
	clientKey         *PrivateKey
}

func newTLSPKI(t testing.TB, org string) tlsPKI {
	t.Helper()
	from := time.Now().Add(-time.Hour)
	p := tlsPKI{ca: newTestCA(t, org, from, 30)}
	issue := func(req LeafRequest) (*Certificate, *PrivateKey) {
		t.Helper()
		k, _ := GenerateKey()
		req.Org, req.Key, req.NotBefore, req.Days = org, k.Public(), from, 7
		b, err := IssueLeaf(p.ca.pem, p.ca.key, req)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCertificatePEM(b)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	p.signCert, p.signKey = issue(LeafRequest{Name: "api." + org, Role: RoleNode, Hosts: []string{"127.0.0.1", "localhost"}})
	p.encCert, p.encKey = issue(LeafRequest{Name: "api." + org, Role: RoleNode, Hosts: []string{"127.0.0.1", "localhost"}, Encryption: true})
	p.clientCert, p.clientKey = issue(LeafRequest{Name: "alice", Role: RoleClient})
	return p
}

func (p tlsPKI) server(clientCAs ...*Certificate) GMTLSServerConfig {
	return GMTLSServerConfig{SignCert: p.signCert, SignKey: p.signKey, EncCert: p.encCert, EncKey: p.encKey, ClientCAs: clientCAs}
}

type handshakeResult struct {
	state GMTLSState
	err   error
}

// gmtlsRoundTrip serves one connection with srv on 127.0.0.1, dials it with
// cli, sends "ping" and expects it echoed.
func gmtlsRoundTrip(t *testing.T, srv GMTLSServerConfig, cli GMTLSClientConfig) (client GMTLSState, server handshakeResult, err error) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewGMTLSListener(inner, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan handshakeResult, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- handshakeResult{err: err}
			return
		}
		defer c.Close()
		gc := c.(*GMTLSConn)
		if err := gc.Handshake(ctx); err != nil {
			done <- handshakeResult{err: err}
			return
		}
		done <- handshakeResult{state: gc.State()}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(gc, buf); err == nil {
			gc.Write(buf)
		}
	}()
	conn, err := DialGMTLS(ctx, "tcp", l.Addr().String(), cli)
	if err != nil {
		server = <-done
		return GMTLSState{}, server, err
	}
	defer conn.Close()
	// A server that rejects the client's certificate says so after the
	// client has sent its Finished: the first read fails.
	if _, err := conn.Write([]byte("ping")); err != nil {
		return conn.State(), <-done, err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return conn.State(), <-done, err
	}
	if string(buf) != "ping" {
		t.Fatalf("echo %q", buf)
	}
	return conn.State(), <-done, nil
}

func TestGMTLSHandshake(t *testing.T) {
	a, b, impostor := newTLSPKI(t, "bankA"), newTLSPKI(t, "bankB"), newTLSPKI(t, "bankA")
	cases := []struct {
		name          string
		srv           GMTLSServerConfig
		cli           GMTLSClientConfig
		wantErr       string // substring of the client's error; "" = success
		wantServerErr string // substring of the server's error
		wantClient    string // subject CN the server saw, for mutual TLS
	}{
		{name: "server auth only: client trusting the CA connects",
			srv: a.server(), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}}},
		{name: "server auth only: localhost is a name on the certificate",
			srv: a.server(), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, ServerName: "localhost"}},
		{name: "client trusting another CA rejects the server",
			srv: a.server(), cli: GMTLSClientConfig{RootCAs: []*Certificate{b.ca.cert}}, wantErr: "certificate signed by unknown authority"},
		{name: "server certificate for another name is rejected",
			srv: a.server(), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, ServerName: "api.example.com"}, wantErr: "certificate is valid for"},
		{name: "mutual: client with a certificate from the client CA connects",
			srv: a.server(a.ca.cert), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, Cert: a.clientCert, Key: a.clientKey}, wantClient: "alice"},
		{name: "mutual: client CA bundle admits a second organisation",
			srv: a.server(b.ca.cert, a.ca.cert), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, Cert: b.clientCert, Key: b.clientKey}, wantClient: "alice"},
		{name: "mutual: client without a certificate is rejected",
			srv: a.server(a.ca.cert), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}},
			wantErr: "bad certificate", wantServerErr: "didn't provide a certificate"},
		// The client offers only a certificate whose issuer the server
		// names in its request, so this one is never sent.
		{name: "mutual: client with a certificate of another CA is rejected",
			srv: a.server(a.ca.cert), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, Cert: b.clientCert, Key: b.clientKey},
			wantErr: "bad certificate", wantServerErr: "didn't provide a certificate"},
		// An impostor CA with the client CA's very name: the certificate
		// is sent, and its signature does not verify.
		{name: "mutual: client with a certificate of an impostor CA of the same name is rejected",
			srv: a.server(a.ca.cert), cli: GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, Cert: impostor.clientCert, Key: impostor.clientKey},
			wantErr: "bad certificate", wantServerErr: "certificate signed by unknown authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, srv, err := gmtlsRoundTrip(t, c.srv, c.cli)
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("connected; want error containing %q", c.wantErr)
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %q; want it to contain %q", err, c.wantErr)
				}
				if srv.err == nil {
					t.Fatalf("server completed the handshake with a client it should reject")
				}
				if !strings.Contains(srv.err.Error(), c.wantServerErr) {
					t.Fatalf("server error %q; want it to contain %q", srv.err, c.wantServerErr)
				}
				t.Logf("client: %v; server: %v", err, srv.err)
				return
			}
			if err != nil {
				t.Fatalf("round trip: %v (server: %v)", err, srv.err)
			}
			if st.Version != GMTLSVersion || !st.HandshakeComplete {
				t.Fatalf("version 0x%04x, complete %v", st.Version, st.HandshakeComplete)
			}
			if st.CipherSuite != GMTLSECCSM4SM3 {
				t.Fatalf("cipher suite %s, want ECC_SM4_CBC_SM3", GMTLSCipherSuiteName(st.CipherSuite))
			}
			if len(st.PeerCertificates) != 2 || !st.PeerCertificates[0].Equal(c.srv.SignCert) || !st.PeerCertificates[1].Equal(c.srv.EncCert) {
				t.Fatalf("server sent %d certificates, want signing then encryption", len(st.PeerCertificates))
			}
			if c.wantClient != "" {
				if len(srv.state.PeerCertificates) != 1 || srv.state.PeerCertificates[0].Name() != c.wantClient {
					t.Fatalf("server saw client certificates %v", srv.state.PeerCertificates)
				}
			} else if len(srv.state.PeerCertificates) != 0 {
				t.Fatalf("server saw a client certificate it did not ask for")
			}
		})
	}
}

func TestGMTLSConfigRefused(t *testing.T) {
	a, b := newTLSPKI(t, "bankA"), newTLSPKI(t, "bankB")
	servers := []struct {
		name string
		cfg  GMTLSServerConfig
		want string
	}{
		{"no encryption certificate", GMTLSServerConfig{SignCert: a.signCert, SignKey: a.signKey}, "encryption certificate and key"},
		{"encryption certificate in the signing slot", GMTLSServerConfig{SignCert: a.encCert, SignKey: a.encKey, EncCert: a.encCert, EncKey: a.encKey}, "lacks key usage digitalSignature"},
		{"client certificate in the encryption slot", GMTLSServerConfig{SignCert: a.signCert, SignKey: a.signKey, EncCert: a.clientCert, EncKey: a.clientKey}, "lacks key usage keyEncipherment"},
		{"signing key of another certificate", GMTLSServerConfig{SignCert: a.signCert, SignKey: b.signKey, EncCert: a.encCert, EncKey: a.encKey}, "signing key does not match"},
		{"encryption key of another certificate", GMTLSServerConfig{SignCert: a.signCert, SignKey: a.signKey, EncCert: a.encCert, EncKey: a.signKey}, "encryption key does not match"},
		{"leaf as client CA", a.server(a.clientCert), "is not a CA"},
	}
	for _, s := range servers {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewGMTLSListener(l, s.cfg)
		l.Close()
		if !errors.Is(err, ErrGMTLSConfig) || !strings.Contains(err.Error(), s.want) {
			t.Errorf("server %s: error %v, want ErrGMTLSConfig containing %q", s.name, err, s.want)
		}
		if verr := s.cfg.Validate(); verr == nil || verr.Error() != err.Error() {
			t.Errorf("server %s: Validate says %v, NewGMTLSListener %v", s.name, verr, err)
		}
	}
	clients := []struct {
		name string
		cfg  GMTLSClientConfig
		want string
	}{
		{"no root CA", GMTLSClientConfig{ServerName: "x"}, "no CA"},
		{"certificate without key", GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, ServerName: "x", Cert: a.clientCert}, "needs its key"},
		{"key of another certificate", GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, ServerName: "x", Cert: a.clientCert, Key: b.clientKey}, "does not match"},
	}
	for _, c := range clients {
		p1, p2 := net.Pipe()
		_, err := GMTLSClient(p1, c.cfg)
		p1.Close()
		p2.Close()
		if !errors.Is(err, ErrGMTLSConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("client %s: error %v, want ErrGMTLSConfig containing %q", c.name, err, c.want)
		}
		if verr := c.cfg.Validate(); verr == nil || !strings.Contains(verr.Error(), c.want) {
			t.Errorf("client %s: Validate says %v", c.name, verr)
		}
	}
}

func TestIssueLeafTLSProfiles(t *testing.T) {
	a := newTLSPKI(t, "bankA")
	if a.signCert.c.KeyUsage&0x1 == 0 { // digitalSignature
		t.Error("signing certificate cannot sign")
	}
	if a.encCert.c.KeyUsage&0x1 != 0 {
		t.Error("encryption certificate may sign")
	}
	if err := a.encCert.VerifyIssuedBy(a.ca.cert, time.Now()); !errors.Is(err, ErrCertKeyUsage) {
		t.Errorf("encryption certificate accepted as a signing identity: %v", err)
	}
	if got := a.signCert.c.DNSNames; len(got) != 2 || got[0] != "api.bankA" || got[1] != "localhost" {
		t.Errorf("DNS names %v", got)
	}
	if got := a.signCert.c.IPAddresses; len(got) != 1 || got[0].String() != "127.0.0.1" {
		t.Errorf("IP addresses %v", got)
	}
	k, _ := GenerateKey()
	for _, req := range []LeafRequest{
		{Name: "alice", Org: "bankA", Role: RoleClient, Key: k.Public(), Days: 1, Hosts: []string{"localhost"}},
		{Name: "api", Org: "bankA", Role: RoleNode, Key: k.Public(), Days: 1, Hosts: []string{"bad host!"}},
	} {
		if _, err := IssueLeaf(a.ca.pem, a.ca.key, req); err == nil {
			t.Errorf("IssueLeaf(%+v) succeeded", req)
		}
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	k, _ := GenerateKey()
	b, err := k.MarshalPrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePrivateKeyPEM(b)
	if err != nil || !got.Public().Equal(k.Public()) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := ParsePrivateKeyPEM(append(b, b...)); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Fatalf("two keys: %v", err)
	}
	ca := newTestCA(t, "bankA", testNow, 10)
	if _, err := ParsePrivateKeyPEM(ca.pem); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Fatalf("certificate as key: %v", err)
	}
	ca2 := newTestCA(t, "bankB", testNow, 10)
	certs, err := ParseCertificatesPEM(append(append([]byte{}, ca.pem...), ca2.pem...))
	if err != nil || len(certs) != 2 || !certs[1].Equal(ca2.cert) {
		t.Fatalf("bundle: %v", err)
	}
	if _, err := ParseCertificatesPEM(append(append([]byte{}, ca.pem...), b...)); !errors.Is(err, ErrInvalidCertificate) {
		t.Fatalf("bundle with a key: %v", err)
	}
}

// BenchmarkGMTLSHandshake is one full GM TLS handshake on loopback, client
// and server on this machine (so both sides' SM2 work counts), with and
// without a client certificate.
func BenchmarkGMTLSHandshake(b *testing.B) {
	a := newTLSPKI(b, "bankA")
	for _, mutual := range []bool{false, true} {
		srv := a.server()
		cli := GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}}
		if mutual {
			srv = a.server(a.ca.cert)
			cli.Cert, cli.Key = a.clientCert, a.clientKey
		}
		b.Run(map[bool]string{false: "server-auth", true: "mutual"}[mutual], func(b *testing.B) {
			inner, _ := net.Listen("tcp", "127.0.0.1:0")
			l, err := NewGMTLSListener(inner, srv)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						c.(*GMTLSConn).Handshake(context.Background())
					}()
				}
			}()
			for b.Loop() {
				c, err := DialGMTLS(context.Background(), "tcp", l.Addr().String(), cli)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// rawSuiteHandshake serves one GM TLS connection with srv and dials it with
// a tjfoc client that offers exactly suites, in that order, the way a
// foreign client would. A panic in the server's handshake is caught and
// returned, so that the test reports it instead of dying.
func rawSuiteHandshake(t *testing.T, srv GMTLSServerConfig, roots []*Certificate, suites []uint16) (negotiated uint16, serverPanic any, clientErr, serverErr error) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewGMTLSListener(inner, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		err error
		pan any
	}
	done := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		defer func() {
			if p := recover(); p != nil {
				done <- result{pan: p}
			}
		}()
		done <- result{err: c.(*GMTLSConn).Handshake(ctx)}
	}()
	cc, err := GMTLSClientConfig{RootCAs: roots, ServerName: "127.0.0.1"}.tjfoc()
	if err != nil {
		t.Fatal(err)
	}
	cc.CipherSuites = suites
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	tc := gmtls.Client(raw, cc)
	clientErr = tc.Handshake()
	if clientErr != nil {
		raw.Close() // unblock a server waiting for the client
	}
	r := <-done
	return tc.ConnectionState().CipherSuite, r.pan, clientErr, r.err
}

// TestGMTLSOfferedSuites: every suite the package offers completes a real
// handshake when the client offers it alone, and client and server offer
// the same list.
func TestGMTLSOfferedSuites(t *testing.T) {
	a := newTLSPKI(t, "bankA")
	offered := GMTLSCipherSuites()
	if len(offered) == 0 {
		t.Fatal("no suite offered")
	}
	for _, s := range offered {
		t.Run(GMTLSCipherSuiteName(s), func(t *testing.T) {
			got, pan, cerr, serr := rawSuiteHandshake(t, a.server(), []*Certificate{a.ca.cert}, []uint16{s})
			if pan != nil || cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v, panic %v", cerr, serr, pan)
			}
			if got != s {
				t.Fatalf("negotiated %s", GMTLSCipherSuiteName(got))
			}
		})
	}
	srv, err := a.server().tjfoc()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := GMTLSClientConfig{RootCAs: []*Certificate{a.ca.cert}, ServerName: "x"}.tjfoc()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(srv.CipherSuites, offered) || !slices.Equal(cli.CipherSuites, offered) {
		t.Fatalf("server offers %x, client %x, want %x", srv.CipherSuites, cli.CipherSuites, offered)
	}
}

// TestGMTLSClientOfferingECDHEFirst plays a client that lists
// ECDHE_SM4_CBC_SM3 (0xe011) first, whose server side tjfoc v1.4.1
// implements as panic(""): the server must negotiate the working suite or
// fail the handshake cleanly, never panic.
func TestGMTLSClientOfferingECDHEFirst(t *testing.T) {
	a := newTLSPKI(t, "bankA")
	cases := []struct {
		name    string
		suites  []uint16
		wantErr bool
	}{
		{"ECDHE first, ECC second: the server picks ECC", []uint16{GMTLSECDHESM4SM3, GMTLSECCSM4SM3}, false},
		{"ECDHE alone: no shared suite, clean failure", []uint16{GMTLSECDHESM4SM3}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, pan, cerr, serr := rawSuiteHandshake(t, a.server(), []*Certificate{a.ca.cert}, c.suites)
			if pan != nil {
				t.Fatalf("server panicked in the handshake: %q", pan)
			}
			if c.wantErr {
				if cerr == nil || serr == nil {
					t.Fatalf("handshake completed (suite %s); want a failure on both sides", GMTLSCipherSuiteName(got))
				}
				t.Logf("client: %v; server: %v", cerr, serr)
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
			if got != GMTLSECCSM4SM3 {
				t.Fatalf("negotiated %s, want ECC_SM4_CBC_SM3", GMTLSCipherSuiteName(got))
			}
		})
	}
}

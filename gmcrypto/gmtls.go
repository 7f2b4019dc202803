package gmcrypto

// GM TLS (GM/T 0024-2014, the protocol GB/T 38636-2020 "TLCP" standardised)
// through github.com/tjfoc/gmsm/gmtls: the one file of jinlian that imports
// tjfoc outside tests. emmansun/gmsm has no TLS stack and the newer
// gitee.com/Trisia/gotlcp is not reachable from the module proxy; tjfoc is
// slow (see docs/guomi.md) but a handshake signs and verifies only a few
// times. Callers see only this package's types, so replacing tjfoc is a
// change to this file.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/tjfoc/gmsm/gmtls"
	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjx509 "github.com/tjfoc/gmsm/x509"
)

// GMTLSVersion is the protocol version of GM/T 0024 (and TLCP) records.
const GMTLSVersion uint16 = gmtls.VersionGMSSL

// GM TLS cipher suites of GM/T 0024. Both use SM2 authentication, SM4-CBC
// record encryption and HMAC-SM3.
const (
	// GMTLSECCSM4SM3 is ECC_SM4_CBC_SM3 (0xe013): the client encrypts the
	// pre-master secret to the server's encryption certificate. It is the
	// only suite this package offers, as server and as client.
	GMTLSECCSM4SM3 uint16 = gmtls.GMTLS_SM2_WITH_SM4_SM3
	// GMTLSECDHESM4SM3 is ECDHE_SM4_CBC_SM3 (0xe011), named for logs only:
	// it is never offered, because tjfoc v1.4.1's server side of it is
	// panic("") (gm_key_agreement.go), so a server offering it could be
	// crashed mid-handshake by any client that lists it first.
	GMTLSECDHESM4SM3 uint16 = gmtls.GMTLS_ECDHE_SM2_WITH_SM4_SM3
)

// GMTLSCipherSuites returns the suites this package offers, server and
// client alike, in order of preference. Every one is tested with a real
// handshake (TestGMTLSOfferedSuites).
func GMTLSCipherSuites() []uint16 { return []uint16{GMTLSECCSM4SM3} }

// GMTLSCipherSuiteName names a GM TLS cipher suite the way GM/T 0024 does.
func GMTLSCipherSuiteName(id uint16) string {
	switch id {
	case GMTLSECCSM4SM3:
		return "ECC_SM4_CBC_SM3"
	case GMTLSECDHESM4SM3:
		return "ECDHE_SM4_CBC_SM3"
	}
	return fmt.Sprintf("0x%04x", id)
}

// ErrGMTLSConfig wraps every reason a GM TLS configuration is refused.
var ErrGMTLSConfig = errors.New("invalid GM TLS configuration")

// GMTLSServerConfig is a GM TLS server's identity and client policy.
type GMTLSServerConfig struct {
	// SignCert and SignKey authenticate the server (digitalSignature).
	SignCert *Certificate
	SignKey  *PrivateKey
	// EncCert and EncKey receive the client's pre-master secret
	// (keyEncipherment or keyAgreement); see LeafRequest.Encryption.
	EncCert *Certificate
	EncKey  *PrivateKey
	// ClientCAs, when not empty, makes the server require a client
	// certificate that chains to one of them and allows clientAuth.
	ClientCAs []*Certificate
}

// GMTLSClientConfig is a GM TLS client's trust and optional identity.
type GMTLSClientConfig struct {
	// RootCAs are the CAs the server's signing certificate must chain to.
	RootCAs []*Certificate
	// ServerName is the DNS name or IP address the server certificate must
	// carry; DialGMTLS takes it from the address when empty.
	ServerName string
	// Cert and Key, when set, answer a server's request for a client
	// certificate (a signing certificate allowing clientAuth).
	Cert *Certificate
	Key  *PrivateKey
}

// GMTLSState describes a GM TLS connection after its handshake.
type GMTLSState struct {
	HandshakeComplete bool
	Version           uint16
	CipherSuite       uint16
	// PeerCertificates are the certificates the peer sent: for a server,
	// the signing certificate then the encryption certificate.
	PeerCertificates []*Certificate
}

// GMTLSConn is a GM TLS connection. Read and Write run the handshake first
// if Handshake has not.
type GMTLSConn struct {
	net.Conn
	tc *gmtls.Conn
}

// Handshake runs the handshake if it has not run yet, giving up when ctx ends.
func (c *GMTLSConn) Handshake(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		if err := c.tc.SetDeadline(d); err != nil {
			return err
		}
		defer c.tc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.tc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.tc.Handshake(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("GM TLS handshake: %w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("GM TLS handshake: %w", err)
	}
	return nil
}

// State returns the negotiated version, cipher suite and peer certificates.
func (c *GMTLSConn) State() GMTLSState {
	cs := c.tc.ConnectionState()
	st := GMTLSState{HandshakeComplete: cs.HandshakeComplete, Version: cs.Version, CipherSuite: cs.CipherSuite}
	for _, pc := range cs.PeerCertificates {
		if ours, err := ParseCertificate(pc.Raw); err == nil {
			st.PeerCertificates = append(st.PeerCertificates, ours)
		}
	}
	return st
}

// Validate reports what NewGMTLSListener would refuse in c.
func (c GMTLSServerConfig) Validate() error {
	_, err := c.tjfoc()
	return err
}

// Validate reports what GMTLSClient would refuse in c, but for an empty
// ServerName, which DialGMTLS fills in from the address.
func (c GMTLSClientConfig) Validate() error {
	if c.ServerName == "" {
		c.ServerName = "unset"
	}
	_, err := c.tjfoc()
	return err
}

// NewGMTLSListener wraps inner so that every accepted connection is the
// server side of a GM TLS connection (a *GMTLSConn) with the dual
// certificates of c. It checks c before it returns.
func NewGMTLSListener(inner net.Listener, c GMTLSServerConfig) (net.Listener, error) {
	tc, err := c.tjfoc()
	if err != nil {
		return nil, err
	}
	return &gmtlsListener{Listener: inner, config: tc}, nil
}

type gmtlsListener struct {
	net.Listener
	config *gmtls.Config
}

func (l *gmtlsListener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := gmtls.Server(raw, l.config)
	return &GMTLSConn{Conn: tc, tc: tc}, nil
}

// GMTLSClient makes conn the client side of a GM TLS connection; the
// handshake runs on first use or on Handshake.
func GMTLSClient(conn net.Conn, c GMTLSClientConfig) (*GMTLSConn, error) {
	tc, err := c.tjfoc()
	if err != nil {
		return nil, err
	}
	gc := gmtls.Client(conn, tc)
	return &GMTLSConn{Conn: gc, tc: gc}, nil
}

// DialGMTLS connects to addr and completes a GM TLS handshake within ctx.
func DialGMTLS(ctx context.Context, network, addr string, c GMTLSClientConfig) (*GMTLSConn, error) {
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("GM TLS dial %s: %w", addr, err)
		}
		c.ServerName = host
	}
	tc, err := c.tjfoc()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	gc := gmtls.Client(raw, tc)
	conn := &GMTLSConn{Conn: gc, tc: gc}
	if err := conn.Handshake(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("GM TLS dial %s: %w", addr, err)
	}
	return conn, nil
}

func (c GMTLSServerConfig) tjfoc() (*gmtls.Config, error) {
	fail := func(format string, a ...any) (*gmtls.Config, error) {
		return nil, fmt.Errorf("%w: server: %s", ErrGMTLSConfig, fmt.Sprintf(format, a...))
	}
	if c.SignCert == nil || c.SignKey == nil || c.EncCert == nil || c.EncKey == nil {
		return fail("needs a signing certificate and key and an encryption certificate and key")
	}
	if !c.SignCert.PublicKey().Equal(c.SignKey.Public()) {
		return fail("signing key does not match signing certificate %s", c.SignCert.Subject())
	}
	if !c.EncCert.PublicKey().Equal(c.EncKey.Public()) {
		return fail("encryption key does not match encryption certificate %s", c.EncCert.Subject())
	}
	if c.SignCert.c.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return fail("signing certificate %s lacks key usage digitalSignature", c.SignCert.Subject())
	}
	if c.EncCert.c.KeyUsage&(smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment|smx509.KeyUsageKeyAgreement) == 0 {
		return fail("encryption certificate %s lacks key usage keyEncipherment, dataEncipherment and keyAgreement", c.EncCert.Subject())
	}
	sign, err := tjfocKeyPair(c.SignCert, c.SignKey)
	if err != nil {
		return fail("signing certificate: %v", err)
	}
	enc, err := tjfocKeyPair(c.EncCert, c.EncKey)
	if err != nil {
		return fail("encryption certificate: %v", err)
	}
	tc := &gmtls.Config{
		GMSupport:    gmtls.NewGMSupport(),
		Certificates: []gmtls.Certificate{sign, enc},
		CipherSuites: GMTLSCipherSuites(),
		// Choose from our list, never the client's, whatever it offers first.
		PreferServerCipherSuites: true,
		ClientAuth:               gmtls.NoClientCert,
	}
	if len(c.ClientCAs) > 0 {
		pool, err := tjfocPool(c.ClientCAs)
		if err != nil {
			return fail("client CAs: %v", err)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = gmtls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func (c GMTLSClientConfig) tjfoc() (*gmtls.Config, error) {
	fail := func(format string, a ...any) (*gmtls.Config, error) {
		return nil, fmt.Errorf("%w: client: %s", ErrGMTLSConfig, fmt.Sprintf(format, a...))
	}
	if len(c.RootCAs) == 0 {
		return fail("no CA to verify the server with")
	}
	if c.ServerName == "" {
		return fail("no server name to verify the server certificate against")
	}
	if (c.Cert == nil) != (c.Key == nil) {
		return fail("a client certificate needs its key and a key its certificate")
	}
	pool, err := tjfocPool(c.RootCAs)
	if err != nil {
		return fail("root CAs: %v", err)
	}
	tc := &gmtls.Config{
		GMSupport:    gmtls.NewGMSupport(),
		RootCAs:      pool,
		ServerName:   c.ServerName,
		CipherSuites: GMTLSCipherSuites(),
	}
	if c.Cert != nil {
		if !c.Cert.PublicKey().Equal(c.Key.Public()) {
			return fail("key does not match client certificate %s", c.Cert.Subject())
		}
		kp, err := tjfocKeyPair(c.Cert, c.Key)
		if err != nil {
			return fail("client certificate: %v", err)
		}
		tc.Certificates = []gmtls.Certificate{kp}
	}
	return tc, nil
}

func tjfocKeyPair(c *Certificate, k *PrivateKey) (gmtls.Certificate, error) {
	if _, err := tjx509.ParseCertificate(c.c.Raw); err != nil {
		return gmtls.Certificate{}, fmt.Errorf("tjfoc cannot read %s: %v", c.Subject(), err)
	}
	return gmtls.Certificate{Certificate: [][]byte{c.DER()}, PrivateKey: toTjfocKey(k)}, nil
}

func toTjfocKey(k *PrivateKey) *tjsm2.PrivateKey {
	// tjfoc's key type exposes big.Int coordinates; fill them from our
	// encodings instead of reading the deprecated ecdsa fields.
	raw := k.pub.raw
	d := k.k.D.Bytes()
	return &tjsm2.PrivateKey{
		PublicKey: tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:65])},
		D:         new(big.Int).SetBytes(d),
	}
}

func tjfocPool(cas []*Certificate) (*tjx509.CertPool, error) {
	pool := tjx509.NewCertPool()
	for _, ca := range cas {
		if !ca.IsCA() {
			return nil, fmt.Errorf("%s is not a CA", ca.Subject())
		}
		tc, err := tjx509.ParseCertificate(ca.c.Raw)
		if err != nil {
			return nil, fmt.Errorf("tjfoc cannot read %s: %v", ca.Subject(), err)
		}
		pool.AddCert(tc)
	}
	return pool, nil
}

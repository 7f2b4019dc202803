package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// ServerTLS is the server's transport security: nodecfg's api.tls and the
// file keys, with paths already resolved. Errors about a file name its key.
type ServerTLS struct {
	Mode         string // nodecfg.APITLSNone (or ""), APITLSTLS13 or APITLSGM
	CertFile     string // api.cert_file; gmtls: the signing certificate
	KeyFile      string // api.key_file
	EncCertFile  string // api.enc_cert_file, gmtls only
	EncKeyFile   string // api.enc_key_file, gmtls only
	ClientCAFile string // api.client_ca_file; set = mutual TLS
}

// ServerTLSFromConfig takes the api.* keys of cfg, resolving relative paths
// against the home.
func ServerTLSFromConfig(cfg *nodecfg.Config) ServerTLS {
	a := cfg.API
	return ServerTLS{
		Mode:         a.TLS,
		CertFile:     cfg.HomePath(a.CertFile),
		KeyFile:      cfg.HomePath(a.KeyFile),
		EncCertFile:  cfg.HomePath(a.EncCertFile),
		EncKeyFile:   cfg.HomePath(a.EncKeyFile),
		ClientCAFile: cfg.HomePath(a.ClientCAFile),
	}
}

func (t ServerTLS) mode() string {
	if t.Mode == "" {
		return nodecfg.APITLSNone
	}
	return t.Mode
}

// Listener loads the certificates and returns what wraps a TCP listener:
// the same transports for another server of the node (the regulator API).
func (t ServerTLS) Listener(logger *slog.Logger) (func(net.Listener) net.Listener, error) {
	return t.listener(logger)
}

// listener loads the certificates and returns what wraps the TCP listener.
func (t ServerTLS) listener(logger *slog.Logger) (func(net.Listener) net.Listener, error) {
	switch t.mode() {
	case nodecfg.APITLSNone:
		if t.ClientCAFile != "" {
			return nil, errors.New("api.client_ca_file needs api.tls = tls13 or gmtls")
		}
		return func(l net.Listener) net.Listener { return l }, nil
	case nodecfg.APITLSTLS13:
		c, err := t.tls13Config()
		if err != nil {
			return nil, err
		}
		return func(l net.Listener) net.Listener { return tls.NewListener(l, c) }, nil
	case nodecfg.APITLSGM:
		c, err := t.gmtlsConfig()
		if err != nil {
			return nil, err
		}
		// Checked here, so that NewGMTLSListener cannot fail below.
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return func(l net.Listener) net.Listener {
			gl, _ := gmcrypto.NewGMTLSListener(l, c)
			return &gmtlsListener{Listener: gl, logger: logger}
		}, nil
	}
	return nil, fmt.Errorf("api.tls = %q: want none, tls13 or gmtls", t.Mode)
}

func (t ServerTLS) tls13Config() (*tls.Config, error) {
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("api.tls = tls13 needs api.cert_file and api.key_file")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("api.cert_file %s, api.key_file %s: %w (TLS 1.3 takes ECDSA, Ed25519 or RSA certificates; SM2 certificates need api.tls = gmtls)", t.CertFile, t.KeyFile, err)
	}
	c := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
		ClientAuth:   tls.NoClientCert,
	}
	if t.ClientCAFile != "" {
		pool, err := loadX509Pool(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("api.client_ca_file %s: %w", t.ClientCAFile, err)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

func (t ServerTLS) gmtlsConfig() (gmcrypto.GMTLSServerConfig, error) {
	var c gmcrypto.GMTLSServerConfig
	files := []struct {
		key, path string
		cert      **gmcrypto.Certificate
		priv      **gmcrypto.PrivateKey
	}{
		{"api.cert_file", t.CertFile, &c.SignCert, nil},
		{"api.key_file", t.KeyFile, nil, &c.SignKey},
		{"api.enc_cert_file", t.EncCertFile, &c.EncCert, nil},
		{"api.enc_key_file", t.EncKeyFile, nil, &c.EncKey},
	}
	for _, f := range files {
		if f.path == "" {
			return c, fmt.Errorf("api.tls = gmtls needs %s", f.key)
		}
		if f.cert != nil {
			certs, err := gmcrypto.LoadCertificatesFile(f.path)
			if err != nil {
				return c, fmt.Errorf("%s: %w", f.key, err)
			}
			if len(certs) != 1 {
				return c, fmt.Errorf("%s %s: %d certificates, want exactly one (GM TLS sends the leaf alone)", f.key, f.path, len(certs))
			}
			*f.cert = certs[0]
		} else {
			k, err := gmcrypto.LoadPrivateKeyFile(f.path)
			if err != nil {
				return c, fmt.Errorf("%s: %w", f.key, err)
			}
			*f.priv = k
		}
	}
	if t.ClientCAFile != "" {
		cas, err := gmcrypto.LoadCertificatesFile(t.ClientCAFile)
		if err != nil {
			return c, fmt.Errorf("api.client_ca_file: %w", err)
		}
		c.ClientCAs = cas
	}
	return c, nil
}

func loadX509Pool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no certificate that Go's crypto/x509 can read (an SM2 CA needs gmtls)")
	}
	return pool, nil
}

// gmtlsListener runs each GM TLS handshake before the HTTP server reads, so
// that a rejected client is logged as net/http logs standard TLS ones.
type gmtlsListener struct {
	net.Listener
	logger *slog.Logger
}

func (l *gmtlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gmtlsServerConn{GMTLSConn: c.(*gmcrypto.GMTLSConn), logger: l.logger}, nil
}

type gmtlsServerConn struct {
	*gmcrypto.GMTLSConn
	logger *slog.Logger
	once   sync.Once
	err    error
}

func (c *gmtlsServerConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		if c.err = c.GMTLSConn.Handshake(ctx); c.err != nil {
			c.logger.Warn("api: GM TLS handshake failed", "remote", c.RemoteAddr().String(), "err", c.err)
		}
	})
	return c.err
}

func (c *gmtlsServerConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.GMTLSConn.Read(b)
}

func (c *gmtlsServerConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.GMTLSConn.Write(b)
}

// ClientTLS is how a client reaches an API served over TLS.
type ClientTLS struct {
	Mode string // nodecfg.APITLSTLS13 or APITLSGM
	// CAFile is the PEM bundle of CAs the server certificate must chain to.
	CAFile string
	// CertFile and KeyFile (PKCS#8 PEM) are the client certificate for
	// mutual TLS; optional.
	CertFile, KeyFile string
	// Cert and Key, for gmtls, are a client certificate already loaded
	// (e.g. from a jinlian keystore); they replace CertFile and KeyFile.
	Cert *gmcrypto.Certificate
	Key  *gmcrypto.PrivateKey
	// ServerName overrides the host name checked against the server
	// certificate; by default it is the host of the URL.
	ServerName string
}

// NewHTTPClient returns an HTTP client for an https:// API URL: its
// transport speaks TLS 1.3 or GM TLS as c says and nothing else.
func NewHTTPClient(c ClientTLS) (*http.Client, error) {
	tr := &http.Transport{
		Proxy:               nil,
		TLSHandshakeTimeout: handshakeTimeout,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 4,
	}
	if c.CAFile == "" {
		return nil, errors.New("TLS: no CA file to verify the server with (--tls-ca)")
	}
	switch c.Mode {
	case nodecfg.APITLSTLS13:
		pool, err := loadX509Pool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA %s: %w", c.CAFile, err)
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: c.ServerName, NextProtos: []string{"http/1.1"}}
		if c.Cert != nil || c.Key != nil {
			return nil, errors.New("TLS 1.3: an SM2 client key needs --tls-mode gmtls")
		}
		if (c.CertFile == "") != (c.KeyFile == "") {
			return nil, errors.New("TLS: a client certificate needs its key (--tls-cert with --tls-key)")
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("TLS client certificate %s, key %s: %w", c.CertFile, c.KeyFile, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	case nodecfg.APITLSGM:
		gc, err := c.gmtlsConfig()
		if err != nil {
			return nil, err
		}
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg := gc
			if cfg.ServerName == "" {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				cfg.ServerName = host
			}
			ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
			defer cancel()
			return gmcrypto.DialGMTLS(ctx, network, addr, cfg)
		}
	default:
		return nil, fmt.Errorf("TLS mode %q: want tls13 or gmtls", c.Mode)
	}
	return &http.Client{Transport: tr}, nil
}

func (c ClientTLS) gmtlsConfig() (gmcrypto.GMTLSClientConfig, error) {
	cas, err := gmcrypto.LoadCertificatesFile(c.CAFile)
	if err != nil {
		return gmcrypto.GMTLSClientConfig{}, fmt.Errorf("GM TLS CA: %w", err)
	}
	gc := gmcrypto.GMTLSClientConfig{RootCAs: cas, ServerName: c.ServerName, Cert: c.Cert, Key: c.Key}
	if c.Cert == nil && c.Key == nil {
		if (c.CertFile == "") != (c.KeyFile == "") {
			return gc, errors.New("GM TLS: a client certificate needs its key (--tls-cert with --tls-key)")
		}
		if c.CertFile != "" {
			certs, err := gmcrypto.LoadCertificatesFile(c.CertFile)
			if err != nil {
				return gc, fmt.Errorf("GM TLS client certificate: %w", err)
			}
			if gc.Key, err = gmcrypto.LoadPrivateKeyFile(c.KeyFile); err != nil {
				return gc, fmt.Errorf("GM TLS client key: %w", err)
			}
			gc.Cert = certs[0]
		}
	}
	// Refuse a bad pairing now rather than at the first request.
	return gc, gc.Validate()
}

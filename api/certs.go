package api

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// CertOptions describe a self-contained set of API certificates: a root
// CA, the server's certificate(s) and one client certificate.
type CertOptions struct {
	Dir    string // created if absent; existing files are never overwritten
	Mode   string // nodecfg.APITLSTLS13 (ECDSA P-256) or APITLSGM (SM2, dual server certificates)
	Org    string // subject O of every certificate; default "jinlian"
	Hosts  []string
	Client string // client certificate CN; default "client"
	// NotBefore defaults to an hour ago, Days to 365.
	NotBefore time.Time
	Days      int
}

// CertFiles are the paths GenerateCertificates wrote. Keys are unencrypted
// PKCS#8 PEM files of mode 0600.
type CertFiles struct {
	CA         string `json:"ca"`
	CAKey      string `json:"ca_key"`
	Cert       string `json:"cert"` // server (gmtls: signing)
	Key        string `json:"key"`
	EncCert    string `json:"enc_cert,omitempty"` // gmtls only: server encryption certificate
	EncKey     string `json:"enc_key,omitempty"`
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key"`
}

// GenerateCertificates creates a CA, server certificates for opts.Hosts
// (default 127.0.0.1 and localhost) and a client certificate in opts.Dir,
// for a localnet, tests or a first try of the API. A production node takes
// its certificates from its organisation's CA instead.
func GenerateCertificates(opts CertOptions) (*CertFiles, error) {
	if opts.Org == "" {
		opts.Org = "jinlian"
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.1", "localhost"}
	}
	if opts.Client == "" {
		opts.Client = "client"
	}
	if opts.NotBefore.IsZero() {
		opts.NotBefore = time.Now().Add(-time.Hour)
	}
	if opts.Days == 0 {
		opts.Days = 365
	}
	if opts.Dir == "" {
		return nil, errors.New("generate certificates: no directory")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("generate certificates: %w", err)
	}
	f := &CertFiles{
		CA: filepath.Join(opts.Dir, "ca.pem"), CAKey: filepath.Join(opts.Dir, "ca_key.pem"),
		Cert: filepath.Join(opts.Dir, "server.pem"), Key: filepath.Join(opts.Dir, "server_key.pem"),
		ClientCert: filepath.Join(opts.Dir, opts.Client+".pem"), ClientKey: filepath.Join(opts.Dir, opts.Client+"_key.pem"),
	}
	var err error
	switch opts.Mode {
	case nodecfg.APITLSGM:
		f.Cert, f.Key = filepath.Join(opts.Dir, "server_sign.pem"), filepath.Join(opts.Dir, "server_sign_key.pem")
		f.EncCert, f.EncKey = filepath.Join(opts.Dir, "server_enc.pem"), filepath.Join(opts.Dir, "server_enc_key.pem")
		err = generateSM2(opts, f)
	case nodecfg.APITLSTLS13:
		err = generateECDSA(opts, f)
	default:
		err = fmt.Errorf("mode %q: want tls13 or gmtls", opts.Mode)
	}
	if err != nil {
		return nil, fmt.Errorf("generate certificates in %s: %w", opts.Dir, err)
	}
	return f, nil
}

func generateSM2(o CertOptions, f *CertFiles) error {
	caKey, err := gmcrypto.GenerateKey()
	if err != nil {
		return err
	}
	caPEM, err := gmcrypto.CreateRootCA(o.Org, caKey, o.NotBefore, o.Days)
	if err != nil {
		return err
	}
	if err := writeSM2(f.CA, caPEM, f.CAKey, caKey); err != nil {
		return err
	}
	leaves := []struct {
		req         gmcrypto.LeafRequest
		certF, keyF string
	}{
		{gmcrypto.LeafRequest{Name: o.Hosts[0], Role: gmcrypto.RoleNode, Hosts: o.Hosts[1:]}, f.Cert, f.Key},
		{gmcrypto.LeafRequest{Name: o.Hosts[0], Role: gmcrypto.RoleNode, Hosts: o.Hosts[1:], Encryption: true}, f.EncCert, f.EncKey},
		{gmcrypto.LeafRequest{Name: o.Client, Role: gmcrypto.RoleClient}, f.ClientCert, f.ClientKey},
	}
	for _, l := range leaves {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			return err
		}
		l.req.Org, l.req.Key, l.req.NotBefore, l.req.Days = o.Org, k.Public(), o.NotBefore, o.Days
		certPEM, err := gmcrypto.IssueLeaf(caPEM, caKey, l.req)
		if err != nil {
			return err
		}
		if err := writeSM2(l.certF, certPEM, l.keyF, k); err != nil {
			return err
		}
	}
	return nil
}

func writeSM2(certF string, certPEM []byte, keyF string, k *gmcrypto.PrivateKey) error {
	keyPEM, err := k.MarshalPrivateKeyPEM()
	if err != nil {
		return err
	}
	return writePair(certF, certPEM, keyF, keyPEM)
}

func generateECDSA(o CertOptions, f *CertFiles) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{o.Org}, CommonName: o.Org + " API root CA"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := signECDSA(caTmpl, caTmpl, &caKey.PublicKey, caKey, o)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writeECDSA(f.CA, caDER, f.CAKey, caKey); err != nil {
		return err
	}
	server := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{o.Org}, OrganizationalUnit: []string{string(gmcrypto.RoleNode)}, CommonName: o.Hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	client := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{o.Org}, OrganizationalUnit: []string{string(gmcrypto.RoleClient)}, CommonName: o.Client},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, l := range []struct {
		tmpl        *x509.Certificate
		certF, keyF string
	}{{server, f.Cert, f.Key}, {client, f.ClientCert, f.ClientKey}} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := signECDSA(l.tmpl, caCert, &k.PublicKey, caKey, o)
		if err != nil {
			return err
		}
		if err := writeECDSA(l.certF, der, l.keyF, k); err != nil {
			return err
		}
	}
	return nil
}

func signECDSA(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, o CertOptions) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	tmpl.NotBefore = o.NotBefore.UTC()
	tmpl.NotAfter = o.NotBefore.UTC().AddDate(0, 0, o.Days)
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

func writeECDSA(certF string, der []byte, keyF string, k *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return writePair(certF, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyF, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func writePair(certF string, certPEM []byte, keyF string, keyPEM []byte) error {
	if err := writeNew(keyF, keyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(certF, certPEM, 0o644)
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

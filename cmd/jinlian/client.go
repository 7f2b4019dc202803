package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// defaultTLSMode is GM TLS: jinlian serves its API over GM TLS unless an
// operator chooses otherwise (DESIGN.md, fixed choices).
const defaultTLSMode = nodecfg.APITLSGM

// nodeFlags are --node and the --tls-* flags: where a command connects and
// how. It prints as the address.
type nodeFlags struct {
	addr string
	tls  api.ClientTLS
}

func (n nodeFlags) String() string { return n.addr }

// dial returns an RPC client for --node: tcp://, http:// or host:port for a
// node's CometBFT RPC, or https:// for its API over GM TLS or TLS 1.3
// (--tls-mode), trusting --tls-ca and presenting --tls-cert/--tls-key.
func dial(node nodeFlags) (rpcclient.Client, error) {
	addr := node.addr
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	if !strings.HasPrefix(addr, "https://") {
		if t := node.tls; t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" {
			return nil, fmt.Errorf("node %s: --tls-ca, --tls-cert and --tls-key need an https:// --node", node)
		}
		c, err := rpchttp.New(addr, "/websocket")
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		return c, nil
	}
	hc, err := apiHTTPClient(node)
	if err != nil {
		return nil, err
	}
	c, err := rpchttp.NewWithClient(addr, "/websocket", hc)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	return c, nil
}

// apiHTTPClient is the HTTP client for an https:// --node, the node's
// API: trusting --tls-ca, presenting --tls-cert/--tls-key (a PEM key, or
// for gmtls a jinlian key file).
func apiHTTPClient(node nodeFlags) (*http.Client, error) {
	t := node.tls
	if t.CAFile == "" {
		return nil, fmt.Errorf("node %s: an https:// node needs --tls-ca (the CA of the API's certificate)", node)
	}
	if t.Mode == nodecfg.APITLSGM && t.KeyFile != "" && isKeystoreFile(t.KeyFile) {
		if err := loadKeystoreTLSKey(&t); err != nil {
			return nil, fmt.Errorf("node %s: --tls-key: %w", node, err)
		}
	}
	hc, err := api.NewHTTPClient(t)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	return hc, nil
}

// isKeystoreFile tells a jinlian key file (JSON) from a PEM key.
func isKeystoreFile(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))
}

// loadKeystoreTLSKey decrypts the jinlian key file t.KeyFile (passphrase
// from JINLIAN_PASSPHRASE or a prompt) and takes the client certificate
// from --tls-cert or else from the key file.
func loadKeystoreTLSKey(t *api.ClientTLS) error {
	pw, err := gmcrypto.ReadPassphrase("", "Passphrase for TLS key "+t.KeyFile+": ")
	if err != nil {
		return err
	}
	info, key, err := gmcrypto.LoadKey(t.KeyFile, pw)
	if err != nil {
		return err
	}
	certPEM := []byte(info.Certificate)
	if t.CertFile != "" {
		if certPEM, err = os.ReadFile(t.CertFile); err != nil {
			return fmt.Errorf("--tls-cert: %w", err)
		}
	}
	if len(certPEM) == 0 {
		return fmt.Errorf("key file %s holds no certificate: pass --tls-cert", t.KeyFile)
	}
	cert, err := gmcrypto.ParseCertificatePEM(certPEM)
	if err != nil {
		return err
	}
	t.Cert, t.Key, t.CertFile, t.KeyFile = cert, key, "", ""
	return nil
}

// chainID asks the node which chain it runs.
func chainID(ctx context.Context, c rpcclient.Client, node fmt.Stringer) (string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s unreachable: %w (is the localnet running? start it with: go run -tags dev ./cmd/jinlian localnet)", node, err)
	}
	return st.NodeInfo.Network, nil
}

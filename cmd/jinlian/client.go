package main

import (
	"context"
	"fmt"
	"net/http"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/api"
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

// apiNode is --node as the api package's client side sees it.
func apiNode(node nodeFlags) api.Node { return api.Node{Addr: node.addr, TLS: node.tls} }

// apiClient is --node's API and, for https://, the HTTP client that holds
// its TLS identity (the key is loaded here, once); nil for plain http://.
func apiClient(nf nodeFlags) (api.Node, *http.Client, error) {
	n := apiNode(nf)
	if !isAPI(nf) {
		return n, nil, nil
	}
	hc, err := n.HTTPClient()
	return n, hc, err
}

// dial returns an RPC client for --node: tcp://, http:// or host:port for a
// node's CometBFT RPC, or https:// for its API over GM TLS or TLS 1.3
// (--tls-mode), trusting --tls-ca and presenting --tls-cert/--tls-key.
func dial(node nodeFlags) (rpcclient.Client, error) { return apiNode(node).Dial() }

// isKeystoreFile tells a jinlian key file (JSON) from a PEM key.
func isKeystoreFile(path string) bool { return api.IsKeystoreFile(path) }

// loadKeystoreTLSKey decrypts the jinlian key file t.KeyFile and takes the
// client certificate from --tls-cert or else from the key file.
func loadKeystoreTLSKey(t *api.ClientTLS) error { return api.LoadKeystoreTLSKey(t) }

// chainID asks the node which chain it runs.
func chainID(ctx context.Context, c rpcclient.Client, node fmt.Stringer) (string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s unreachable: %w (is the localnet running? start it with: go run -tags dev ./cmd/jinlian localnet)", node, err)
	}
	return st.NodeInfo.Network, nil
}

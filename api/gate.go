package api

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Registry is what the read gate asks the chain: who an SM2 identity is,
// and which organisations belong to a sub-ledger.
type Registry interface {
	// Identity returns the registered organisation and roles of addr.
	Identity(addr gmcrypto.Address) (org string, roles []string, ok bool, err error)
	// LedgerMembers returns a sub-ledger's member organisations.
	LedgerMembers(ledger string) (members []string, ok bool, err error)
}

// caller is the authenticated client of a request.
type caller struct {
	desc       string // for refusals
	org        string
	privileged bool // regulator or auditor: reads every sub-ledger
}

// Methods any authenticated client may call: node status and submitting
// transactions (whose authorization the state machine checks).
var openMethods = []string{
	"health", "status", "abci_info", "validators", "commit", "num_unconfirmed_txs",
	"broadcast_tx_sync", "broadcast_tx_async", "broadcast_tx_commit", "check_tx",
}

// ledgerScoped are the app queries whose data names a sub-ledger.
var ledgerScoped = map[string]func(data []byte) string{
	"/balance": func(d []byte) string {
		var q struct {
			Ledger string `json:"ledger"`
		}
		_ = json.Unmarshal(d, &q)
		return q.Ledger
	},
	"/ledger": func(d []byte) string { return string(d) },
}

// gate enforces, when clients authenticate with certificates, that
// sub-ledger data is read only by identities of the ledger's member
// organisations, regulators and auditors. Raw blocks, transactions and
// event subscriptions carry every sub-ledger, so only regulators and
// auditors get them.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls, err := rpcCalls(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if !slices.ContainsFunc(calls, func(c rpcCall) bool { return !slices.Contains(openMethods, c.method) }) {
			next.ServeHTTP(w, r) // status and submissions: the TLS handshake authenticated the client
			return
		}
		c, err := s.caller(r)
		if err == nil && c.privileged {
			next.ServeHTTP(w, r)
			return
		}
		for _, call := range calls {
			if err == nil {
				err = s.allowed(c, call)
			}
			if err != nil {
				refuse(w, calls, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) caller(r *http.Request) (caller, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// Standard TLS carries ECDSA certificates, which name an
		// organisation but no on-chain identity.
		cert := r.TLS.PeerCertificates[0]
		return caller{desc: cert.Subject.String(), org: firstOrg(cert)}, nil
	}
	if c, ok := r.Context().Value(connKey{}).(*gmtlsServerConn); ok {
		st := c.State()
		if len(st.PeerCertificates) == 0 {
			return caller{}, fmt.Errorf("no client certificate")
		}
		addr := st.PeerCertificates[0].PublicKey().Address()
		org, roles, ok, err := s.opts.Registry.Identity(addr)
		if err != nil {
			return caller{}, err
		}
		desc := fmt.Sprintf("identity %s (%s)", addr, st.PeerCertificates[0].Subject())
		if !ok {
			return caller{}, fmt.Errorf("%s is not registered on chain; reads need a registered identity", desc)
		}
		priv := slices.ContainsFunc(roles, func(r string) bool { return r == "regulator" || r == "auditor" })
		return caller{desc: desc + " of " + org, org: org, privileged: priv}, nil
	}
	return caller{}, fmt.Errorf("no client certificate")
}

func firstOrg(c *x509.Certificate) string {
	if len(c.Subject.Organization) > 0 {
		return c.Subject.Organization[0]
	}
	return ""
}

type rpcCall struct {
	id     json.RawMessage
	method string
	path   string // abci_query path
	data   []byte // abci_query data
}

// rpcCalls extracts the JSON-RPC calls of a request: a POST body (one call
// or a batch), or a GET /<method>?params URI call. The body is restored.
func rpcCalls(r *http.Request) ([]rpcCall, error) {
	if r.Method == http.MethodGet {
		m := strings.TrimPrefix(r.URL.Path, "/")
		if m == "" || m == "websocket" {
			return []rpcCall{{method: "subscribe"}}, nil
		}
		q := r.URL.Query()
		data, _ := hex.DecodeString(strings.TrimPrefix(strings.Trim(q.Get("data"), `"`), "0x"))
		return []rpcCall{{method: m, path: strings.Trim(q.Get("path"), `"`), data: data}}, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	type req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Path string `json:"path"`
			Data string `json:"data"`
		} `json:"params"`
	}
	var reqs []req
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, &reqs)
	} else {
		var one req
		err = json.Unmarshal(t, &one)
		reqs = []req{one}
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON-RPC request: %v", err)
	}
	out := make([]rpcCall, len(reqs))
	for i, q := range reqs {
		data, _ := hex.DecodeString(q.Params.Data)
		out[i] = rpcCall{id: q.ID, method: q.Method, path: q.Params.Path, data: data}
	}
	return out, nil
}

func (s *Server) allowed(c caller, call rpcCall) error {
	if slices.Contains(openMethods, call.method) {
		return nil
	}
	if call.method != "abci_query" {
		return fmt.Errorf("%s may not call %s: raw blocks, transactions and events carry every sub-ledger, so only regulators and auditors read them", c.desc, call.method)
	}
	ledgerOf, scoped := ledgerScoped[call.path]
	if !scoped {
		return nil
	}
	name := ledgerOf(call.data)
	members, ok, err := s.opts.Registry.LedgerMembers(name)
	if err != nil {
		return err
	}
	if ok && !slices.Contains(members, c.org) {
		return fmt.Errorf("%s may not read sub-ledger %s: it is open to identities of %s, regulators and auditors", c.desc, name, strings.Join(members, ", "))
	}
	return nil
}

// refuse answers 403 with JSON-RPC error objects carrying the request ids,
// so that RPC clients print the reason.
func refuse(w http.ResponseWriter, calls []rpcCall, err error) {
	type rpcErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	}
	type resp struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id,omitempty"`
		Error   rpcErr          `json:"error"`
	}
	out := make([]resp, len(calls))
	for i, c := range calls {
		out[i] = resp{JSONRPC: "2.0", ID: c.id, Error: rpcErr{Code: -32600, Message: "forbidden", Data: err.Error()}}
	}
	if len(out) == 1 {
		writeJSON(w, http.StatusForbidden, out[0])
		return
	}
	writeJSON(w, http.StatusForbidden, out)
}

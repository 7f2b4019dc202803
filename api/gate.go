package api

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Registry is what the read gate asks the chain (its last committed state):
// who an SM2 identity is, which CA an organisation registered, and which
// organisations belong to a sub-ledger.
type Registry interface {
	// Identity returns the registered organisation and roles of addr.
	Identity(addr gmcrypto.Address) (org string, roles []string, ok bool, err error)
	// OrgOfRootCA returns the organisation that registered the root CA
	// certificate der (DER bytes, compared exactly) on chain.
	OrgOfRootCA(der []byte) (org string, ok bool, err error)
	// LedgerMembers returns a sub-ledger's member organisations.
	LedgerMembers(ledger string) (members []string, ok bool, err error)
	// OrgExists reports whether organisation id is registered.
	OrgExists(id string) (bool, error)
}

// access says who may make a call.
type access int

const (
	// anyClient: every client the TLS handshake authenticated; the state
	// machine authorizes what it submits.
	anyClient access = iota + 1
	// registered: a caller whose organisation the chain knows (GM TLS: a
	// registered SM2 identity; TLS 1.3: a certificate issued by a root CA
	// an organisation registered on chain).
	registered
	// ledgerMember: a registered caller of a member organisation of the
	// sub-ledger the call names, or a regulator or auditor.
	ledgerMember
	// governance: an identity with the committee, regulator or auditor role.
	governance
	// privileged: an identity with the regulator or auditor role.
	privileged
	// accountOwner: a ledgerMember caller asking about an account that is
	// a registered identity of its own organisation, or a regulator or
	// auditor (of the sub-ledger). A completeness commitment tells how
	// often an account moved: the account's bank reads it and hands it,
	// proven, to whom it chooses.
	accountOwner
)

// rule is who may call a method or an app query path, and why.
type rule struct {
	access access
	// why completes "only … may …" in a refusal.
	why string
	// ledger, for ledgerMember, names the sub-ledger a query's data reads.
	ledger func(data []byte) (string, error)
	// account, for accountOwner, names the sub-ledger and the account.
	account func(data []byte) (ledger, account string, err error)
}

const whyRaw = "raw blocks, transactions and events carry every sub-ledger"

// methodRules are the CometBFT RPC methods the gate forwards. A method that
// is not here is refused to everyone (unsafe routes, evidence, peer and
// consensus internals, subscriptions over HTTP). abci_query is decided by
// queryRules. Arguments are declared in rpcArgs.
var methodRules = map[string]rule{
	"health":              {access: anyClient},
	"status":              {access: anyClient},
	"abci_info":           {access: anyClient},
	"validators":          {access: anyClient},
	"commit":              {access: anyClient}, // a signed header: hashes and signatures, no transaction
	"num_unconfirmed_txs": {access: anyClient},
	"broadcast_tx_sync":   {access: anyClient},
	"broadcast_tx_async":  {access: anyClient},
	"broadcast_tx_commit": {access: anyClient},
	"check_tx":            {access: anyClient},
	"abci_query":          {}, // per path: queryRules

	"block":           {access: privileged, why: whyRaw},
	"block_by_hash":   {access: privileged, why: whyRaw},
	"block_results":   {access: privileged, why: whyRaw},
	"blockchain":      {access: privileged, why: whyRaw},
	"header":          {access: privileged, why: whyRaw},
	"tx":              {access: privileged, why: whyRaw},
	"tx_search":       {access: privileged, why: whyRaw},
	"block_search":    {access: privileged, why: whyRaw},
	"unconfirmed_txs": {access: privileged, why: whyRaw},
	"genesis":         {access: privileged, why: "the genesis state carries every sub-ledger"},
	"genesis_chunked": {access: privileged, why: "the genesis state carries every sub-ledger"},
}

// queryRules are the app's query paths (app/query.go) the gate forwards;
// a path that is not here is refused to everyone.
var queryRules = map[string]rule{
	"/balance":           {access: ledgerMember, ledger: ledgerField("balance request", "ledger", "asset", "account")},
	"/commitment":        {access: accountOwner, account: accountField("commitment request", "ledger", "asset", "account")},
	"/redemptions":       {access: ledgerMember, ledger: ledgerField("redemptions request", "ledger", "asset")},
	"/ledger":            {access: ledgerMember, ledger: func(d []byte) (string, error) { return string(d), nil }},
	"/custody/account":   {access: ledgerMember, ledger: ledgerField("custody account request", "ledger", "account")},
	"/custody/proposals": {access: ledgerMember, ledger: ledgerField("custody proposals request", "ledger", "account")},
	"/custody/accounts":  {access: ledgerMember, ledger: ledgerField("custody accounts request", "ledger", "signer")},
	"/pvp/trade":         {access: ledgerMember, ledger: ledgerField("pvp trade request", "ledger", "trade")},
	"/pvp/trades":        {access: ledgerMember, ledger: ledgerField("pvp trades request", "ledger", "party")},
	"/receivable":        {access: ledgerMember, ledger: ledgerField("receivable request", "ledger", "receivable", "invoice")},
	"/receivables":       {access: ledgerMember, ledger: ledgerField("receivables request", "ledger", "holder")},
	"/reserves":          {access: ledgerMember, ledger: ledgerField("reserves request", "ledger", "asset", "account")}, // sibling sums: balances of the sub-ledger /balance already opens to members
	// Any key of a sub-ledger, with its state proof: members of that
	// sub-ledger (the _system ledger is no member's: regulators and auditors).
	"/store":          {access: ledgerMember, ledger: ledgerField("store request", "ledger", "key")},
	"/ledgers":        {access: privileged, why: "it lists every sub-ledger with its supply"},
	"/invariants":     {access: privileged, why: "it reports the supply of every sub-ledger"},
	"/holds":          {access: privileged, why: "holds name accounts of every sub-ledger"},
	"/sanctions":      {access: privileged, why: "the sanctions list is the regulators'"},
	"/aml_thresholds": {access: privileged, why: "the alert thresholds are the regulators'"},
	"/proposals":      {access: governance, why: "governance proposals are for the committee"},
	"/proposal":       {access: governance, why: "governance proposals are for the committee"},
	"/tx":             {access: registered},
	"/organisations":  {access: registered},
	"/validators":     {access: registered},
	"/validator":      {access: registered}, // one registration of /validators, with its state proof
	"/txresults":      {access: registered}, // a block's results commitment: a count and an SM3 root
	"/roles":          {access: registered},
	"/nodes":          {access: registered},
	"/escrow_keys":    {access: registered},
	"/pubkey":         {access: registered},
	"/upgrade":        {access: registered},
	"/certificate":    {access: registered}, // whether a certificate hash is recorded, not the certificate
	"/checkpoint":     {access: registered},
}

// ledgerField reads the sub-ledger of a JSON query request (/balance,
// /redemptions, /custody/...) whose keys are among keys, every value a
// string. The app decodes the request with encoding/json, which matches keys
// case-insensitively and lets a later duplicate win; the gate takes only
// the exact keys, once each, so that what it checks is what the app reads.
func ledgerField(what string, keys ...string) func([]byte) (string, error) {
	return func(data []byte) (string, error) {
		fields, err := strictObject(data, keys)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		var ledger string
		raw, ok := fields["ledger"]
		if !ok {
			return "", fmt.Errorf("%s: no ledger", what)
		}
		if err := json.Unmarshal(raw, &ledger); err != nil {
			return "", fmt.Errorf("%s: ledger: want a string", what)
		}
		for k, v := range fields {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return "", fmt.Errorf("%s: %s: want a string", what, k)
			}
		}
		return ledger, nil
	}
}

// accountField reads the sub-ledger and the account of a JSON query
// request as ledgerField does (exact keys, once each, strings).
func accountField(what string, keys ...string) func([]byte) (string, string, error) {
	ledgerOf := ledgerField(what, keys...)
	return func(data []byte) (string, string, error) {
		ledger, err := ledgerOf(data)
		if err != nil {
			return "", "", err
		}
		fields, _ := strictObject(data, keys) // ledgerOf checked it
		var account string
		raw, ok := fields["account"]
		if !ok {
			return "", "", fmt.Errorf("%s: no account", what)
		}
		_ = json.Unmarshal(raw, &account) // a string: ledgerOf checked every value
		return ledger, account, nil
	}
}

// caller is the authenticated client of a request.
type caller struct {
	desc       string // for refusals
	org        string
	privileged bool // regulator or auditor: reads every sub-ledger
	committee  bool
	// audits lists the sub-ledgers of the caller's ledger-scoped auditor
	// grants (auditor:<ledger>, granted by governance only).
	audits []string
}

// gate enforces, when clients authenticate with certificates, who may read
// what. It is deny-by-default: it accepts exactly two request shapes,
// JSON-RPC as POST / (one call or a batch; see parseRequest) and, for
// regulators and auditors, GET /websocket, and it forwards the JSON-RPC
// body it re-encoded from what it checked, never the client's bytes.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := parseRequest(r)
		if err != nil {
			refuse(w, http.StatusBadRequest, nil, fmt.Errorf("request refused by the API gate: %w", err))
			return
		}
		who := &lazyCaller{s: s, r: r}
		if req.websocket {
			if err := who.require(privileged, "open /websocket", "event subscriptions carry every sub-ledger", ""); err != nil {
				refuse(w, http.StatusForbidden, nil, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		for _, c := range req.calls {
			if err := s.allowed(who, c); err != nil {
				refuse(w, http.StatusForbidden, req.calls, err)
				return
			}
		}
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = "/", "", ""
		r.Body = io.NopCloser(bytes.NewReader(req.body))
		r.ContentLength = int64(len(req.body))
		r.TransferEncoding = nil
		r.Header.Set("Content-Type", "application/json")
		r.Header.Del("Content-Encoding")
		r.Header.Del("Upgrade")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) allowed(who *lazyCaller, c rpcCall) error {
	mr := methodRules[c.method] // parseRequest admits only methods of the table
	if c.method != "abci_query" {
		return who.require(mr.access, "call "+c.method, mr.why, "")
	}
	path, data := c.queryPath(), c.queryData()
	qr, ok := queryRules[path]
	if !ok {
		return fmt.Errorf("abci_query path %q is not served by the API (known paths: %s)", path, strings.Join(sortedKeys(queryRules), ", "))
	}
	ledger := ""
	switch qr.access {
	case ledgerMember:
		var err error
		if ledger, err = qr.ledger(data); err != nil {
			return fmt.Errorf("abci_query %s: %w", path, err)
		}
	case accountOwner:
		ledger, account, err := qr.account(data)
		if err != nil {
			return fmt.Errorf("abci_query %s: %w", path, err)
		}
		return who.requireAccount(s.opts.Registry, "query "+path, ledger, account)
	}
	return who.require(qr.access, "query "+path, qr.why, ledger)
}

// requireAccount admits a caller to an account of a sub-ledger: a
// regulator or auditor of it, or a member of the sub-ledger whose own
// organisation the account (a registered identity) belongs to.
func (l *lazyCaller) requireAccount(reg Registry, what, ledger, account string) error {
	c, err := l.get()
	if err != nil {
		return err
	}
	if c.privileged || slices.Contains(c.audits, ledger) {
		return nil
	}
	if err := l.require(ledgerMember, what, "", ledger); err != nil {
		return err
	}
	addr, err := gmcrypto.ParseAddress(account)
	if err != nil {
		return fmt.Errorf("%s may not %s: account: %v", c.desc, what, err)
	}
	org, _, ok, err := reg.Identity(addr)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%s may not %s of account %s: it is no registered identity of %s (custody and escrow accounts: regulators and auditors)", c.desc, what, addr, c.org)
	case org != c.org:
		return fmt.Errorf("%s may not %s of account %s: it is an account of %s; members read their own organisation's accounts only", c.desc, what, addr, org)
	}
	return nil
}

// lazyCaller identifies the caller once, and only for calls that need it.
type lazyCaller struct {
	s    *Server
	r    *http.Request
	done bool
	c    caller
	err  error
}

func (l *lazyCaller) get() (caller, error) {
	if !l.done {
		l.c, l.err = l.s.caller(l.r)
		l.done = true
	}
	return l.c, l.err
}

func (l *lazyCaller) require(a access, what, why, ledger string) error {
	if a == anyClient {
		return nil
	}
	c, err := l.get()
	if err != nil {
		return err
	}
	switch a {
	case registered:
		return nil
	case privileged:
		if c.privileged {
			return nil
		}
		return fmt.Errorf("%s may not %s: %s, so only regulators and auditors may", c.desc, what, why)
	case governance:
		if c.privileged || c.committee {
			return nil
		}
		return fmt.Errorf("%s may not %s: %s, regulators and auditors", c.desc, what, why)
	case ledgerMember:
		if c.privileged {
			return nil
		}
		members, ok, err := l.s.opts.Registry.LedgerMembers(ledger)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s may not %s of sub-ledger %q: no such sub-ledger is registered", c.desc, what, ledger)
		}
		if !slices.Contains(members, c.org) && !slices.Contains(c.audits, ledger) {
			return fmt.Errorf("%s may not read sub-ledger %s: it is open to identities of %s, regulators and auditors", c.desc, ledger, strings.Join(members, ", "))
		}
		return nil
	}
	return fmt.Errorf("%s may not %s", c.desc, what)
}

func (s *Server) caller(r *http.Request) (caller, error) {
	if r.TLS != nil {
		return s.tlsCaller(r.TLS.VerifiedChains)
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
		c := caller{
			desc:       desc + " of " + org,
			org:        org,
			privileged: slices.ContainsFunc(roles, func(r string) bool { return r == "regulator" || r == "auditor" }),
			committee:  slices.Contains(roles, "committee"),
		}
		for _, r := range roles {
			if l, ok := strings.CutPrefix(r, "auditor:"); ok {
				c.audits = append(c.audits, l)
			}
		}
		return c, nil
	}
	return caller{}, fmt.Errorf("no client certificate")
}

// tlsCaller maps a TLS 1.3 client certificate to the organisation that
// registered, on chain, the root CA its verified chain ends in. The
// certificate's own subject O is a claim of whoever issued it: any CA of
// the client CA bundle can write any O, so it is only compared, never
// trusted. Standard TLS certificates name no SM2 identity, so such a
// caller has no roles.
func (s *Server) tlsCaller(chains [][]*x509.Certificate) (caller, error) {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return caller{}, fmt.Errorf("no verified client certificate")
	}
	leaf := chains[0][0]
	desc := fmt.Sprintf("certificate %s", leaf.Subject)
	var orgs []string
	for _, ch := range chains {
		org, ok, err := s.opts.Registry.OrgOfRootCA(ch[len(ch)-1].Raw)
		if err != nil {
			return caller{}, err
		}
		if ok && !slices.Contains(orgs, org) {
			orgs = append(orgs, org)
		}
	}
	switch {
	case len(orgs) == 0:
		return caller{}, fmt.Errorf("%s was issued under CA %s, which no organisation has registered on chain; reads need a registered organisation", desc, chains[0][len(chains[0])-1].Subject)
	case len(orgs) > 1:
		return caller{}, fmt.Errorf("%s chains to root CAs of several organisations (%s); refused", desc, strings.Join(orgs, ", "))
	}
	if claimed := leaf.Subject.Organization; len(claimed) > 0 && (len(claimed) > 1 || claimed[0] != orgs[0]) {
		return caller{}, fmt.Errorf("%s names organisation %q but was issued under the root CA of %s; refused", desc, strings.Join(claimed, ","), orgs[0])
	}
	return caller{desc: desc + " of " + orgs[0], org: orgs[0]}, nil
}

// refuse answers code with JSON-RPC error objects carrying the request ids,
// so that RPC clients print the reason.
func refuse(w http.ResponseWriter, code int, calls []rpcCall, err error) {
	type rpcErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	}
	type resp struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcErr          `json:"error"`
	}
	msg := "forbidden"
	if code == http.StatusBadRequest {
		msg = "invalid request"
	}
	one := func(id json.RawMessage) resp {
		if id == nil {
			id = json.RawMessage("null")
		}
		return resp{JSONRPC: "2.0", ID: id, Error: rpcErr{Code: -32600, Message: msg, Data: err.Error()}}
	}
	if len(calls) <= 1 {
		var id json.RawMessage
		if len(calls) == 1 {
			id = calls[0].id
		}
		writeJSON(w, code, one(id))
		return
	}
	out := make([]resp, len(calls))
	for i, c := range calls {
		out[i] = one(c.id)
	}
	writeJSON(w, code, out)
}

// strictQuery parses the query string of a typed endpoint strictly, so
// that what is authorized is what is served: every parameter one of known,
// given at most once and not empty. Values are the decoded ones.
func strictQuery(raw string, known []string) (url.Values, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query string: %w", err)
	}
	for _, k := range sortedKeys(vals) {
		switch {
		case !slices.Contains(known, k):
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(known, ", "))
		case len(vals[k]) != 1:
			return nil, fmt.Errorf("parameter %s given %d times", k, len(vals[k]))
		case vals[k][0] == "":
			return nil, fmt.Errorf("parameter %s is empty: leave it out", k)
		}
	}
	return vals, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

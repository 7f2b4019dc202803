package console

// Proof bundles downloaded from the explorer: a transaction's inclusion
// bundle and an account's balance bundle, built by the same code as
// `jinlian query tx|balance --prove` (proof.NodeSource) with the user's
// identity, so that the node's read gate decides, as for every read.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/proof"
)

// proofSource reads bundles from the console's node: its RPC (through the
// API's gate when the node is an API) and the QC from GET /v1/qc.
func (s *Server) proofSource() proof.Source {
	var get proof.GetJSON
	if s.apiHTTP != nil {
		get = func(ctx context.Context, path string, out any) error {
			return s.cfg.Node.Get(ctx, s.apiHTTP, path, out)
		}
	}
	return proof.NodeSource(s.rpc, get, 0)
}

// txProof downloads the inclusion bundle of a committed transaction (kind
// tx): the app says at which height its id was spent, then its block and
// results (raw blocks: the gate keeps them for regulators and auditors).
func (s *Server) txProof(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	id := strings.ToLower(r.PathValue("id"))
	back := url.Values{"tx": {id}}
	if !txIDPattern.MatchString(id) {
		s.proofFailed(w, r, back, badInput{fmt.Errorf("tx id %q: want 64 hex digits (the id a tx command prints)", id)})
		return
	}
	h, err := s.txHeight(ctx, id)
	if err != nil {
		s.proofFailed(w, r, back, err)
		return
	}
	b, err := s.proofSource().Tx(ctx, h, id)
	if err != nil {
		s.proofFailed(w, r, back, fmt.Errorf("prove tx %s: %w", id, err))
		return
	}
	s.sendBundle(w, b, fmt.Sprintf("tx-%s-%d.json", id[:16], b.Height))
}

// balanceProof downloads the state bundle of an account's balance of an
// asset at the latest height with a quorum certificate (kind state). The
// balance is read first, as the page reads it: the gate refuses it, and
// the bundle's state proof, to whoever is not a member of the sub-ledger.
func (s *Server) balanceProof(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	ledger, asset, account, back, err := accountProofQuery(r.URL.Query(), "a balance proof")
	if err != nil {
		s.proofFailed(w, r, back, err)
		return
	}
	bal, err := s.balance(ctx, ledger, asset, account)
	if err != nil {
		s.proofFailed(w, r, back, err)
		return
	}
	addr, _ := gmcrypto.ParseAddress(bal.Account)
	b, err := s.proofSource().Balances(ctx, 0, ledger, []string{asset}, addr)
	if err != nil {
		s.proofFailed(w, r, back, fmt.Errorf("prove the balance: %w", err))
		return
	}
	s.sendBundle(w, b, fmt.Sprintf("balance-%s-%s-%s-%d.json", ledger, asset, bal.Account[:8], b.Height))
}

// accountProofQuery reads the sub-ledger, asset and account a proof of an
// account is asked for, and the query of the page to go back to; what is
// missing or malformed is a badInput naming it.
func accountProofQuery(q url.Values, what string) (ledger, asset, account string, back url.Values, err error) {
	ledger, asset, account = q.Get("ledger"), q.Get("asset"), strings.TrimSpace(q.Get("account"))
	back = url.Values{"ledger": {ledger}, "asset": {asset}, "account": {account}}
	if ledger == "" || asset == "" {
		return "", "", "", back, badInput{fmt.Errorf("%s needs the sub-ledger, the asset and the account", what)}
	}
	if _, err := gmcrypto.ParseAddress(account); err != nil {
		return "", "", "", back, badInput{fmt.Errorf("account %q: %w", account, err)}
	}
	return ledger, asset, account, back, nil
}

// movementsProof downloads the completeness bundle of an account's
// movements of an asset at heights from..to (kind completeness), the file
// `jinlian query movements --prove` writes, by the same code
// (proof.Source.ListMovements) with the movements listed as the page's
// history lists them (api.Node.Movements with the user's identity). No
// to: the latest height with a quorum certificate; no from: the
// historySpan heights up to to. The balance is read first, as for a
// balance bundle, so a sub-ledger the gate does not open gets its refusal.
func (s *Server) movementsProof(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	q := r.URL.Query()
	ledger, asset, account, back, err := accountProofQuery(q, "a completeness proof")
	if err != nil {
		s.proofFailed(w, r, back, err)
		return
	}
	back.Set("from", q.Get("from"))
	back.Set("to", q.Get("to"))
	from, err := heightParam(q, "from")
	if err != nil {
		s.proofFailed(w, r, back, badInput{err})
		return
	}
	to, err := heightParam(q, "to")
	if err != nil {
		s.proofFailed(w, r, back, badInput{err})
		return
	}
	if from > 0 && to > 0 && to < from {
		s.proofFailed(w, r, back, badInput{fmt.Errorf("heights %d..%d: the first height (from) is above the last (to)", from, to)})
		return
	}
	bal, err := s.balance(ctx, ledger, asset, account)
	if err != nil {
		s.proofFailed(w, r, back, err)
		return
	}
	src := s.proofSource()
	latest, err := src.StateHeight(ctx)
	if err != nil {
		s.proofFailed(w, r, back, fmt.Errorf("the latest height with a quorum certificate: %w", err))
		return
	}
	switch {
	case to == 0:
		to = latest
	case to > latest:
		s.proofFailed(w, r, back, badInput{fmt.Errorf("to height %d: the latest height with a quorum certificate is %d", to, latest)})
		return
	}
	if from == 0 {
		from = max(1, to-historySpan+1)
	}
	list := func(ctx context.Context, acct movement.Account, from, to int64) ([]movement.Movement, error) {
		return s.cfg.Node.Movements(ctx, s.apiHTTP, acct, from, to)
	}
	acct := movement.Account{Ledger: ledger, Asset: asset, Address: bal.Account}
	res, err := src.ListMovements(ctx, acct, from, to, list, true)
	if br := (*proof.ErrRange)(nil); errors.As(err, &br) {
		err = badInput{fmt.Errorf("heights %d..%d: the first height (from) is above the latest with a quorum certificate", br.From, br.To)}
	}
	if err != nil {
		s.proofFailed(w, r, back, fmt.Errorf("prove the movements: %w", err))
		return
	}
	s.sendBundle(w, res.Bundle, fmt.Sprintf("movements-%s-%s-%s-%d-%d.json", ledger, asset, bal.Account[:8], res.FromHeight, res.ToHeight))
}

// heightParam reads an optional height of the query (0 when empty).
func heightParam(q url.Values, name string) (int64, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return 0, nil
	}
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 1 {
		return 0, fmt.Errorf("%s height %q: want a block height, 1 or more", name, v)
	}
	return h, nil
}

func (s *Server) sendBundle(w http.ResponseWriter, b *proof.Bundle, name string) {
	raw, err := b.Encode()
	if err != nil {
		http.Error(w, "console: encode the bundle: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	_, _ = w.Write(append(raw, '\n'))
}

// proofFailed shows the explorer page the link was on (back: its query)
// with why no bundle came: the node's refusal in the red box, no data.
// The status says it too, for a link fetched by a script: 400 for the
// console's own refusal of the input, 403 when the node's gate refused,
// 502 when the node failed otherwise.
func (s *Server) proofFailed(w http.ResponseWriter, r *http.Request, back url.Values, err error) {
	status := http.StatusBadGateway
	switch {
	case errors.As(err, new(badInput)):
		status = http.StatusBadRequest
	case refusedByGate(err):
		status = http.StatusForbidden
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = back.Encode()
	s.exploreStatus(w, r2, proofError{err}, status)
}

// proofError is explore's argument for a bundle that could not be built.
type proofError struct{ err error }

// badInput is a request the console refuses itself.
type badInput struct{ error }

var txIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// refusedByGate tells the API gate's refusal from a node that failed: an
// *api.Error of status 403 (the API's own endpoints), or the JSON-RPC
// error "forbidden" the gate answers RPC calls with (CometBFT's client
// keeps only its text).
func refusedByGate(err error) bool {
	if ae := (*api.Error)(nil); errors.As(err, &ae) {
		return ae.Status == http.StatusForbidden
	}
	return strings.Contains(err.Error(), "forbidden")
}

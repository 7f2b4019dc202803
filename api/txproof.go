package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// TxProofSource builds the proof bundle of transaction id in block height,
// its header chain starting at block from (0: the node's earliest), as a
// JSON-encodable value (package proof, on the node's own RPC). An error
// wrapping ErrNotYet says the height's quorum certificate is not committed
// yet.
type TxProofSource func(ctx context.Context, height, from int64, id string) (any, error)

var txIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// txProofParams are the query parameters of GET /v1/proofs/tx.
var txProofParams = []string{"id", "height", "from"}

// txProof serves GET /v1/proofs/tx?id=ID&height=H[&from=F]: the proof
// bundle (docs/proofs.md, kind tx) of a committed transaction. Members
// may read no raw block, so the node builds the bundle: it holds the
// transaction, its result and hashes only, no other transaction of the
// block. With the gate on, a member reads the bundle of a transaction
// its organisation sent or whose movements touch its accounts;
// regulators and auditors any. Refusals are logged as audit entries.
func (s *Server) txProof(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { writeJSON(w, code, map[string]string{"error": err.Error()}) }
	if s.opts.TxProof == nil || s.opts.Events == nil {
		fail(http.StatusNotFound, errors.New("this node serves no transaction proofs"))
		return
	}
	id, h, from, err := parseTxProofQuery(r.URL.RawQuery)
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/proofs/tx: %w", err))
		return
	}
	res, _, code, err := s.blockTx(h, id)
	if err != nil {
		fail(code, err)
		return
	}
	if _, code, err := s.authorizeTx(r, "api: transaction proof refused", "the proof of transaction", res, id); err != nil {
		fail(code, err)
		return
	}
	b, err := s.opts.TxProof(r.Context(), h, from, id)
	writeFromNode(w, b, err)
}

// parseTxProofQuery reads GET /v1/proofs/tx's query string strictly.
func parseTxProofQuery(raw string) (id string, height, from int64, err error) {
	vals, err := strictQuery(raw, txProofParams)
	if err != nil {
		return "", 0, 0, err
	}
	id = strings.ToLower(vals.Get("id"))
	if !txIDPattern.MatchString(id) {
		return "", 0, 0, fmt.Errorf("id %q: want a transaction id, 64 hex digits", vals.Get("id"))
	}
	if height, err = strconv.ParseInt(vals.Get("height"), 10, 64); err != nil || height < 1 {
		return "", 0, 0, fmt.Errorf("height %q: want a positive integer", vals.Get("height"))
	}
	if f := vals.Get("from"); f != "" {
		if from, err = strconv.ParseInt(f, 10, 64); err != nil || from < 1 || from > height {
			return "", 0, 0, fmt.Errorf("from %q: want a height from 1 to %d", f, height)
		}
	}
	return id, height, from, nil
}

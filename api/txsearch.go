package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// txsParams are the query parameters of GET /v1/txs.
var txsParams = []string{"memo", "page", "limit"}

// Pages of GET /v1/txs: limit= is 1..MaxTxsLimit, DefaultTxsLimit when
// absent.
const (
	DefaultTxsLimit = 20
	MaxTxsLimit     = 100
)

// maxMemoQuery bounds memo= of GET /v1/txs, in bytes.
const maxMemoQuery = 1024

// TxPage is GET /v1/txs's answer: the page of the transfers whose memo is
// Memo that the caller may read, newest first, each as GET /v1/tx
// answers it; Total counts them all.
type TxPage struct {
	Memo  string `json:"memo"`
	Total int    `json:"total"`
	Page  int    `json:"page"`
	Limit int    `json:"limit"`
	Txs   []*Tx  `json:"txs"`
}

// txsQuery is a parsed GET /v1/txs.
type txsQuery struct {
	memo        string
	page, limit int
}

// parseTxsQuery reads GET /v1/txs's query string strictly, as
// parseStatementQuery does: every parameter known, given at most once and
// not empty. The memo goes into a tx index query between single quotes,
// and CometBFT's query syntax has no escape, so a memo with a quote
// cannot be searched for: it is refused rather than let change the
// query's meaning.
func parseTxsQuery(raw string) (q txsQuery, err error) {
	vals, err := strictQuery(raw, txsParams)
	if err != nil {
		return q, err
	}
	q.memo, q.page, q.limit = vals.Get("memo"), 1, DefaultTxsLimit
	switch {
	case q.memo == "":
		return q, errors.New("memo is required: the exact memo of the transfers to find")
	case len(q.memo) > maxMemoQuery:
		return q, fmt.Errorf("memo of %d bytes: at most %d", len(q.memo), maxMemoQuery)
	case strings.ContainsRune(q.memo, '\''):
		return q, fmt.Errorf("memo %q: the tx index cannot be searched for a quote (') (CometBFT's query strings have no escape)", q.memo)
	}
	if p := vals.Get("page"); p != "" {
		if q.page, err = strconv.Atoi(p); err != nil || q.page < 1 {
			return q, fmt.Errorf("page %q: want a page number from 1", p)
		}
	}
	if l := vals.Get("limit"); l != "" {
		if q.limit, err = strconv.Atoi(l); err != nil || q.limit < 1 || q.limit > MaxTxsLimit {
			return q, fmt.Errorf("limit %q: want a number of transactions from 1 to %d", l, MaxTxsLimit)
		}
	}
	return q, nil
}

// txs serves GET /v1/txs?memo=M[&page=P&limit=L]: the transfers whose
// memo is exactly M, newest first, from the node's tx index (the memo
// attribute of transfer events, which only a full index keeps), each as
// GET /v1/tx answers it. With the gate on, a member finds those it may
// read by GET /v1/tx's rule (mayReadTx): the transfers its organisation
// sent or received; regulators and auditors every one. Refusals are
// logged as audit entries.
func (s *Server) txs(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { writeJSON(w, code, map[string]string{"error": err.Error()}) }
	if s.opts.Statements == nil {
		fail(http.StatusNotFound, errors.New("this node serves no transaction search"))
		return
	}
	q, err := parseTxsQuery(r.URL.RawQuery)
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/txs: %w", err))
		return
	}
	c := caller{privileged: true} // without the gate nobody is refused
	if s.gated() {
		if c, err = s.caller(r); err != nil {
			s.opts.Logger.Warn("api: transaction search refused", "caller", connectionInfo(r).Client, "memo", q.memo, "remote", r.RemoteAddr, "err", err)
			fail(http.StatusForbidden, err)
			return
		}
	}
	if s.opts.LeanIndex {
		fail(http.StatusNotFound, errors.New("this node's tx index is lean (events.index = lean, or auto on a validator): it keeps no memo; ask a node with events.index = full"))
		return
	}
	// One query, the memo alone: CometBFT's kv indexer matches the
	// conditions of a query within one event (tx.height aside), and the
	// sender's organisation is on the jinlian_tx event, not on the
	// transfer event that carries the memo, so "transfer.memo AND
	// jinlian_tx.org" matches nothing. The hits a member may not read
	// are dropped here, by GET /v1/tx's rule.
	found, err := s.opts.Statements.SearchTxs(r.Context(), "transfer.memo = '"+q.memo+"'")
	if err != nil {
		fail(http.StatusBadGateway, fmt.Errorf("tx index: %w", err))
		return
	}
	var hits []*abci.TxResult
	for _, t := range found {
		// What the index matched is checked again on the transaction
		// itself: its memo, and whether the caller may read it.
		if !hasTransferMemo(t, q.memo) {
			continue
		}
		if ok, err := c.mayReadTx(t); err != nil || !ok {
			continue
		}
		hits = append(hits, t)
	}
	slices.SortFunc(hits, func(a, b *abci.TxResult) int {
		return cmp.Or(cmp.Compare(b.Height, a.Height), cmp.Compare(b.Index, a.Index))
	})
	out := &TxPage{Memo: q.memo, Total: len(hits), Page: q.page, Limit: q.limit, Txs: []*Tx{}}
	from := min((q.page-1)*q.limit, len(hits))
	for _, t := range hits[from:min(from+q.limit, len(hits))] {
		at, err := s.opts.Statements.BlockTime(t.Height)
		if err != nil {
			at = time.Time{} // the block's time is a convenience; the transaction is what was asked
		}
		v := DecodeTx(t, at)
		if !c.privileged {
			v.ForMember(c.org)
		}
		out.Txs = append(out.Txs, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// hasTransferMemo says whether committed transaction r has a transfer
// event whose memo is exactly memo.
func hasTransferMemo(r *abci.TxResult, memo string) bool {
	for _, ev := range r.Result.Events {
		if ev.Type != wire.EventType(&txpb.EventTransfer{}) {
			continue
		}
		if m, ok, err := wire.ParseEvent(ev); ok && err == nil && m.(*txpb.EventTransfer).Memo == memo {
			return true
		}
	}
	return false
}

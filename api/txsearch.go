package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/recon"
)

// txsParams are the query parameters of GET /v1/txs.
var txsParams = []string{"memo", "page", "limit"}

// Pages of GET /v1/txs: limit= is 1..MaxTxsLimit, DefaultTxsLimit when
// absent.
const (
	DefaultTxsLimit = 20
	MaxTxsLimit     = 100
)

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
// not empty.
func parseTxsQuery(raw string) (q txsQuery, err error) {
	vals, err := strictQuery(raw, txsParams)
	if err != nil {
		return q, err
	}
	q.memo, q.page, q.limit = vals.Get("memo"), 1, DefaultTxsLimit
	switch {
	case q.memo == "":
		return q, errors.New("memo is required: the exact memo of the transfers to find")
	case len(q.memo) > recon.MaxMemoQuery:
		return q, fmt.Errorf("memo of %d bytes: at most %d", len(q.memo), recon.MaxMemoQuery)
	}
	if p := vals.Get("page"); p != "" {
		if q.page, err = strconv.Atoi(p); err != nil || q.page < 1 || q.page > math.MaxInt32 {
			return q, fmt.Errorf("page %q: want a page number from 1 to %d", p, math.MaxInt32)
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
// memo is exactly M, newest first, each as GET /v1/tx answers it: a page
// of the node's own memo index (MemoIndex) where it keeps one, else the
// tx index's search (the memo attribute of transfer events, which only a
// full index keeps). With the gate on, a member finds those it may
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
	org := "" // every transfer with the memo
	if !c.privileged {
		org = c.org
	}
	from := (q.page - 1) * q.limit
	var page []*abci.TxResult
	total, indexed := 0, false
	if mi, ok := s.opts.Statements.(MemoIndex); ok {
		if page, total, indexed, err = mi.MemoTxs(r.Context(), org, q.memo, from, q.limit); err != nil {
			fail(http.StatusBadGateway, fmt.Errorf("memo index: %w", err))
			return
		}
	}
	if !indexed { // no memo index, or it is catching up
		if s.opts.LeanIndex {
			fail(http.StatusNotFound, errors.New("this node's tx index is lean or off (events.index = lean or none, or auto on a validator): it keeps no memo, and the node's own memo index (recon.movement_index with api.listen) is off or catching up; ask again shortly, or a node with events.index = full"))
			return
		}
		if strings.ContainsRune(q.memo, '\'') {
			// The memo goes into a tx index query between single quotes,
			// and CometBFT's query syntax has no escape: refused rather
			// than let change the query's meaning.
			fail(http.StatusBadRequest, fmt.Errorf("GET /v1/txs: memo %q: the tx index cannot be searched for a quote (') (CometBFT's query strings have no escape), and this node keeps no memo index (or it is catching up)", q.memo))
			return
		}
		if page, total, err = s.searchMemo(r, c, q.memo, from, q.limit); err != nil {
			fail(http.StatusBadGateway, fmt.Errorf("tx index: %w", err))
			return
		}
	}
	out := &TxPage{Memo: q.memo, Total: total, Page: q.page, Limit: q.limit, Txs: []*Tx{}}
	for _, t := range page {
		// What the memo index named is checked on the transaction itself
		// (searchMemo checked the tx index's hits already).
		if indexed {
			if why := c.memoHitRefused(t, q.memo); why != "" {
				s.opts.Logger.Error("api: a memo search found "+why, "tx_height", t.Height, "tx_index", t.Index, "memo", q.memo, "caller", c.desc)
				continue
			}
		}
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

// MemoIndex is a node's own index of transfers by memo (the node keeps
// one beside its movement index: consensus.Node.Statements). Where
// Options.Statements implements it, GET /v1/txs reads a page of it;
// otherwise, or while it cannot answer (ok false: it is catching up), the
// tx index's search, which reads every match.
type MemoIndex interface {
	// MemoTxs returns the page of at most limit after the first skip of
	// the committed transactions with a transfer whose memo is memo that
	// org may read (every one for org ""), newest first, and how many
	// there are.
	MemoTxs(ctx context.Context, org, memo string, skip, limit int) (page []*abci.TxResult, total int, ok bool, err error)
}

// searchMemo finds the transfers with memo that c may read in the node's
// tx index, newest first: the page of at most limit after the first skip,
// and how many there are. One query, the memo alone: CometBFT's kv indexer
// matches the conditions of a query within one event (tx.height aside),
// and the sender's organisation is on the jinlian_tx event, not on the
// transfer event that carries the memo, so "transfer.memo AND
// jinlian_tx.org" matches nothing. The hits a member may not read are
// dropped here, by GET /v1/tx's rule.
func (s *Server) searchMemo(r *http.Request, c caller, memo string, skip, limit int) ([]*abci.TxResult, int, error) {
	found, err := s.opts.Statements.SearchTxs(r.Context(), "transfer.memo = '"+memo+"'")
	if err != nil {
		return nil, 0, err
	}
	var hits []*abci.TxResult
	for _, t := range found {
		// What the index matched is checked on the transaction itself.
		if c.memoHitRefused(t, memo) == "" {
			hits = append(hits, t)
		}
	}
	slices.SortFunc(hits, func(a, b *abci.TxResult) int {
		return cmp.Or(cmp.Compare(b.Height, a.Height), cmp.Compare(b.Index, a.Index))
	})
	from := min(skip, len(hits))
	return hits[from:min(from+limit, len(hits))], len(hits), nil
}

// memoHitRefused says why committed transaction r, which an index found
// for memo, is not shown to c: it has no transfer with that memo, or c may
// not read it (GET /v1/tx's rule); "" when it is shown.
func (c caller) memoHitRefused(r *abci.TxResult, memo string) string {
	if memos, _, err := recon.TxMemos(r); err != nil || !slices.Contains(memos, memo) {
		return "a transaction without the memo"
	}
	if ok, err := c.mayReadTx(r); err != nil || !ok {
		return "a transaction the caller may not read"
	}
	return ""
}

package console

// The explorer: a transaction by id, decoded; an account's balance.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/wire"
)

type field struct{ K, V string }

type balanceView struct {
	Ledger, Asset, Account string
	Amount                 string
	Height                 int64
}

type blockRow struct {
	Height     int64
	Time, Hash string
	Txs        int
	Proposer   string
}

type explorerData struct {
	// CanDecrypt: the transaction carries a confidential payload and an
	// observer is configured (regulator mode) to open it.
	CanDecrypt               bool
	Decrypted                *decryption
	TxQuery                  string
	Tx                       *api.Tx
	Ledger, Asset, Account   string
	Balance                  *balanceView
	TxRefused, BalanceRefuse string
	// Memo search (?memo=, ?page=): transfers whose memo is exactly
	// Memo, memoPerPage a page, newest first: through a node's API those
	// the user's organisation sent or received (GET /v1/txs; a
	// regulator's or auditor's: all), from a plain RPC's tx index all.
	// MemoMore: MemoTotal is a lower bound (a plain RPC's search stops
	// once it holds the page and one after it).
	// MemoLean: the search read a plain RPC's index, which finds nothing
	// when the node indexes lean (the API says so itself).
	Memo        string
	MemoLean    bool
	MemoMore    bool
	MemoHits    []memoHit
	MemoTotal   int
	MemoPage    int
	MemoNext    template.URL
	MemoPrev    template.URL
	MemoRefused string
	// History is the account's movements of the asset at heights
	// HistoryFrom..HistoryTo, newest first; Earlier pages back.
	History        []movement.Movement
	HistoryFrom    int64
	HistoryTo      int64
	Earlier        template.URL
	HistoryRefused string
	// LiveHistory, on the newest page, is where console.js asks for the
	// movements committed after HistoryTo (historyAfter).
	LiveHistory template.URL
	// ProofFrom, ProofTo fill the completeness download's height range
	// (empty: the last historySpan heights up to the latest with a
	// quorum certificate).
	ProofFrom, ProofTo string
}

// historySpan is how many heights a page of an account's history covers
// at most; historyRows how many movements it aims at (history).
const (
	historySpan = 500
	historyRows = 100
)

type decryption struct {
	Reader, Plaintext, Base64 string
}

func (s *Server) explorer(w http.ResponseWriter, r *http.Request) {
	s.explore(w, r, nil)
}

// decrypt asks the observer to open a transaction's confidential payload
// with the regulator's escrow key (POST with the CSRF token: the observer
// audits every decryption in the user's name), and shows it under the
// transaction.
func (s *Server) decrypt(w http.ResponseWriter, r *http.Request) {
	if s.reg == nil {
		http.Error(w, tr(s.cfg.Lang, "no_observer"), http.StatusBadRequest)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	id := strings.TrimSpace(r.PostFormValue("tx"))
	out, err := s.reg.Decrypt(ctx, id)
	if err != nil {
		s.explore(w, r, err)
		return
	}
	s.explore(w, r, &decryption{Reader: out.Reader, Plaintext: out.Plaintext, Base64: out.PlaintextBase64})
}

// explore renders the explorer for the form values of r; dec is a
// decryption to show (a *decryption) or why it failed (an error).
func (s *Server) explore(w http.ResponseWriter, r *http.Request, dec any) {
	s.exploreStatus(w, r, dec, http.StatusOK)
}

// exploreStatus is explore answering with status; dec may also be a
// proofError, a bundle download that failed.
func (s *Server) exploreStatus(w http.ResponseWriter, r *http.Request, dec any, status int) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("explorer")
	v.Status = status
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = url.Values{"tx": {r.PostFormValue("tx")}}
	}
	d := &explorerData{TxQuery: strings.TrimSpace(q.Get("tx")), Ledger: q.Get("ledger"), Asset: q.Get("asset"), Account: strings.TrimSpace(q.Get("account"))}
	d.ProofFrom, d.ProofTo = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if d.Ledger == "" {
		d.Ledger = "payments"
	}
	if d.Asset == "" {
		d.Asset = "CNY"
	}
	v.Data = d
	if d.TxQuery != "" {
		tx, err := s.lookupTx(ctx, d.TxQuery)
		if err != nil {
			d.TxRefused = err.Error()
		}
		d.Tx = tx
		if tx != nil && s.reg != nil {
			for _, f := range tx.Fields {
				d.CanDecrypt = d.CanDecrypt || f.Name == "confidential"
			}
		}
	}
	if d.Memo = strings.TrimSpace(q.Get("memo")); d.Memo != "" {
		if err := s.searchMemo(ctx, d, q.Get("page")); err != nil {
			d.MemoRefused = err.Error()
		}
	}
	switch dec := dec.(type) {
	case *decryption:
		d.Decrypted = dec
	case error:
		v.fail(tr(s.cfg.Lang, "decrypt"), dec)
	case proofError:
		v.fail(tr(s.cfg.Lang, "download_proof"), dec.err)
	}
	if d.Account != "" {
		b, err := s.balance(ctx, d.Ledger, d.Asset, d.Account)
		if err != nil {
			d.BalanceRefuse = err.Error()
		}
		d.Balance = b
		if b != nil {
			if err := s.history(ctx, d, b, q.Get("before")); err != nil {
				d.HistoryRefused = err.Error()
			}
		}
	}
	s.render(w, v)
}

// history reads a page of the account's movements, newest first: heights
// back from before (default: the balance's height) in steps that double
// (1, 2, 4, … heights) until the page holds historyRows movements or
// covers historySpan heights. On a busy chain a page reads a block or
// two, not historySpan of them: a member's node gives movements only
// through its event feed, every movement of the ledger at those heights
// (with 1M transactions of history, 500 heights were some 500,000 of them
// and the page took tens of seconds).
func (s *Server) history(ctx context.Context, d *explorerData, b *balanceView, before string) error {
	to := b.Height
	if before != "" {
		h, err := strconv.ParseInt(before, 10, 64)
		if err != nil || h < 1 {
			return fmt.Errorf("before %q: want a height", before)
		}
		to = min(h, to)
	}
	acct := movement.Account{Ledger: b.Ledger, Asset: b.Asset, Address: b.Account}
	floor := max(1, to-historySpan+1)
	from := to + 1 // the lowest height read so far
	var ms []movement.Movement
	for step := int64(1); from > floor && len(ms) < historyRows; step *= 2 {
		lo := max(floor, from-step)
		part, err := s.cfg.Node.Movements(ctx, s.apiHTTP, acct, lo, from-1)
		if err != nil {
			return err
		}
		ms = append(part, ms...)
		from = lo
	}
	slices.Reverse(ms)
	d.History, d.HistoryFrom, d.HistoryTo = ms, from, to
	if before == "" {
		d.LiveHistory = template.URL("/explorer/history?" + url.Values{"ledger": {b.Ledger}, "asset": {b.Asset}, "account": {b.Account}}.Encode())
	}
	if from > 1 {
		// template.URL: the query is built here, escaped once (the
		// template would escape it again as one query value).
		d.Earlier = template.URL("/explorer?" + url.Values{"ledger": {b.Ledger}, "asset": {b.Asset}, "account": {b.Account}, "before": {strconv.FormatInt(from-1, 10)}}.Encode())
	}
	return nil
}

// historyNew is what historyAfter answers: the history's rows after a
// height, newest first, as the page's table has them, the height they
// were read up to and the balance there.
type historyNew struct {
	Rows    string `json:"rows"`
	To      int64  `json:"to"`
	Balance string `json:"balance"`
}

// historyAfter serves /explorer/history?ledger=&asset=&account=&after=H:
// the account's movements at heights after H up to the latest, for the
// newest page of its history, which adds them as they commit
// (console.js). It reads the balance first, as the page does, so a
// sub-ledger the node does not open to the caller gets its refusal; and
// it reads at most historySpan heights (a page left open across a longer
// break is told to reload: HTTP 409).
func (s *Server) historyAfter(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	q := r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil || after < 0 {
		http.Error(w, fmt.Sprintf("after %q: want a height", q.Get("after")), http.StatusBadRequest)
		return
	}
	b, err := s.balance(ctx, q.Get("ledger"), q.Get("asset"), q.Get("account"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out := historyNew{To: max(after, b.Height), Balance: b.Amount}
	if b.Height > after {
		if b.Height-after > historySpan {
			http.Error(w, fmt.Sprintf("%d heights since the page was read: reload it", b.Height-after), http.StatusConflict)
			return
		}
		ms, err := s.cfg.Node.Movements(ctx, s.apiHTTP, movement.Account{Ledger: b.Ledger, Asset: b.Asset, Address: b.Account}, after+1, b.Height)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		slices.Reverse(ms)
		var rows bytes.Buffer
		if err := s.pages.t["explorer"].ExecuteTemplate(&rows, "historyrows", ms); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.Rows = rows.String()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) balance(ctx context.Context, ledger, asset, account string) (*balanceView, error) {
	a, err := gmcrypto.ParseAddress(account)
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", account, err)
	}
	req, _ := json.Marshal(map[string]string{"ledger": ledger, "asset": asset, "account": a.String()})
	var out struct {
		Amount string `json:"amount"`
		Height int64  `json:"height"`
	}
	if err := s.query(ctx, queryBalance, req, &out); err != nil {
		return nil, err
	}
	return &balanceView{Ledger: ledger, Asset: asset, Account: a.String(), Amount: out.Amount, Height: out.Height}, nil
}

// lookupTx finds a committed transaction, decoded. Through a node's API
// the node reads it (GET /v1/tx): a member's own organisation's
// transactions (those it sent or whose movements touch its accounts,
// without their events), a regulator's or auditor's any. From a plain
// RPC the app says at which height its id was spent, and the transaction
// and its result come from the node's tx index, else (a node without one,
// a failed transaction) from its block.
func (s *Server) lookupTx(ctx context.Context, id string) (*api.Tx, error) {
	id = strings.ToLower(id)
	if !txIDPattern.MatchString(id) {
		return nil, fmt.Errorf("tx id %q: want 64 hex digits (the id a tx command prints)", id)
	}
	if s.nodeAPI() {
		return s.cfg.Node.Tx(ctx, s.apiHTTP, id)
	}
	h, err := s.txHeight(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := s.rpc.TxSearch(ctx, fmt.Sprintf("jinlian_tx.id='%s'", id), false, nil, nil, "asc")
	if err != nil && !api.NoTxIndex(err) {
		return &api.Tx{ID: id, Height: h}, fmt.Errorf("tx %s was committed at height %d; its content: %w", id, h, err)
	}
	if err != nil || len(res.Txs) == 0 { // no tx index (ADR 0028), or a failed transaction
		return s.txFromBlock(ctx, id, h)
	}
	t := res.Txs[0]
	return api.DecodeTx(&abci.TxResult{Height: t.Height, Index: t.Index, Tx: t.Tx, Result: t.TxResult}, time.Time{}), nil
}

// memoPerPage is how many transfers a page of a memo search lists.
const memoPerPage = 20

type memoHit struct {
	Height        int64
	ID, Org, Memo string
	Code          uint32
}

// searchMemo finds the transfers whose memo is d.Memo: through a node's
// API those the node lets the user read (GET /v1/txs), from a plain
// RPC's tx index all (the memo attribute of transfer events; a node with
// a lean index keeps none).
func (s *Server) searchMemo(ctx context.Context, d *explorerData, page string) error {
	d.MemoPage = 1
	if page != "" {
		p, err := strconv.Atoi(page)
		if err != nil || p < 1 {
			return fmt.Errorf("page %q: want a positive number", page)
		}
		d.MemoPage = p
	}
	per := memoPerPage
	if s.nodeAPI() {
		p, err := s.cfg.Node.TxsByMemo(ctx, s.apiHTTP, d.Memo, d.MemoPage, per)
		if err != nil {
			return err
		}
		d.MemoTotal = p.Total
		for _, t := range p.Txs {
			d.MemoHits = append(d.MemoHits, memoHit{Height: t.Height, ID: t.ID, Org: t.Org, Memo: d.Memo, Code: t.Result.Code})
		}
	} else {
		if strings.ContainsAny(d.Memo, "'\\") {
			return fmt.Errorf("memo %q: the node's tx index cannot be searched for a quote or a backslash", d.Memo)
		}
		if err := s.searchMemoRPC(ctx, d, per); err != nil {
			return err
		}
	}
	// template.URL: the query is built here, escaped once.
	link := func(p int) template.URL {
		return template.URL("/explorer?" + url.Values{"memo": {d.Memo}, "page": {strconv.Itoa(p)}}.Encode())
	}
	if d.MemoPage*per < d.MemoTotal {
		d.MemoNext = link(d.MemoPage + 1)
	}
	if d.MemoPage > 1 {
		d.MemoPrev = link(d.MemoPage - 1)
	}
	return nil
}

// rpcMemoWindow is how many of the newest heights a memo search over a
// plain RPC asks for first; each window after it, older, is twice as
// many.
const rpcMemoWindow = 64

// searchMemoRPC finds page d.MemoPage of the transfers with memo d.Memo in
// a plain RPC's tx index, newest first. CometBFT's tx_search reads every
// match of its query before it answers a page, so the search asks for
// windows of heights, newest first and doubling, and stops once it holds
// the page and knows whether another follows: a memo that thousands of
// transfers carry costs the matches of the newest heights, not all of
// them. d.MemoTotal is then a lower bound (d.MemoMore); a search that
// reached the oldest height counted every match.
func (s *Server) searchMemoRPC(ctx context.Context, d *explorerData, per int) error {
	st, err := s.rpc.Status(ctx)
	if err != nil {
		return err
	}
	base, top := max(st.SyncInfo.EarliestBlockHeight, 1), st.SyncInfo.LatestBlockHeight
	skip := (d.MemoPage - 1) * per
	seen := 0 // matches in the windows asked so far
	d.MemoLean = true
	for hi, w := top, int64(rpcMemoWindow); hi >= base; hi, w = hi-w, 2*w {
		if seen > skip+per { // the page, and one after it
			d.MemoMore = true
			break
		}
		q := fmt.Sprintf("transfer.memo='%s' AND tx.height >= %d AND tx.height <= %d", d.Memo, max(hi-w+1, base), hi)
		// Page 1 counts the window; the pages that hold the wanted rows
		// are read (CometBFT refuses a page past the end).
		total := -1
		for page := 1; total < 0 || (page-1)*rpcPage < min(total, skip+per-seen); page++ {
			if page == 2 && skip > seen { // to the page that holds row skip
				if page = max(page, (skip-seen)/rpcPage+1); (page-1)*rpcPage >= total {
					break
				}
			}
			p, pp := page, rpcPage
			res, err := s.rpc.TxSearch(ctx, q, false, &p, &pp, "desc")
			if err != nil {
				return err
			}
			total = res.TotalCount
			for i, t := range res.Txs {
				if k := seen + (page-1)*rpcPage + i; k >= skip && k < skip+per {
					h := memoHit{Height: t.Height, Code: t.TxResult.Code, Memo: d.Memo}
					if tx, err := wire.DecodeTx(t.Tx); err == nil {
						h.ID, h.Org = wire.TxIDOf(tx), tx.MSPID
					}
					d.MemoHits = append(d.MemoHits, h)
				}
			}
		}
		seen += total
	}
	d.MemoTotal = seen
	return nil
}

// txHeight asks the app at which height the transaction id was committed
// (its id spent).
func (s *Server) txHeight(ctx context.Context, id string) (int64, error) {
	if b, err := hex.DecodeString(id); err != nil || len(b) != 32 {
		return 0, fmt.Errorf("tx id %q: want 64 hex digits (the id a tx command prints)", id)
	}
	var loc struct {
		Height int64 `json:"height"`
	}
	if err := s.query(ctx, queryTx, []byte(id), &loc); err != nil {
		return 0, err
	}
	return loc.Height, nil
}

// txFromBlock reads a transaction that the tx index lacks (a failed one
// carries no jinlian_tx event) from its block and results.
func (s *Server) txFromBlock(ctx context.Context, id string, h int64) (*api.Tx, error) {
	blk, err := s.rpc.Block(ctx, &h)
	if err != nil {
		return &api.Tx{ID: id, Height: h}, fmt.Errorf("tx %s was committed at height %d; its block: %w", id, h, err)
	}
	res, err := s.rpc.BlockResults(ctx, &h)
	if err != nil {
		return &api.Tx{ID: id, Height: h}, fmt.Errorf("tx %s was committed at height %d; its result: %w", id, h, err)
	}
	for i, raw := range blk.Block.Txs {
		if t, err := wire.DecodeTx(raw); err == nil && wire.TxIDOf(t) == id && i < len(res.TxsResults) {
			return api.DecodeTx(&abci.TxResult{Height: h, Index: uint32(i), Tx: raw, Result: *res.TxsResults[i]}, blk.Block.Time), nil
		}
	}
	return nil, fmt.Errorf("tx %s: block %d holds no such transaction", id, h)
}

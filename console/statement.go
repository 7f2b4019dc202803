package console

// The statement page and its CSV.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/recon"
)

// statementRows is how many rows the statement page shows at a time;
// keptStatements how many statements of days that are over the console
// keeps (a day of 100,000 movements is some 40 MB).
const (
	statementRows  = 500
	keptStatements = 4
)

type statementData struct {
	Req     recon.Request
	St      *recon.Statement
	CSVHref template.URL // the download link, its query already encoded
	// Rows are the page's rows, First the number of its first (from 1),
	// Total the statement's, Prev and Next the queries of the pages around
	// it ("" at an end). St.Rows may hold the page only.
	Rows        []recon.Row
	Total       int
	First, Last int
	Prev, Next  template.URL
	// Live: the day is not over and the node has an API: new movements
	// stream in (live.go) from LiveSince on.
	Live      bool
	LiveSince int64
}

func statementRequest(q url.Values) recon.Request {
	return recon.Request{Org: strings.TrimSpace(q.Get("org")), Date: strings.TrimSpace(q.Get("date")), Account: strings.TrimSpace(q.Get("account")),
		Asset: strings.TrimSpace(q.Get("asset")), Ledger: strings.TrimSpace(q.Get("ledger"))}
}

func (s *Server) fetchStatement(ctx context.Context, req recon.Request) (*recon.Statement, error) {
	if req.Org == "" {
		// Without mutual TLS the API needs org=; the caller's own is
		// what a member may read anyway.
		req.Org = s.cfg.Org
	}
	key := statementKey(req)
	if st, ok := s.statements.get(key); ok && req.Date != "" {
		return st, nil
	}
	st, err := s.buildStatement(ctx, req)
	if err == nil && st.Day.Complete && req.Date != "" {
		s.statements.put(key, st) // a day that is over no longer changes
	}
	return st, err
}

func statementKey(req recon.Request) string {
	return strings.Join([]string{req.Org, req.Date, req.Account, req.Asset, req.Ledger}, "\x00")
}

// headerFirst sets the response's headers at its first write, so that an
// error before any byte can still be answered as an error.
type headerFirst struct {
	w     http.ResponseWriter
	set   func(http.Header)
	wrote bool
}

func (h *headerFirst) Write(p []byte) (int, error) {
	if !h.wrote {
		h.wrote = true
		h.set(h.w.Header())
	}
	return h.w.Write(p)
}

func (s *Server) buildStatement(ctx context.Context, req recon.Request) (*recon.Statement, error) {
	if !s.nodeAPI() {
		// A node's plain RPC (tcp://): no API to ask, so build the
		// statement here from its headers and tx index, as the API would.
		chain := rpcChain{ctx: ctx, c: s.rpc}
		if req.Date == "" {
			d, err := recon.Today(chain, s.cfg.TimeZone)
			if err != nil {
				return nil, err
			}
			req.Date = d
		}
		return recon.Build(ctx, chain, s.cfg.TimeZone, req)
	}
	return s.cfg.Node.Statement(ctx, s.apiHTTP, req)
}

func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("statement")
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	q.Del("page")
	d := &statementData{Req: statementRequest(q)}
	d.CSVHref = template.URL("/statement.csv?" + q.Encode())
	v.Data = d
	// Pages of statementRows; without ?page, the last (the newest). A
	// node's API answers the page alone (it keeps the day's statement and
	// extends it as blocks commit); from a plain RPC the console builds
	// the day and pages it.
	offset := -1
	if page >= 1 {
		offset = (page - 1) * statementRows
	}
	var p *api.StatementPage
	var err error
	if s.nodeAPI() {
		req := d.Req
		if req.Org == "" {
			req.Org = s.cfg.Org
		}
		p, err = s.cfg.Node.StatementPage(ctx, s.apiHTTP, req, offset, statementRows)
		if err == nil && len(p.Rows) == 0 && p.RowsTotal > 0 { // a page past the end: the last
			p, err = s.cfg.Node.StatementPage(ctx, s.apiHTTP, req, -1, statementRows)
		}
	} else {
		var whole *recon.Statement
		if whole, err = s.fetchStatement(ctx, d.Req); err == nil {
			if offset >= len(whole.Rows) {
				offset = -1 // a page past the end: the last
			}
			p = api.NewStatementPage(whole, offset, statementRows)
		}
	}
	var st *recon.Statement
	if p != nil {
		st, d.Rows, d.Total, offset = &p.Statement, p.Rows, p.RowsTotal, p.Offset
	}
	v.fail(tr(s.cfg.Lang, "nav.statement"), err)
	d.St = st
	if st != nil && d.Req.Date == "" {
		// The download names the day the node chose: the latest block's.
		cq := url.Values{}
		for k, vs := range q {
			cq[k] = vs
		}
		cq.Set("date", st.Day.Date)
		d.CSVHref = template.URL("/statement.csv?" + cq.Encode())
	}
	last := true
	if st != nil {
		pages := max((d.Total+statementRows-1)/statementRows, 1)
		page = offset/statementRows + 1
		d.First, d.Last = offset+1, offset+len(d.Rows)
		at := func(p int) template.URL {
			q.Set("page", strconv.Itoa(p))
			return template.URL("/statement?" + q.Encode())
		}
		if page > 1 {
			d.Prev = at(page - 1)
		}
		if page < pages {
			d.Next, last = at(page+1), false
		}
	}
	if st != nil && !st.Day.Complete && s.apiHTTP != nil && last {
		d.Live, d.LiveSince = true, st.Day.AsOfHeight+1 // new rows come after the last page's
	}
	if st != nil && d.Req.Date == "" {
		d.Req.Date = st.Day.Date // the day the node chose: the latest block's
	}
	s.render(w, v)
}

// nodeAPI says whether the console's node is a jinlian API (http or
// https), not a plain CometBFT RPC.
func (s *Server) nodeAPI() bool { return s.cfg.Node.IsAPI() }

func (s *Server) statementCSV(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	req := statementRequest(r.URL.Query())
	if req.Org == "" {
		req.Org = s.cfg.Org
	}
	name := func(org, date string) string {
		return fmt.Sprintf("attachment; filename=%q", org+"-"+strings.ReplaceAll(date, "-", "")+".csv")
	}
	if _, cached := s.statements.get(statementKey(req)); !cached && req.Date != "" && s.nodeAPI() {
		// The node writes the CSV (GET /v1/statement?format=csv): the
		// console passes it on without decoding a statement.
		out := &headerFirst{w: w, set: func(h http.Header) {
			h.Set("Content-Type", "text/csv; charset=utf-8")
			h.Set("Content-Disposition", name(req.Org, req.Date))
		}}
		err := s.cfg.Node.StatementCSV(ctx, s.apiHTTP, req, out)
		switch {
		case err != nil && !out.wrote:
			http.Error(w, err.Error(), http.StatusBadGateway)
		case err != nil:
			s.log.Error("console: statement csv", "err", err)
		}
		return
	}
	st, err := s.fetchStatement(ctx, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", name(st.Org, st.Day.Date))
	if err := st.WriteCSV(w); err != nil {
		s.log.Error("console: statement csv", "err", err)
	}
}

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
	// Prev and Next the queries of the pages around it ("" at an end).
	Rows        []recon.Row
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
	if !strings.HasPrefix(s.cfg.Node.Addr, "https://") && !strings.HasPrefix(s.cfg.Node.Addr, "http://") {
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
	st, err := s.fetchStatement(ctx, d.Req)
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
		// Pages of statementRows; without ?page, the last (the newest).
		pages := max((len(st.Rows)+statementRows-1)/statementRows, 1)
		if page < 1 || page > pages {
			page = pages
		}
		from := (page - 1) * statementRows
		d.Rows = st.Rows[from:min(from+statementRows, len(st.Rows))]
		d.First, d.Last = from+1, from+len(d.Rows)
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
	if _, cached := s.statements.get(statementKey(req)); !cached && req.Date != "" && s.apiHTTP != nil {
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

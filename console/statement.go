package console

// The statement page and its CSV.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/jinlian-ledger/jinlian/recon"
)

type statementData struct {
	Req      recon.Request
	St       *recon.Statement
	CSVQuery string
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
	d := &statementData{Req: statementRequest(r.URL.Query())}
	d.CSVQuery = r.URL.Query().Encode()
	v.Data = d
	st, err := s.fetchStatement(ctx, d.Req)
	v.fail(tr(s.cfg.Lang, "nav.statement"), err)
	d.St = st
	if st != nil && !st.Day.Complete && s.apiHTTP != nil {
		d.Live, d.LiveSince = true, st.Day.AsOfHeight+1
	}
	if st != nil && d.Req.Date == "" {
		d.Req.Date = st.Day.Date // the day the node chose: the latest block's
	}
	s.render(w, v)
}

func (s *Server) statementCSV(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	st, err := s.fetchStatement(ctx, statementRequest(r.URL.Query()))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", st.Org+"-"+strings.ReplaceAll(st.Day.Date, "-", "")+".csv"))
	if err := st.WriteCSV(w); err != nil {
		s.log.Error("console: statement csv", "err", err)
	}
}

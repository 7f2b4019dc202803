package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/jinlian-ledger/jinlian/recon"
)

// statementParams are the query parameters of GET /v1/statement.
var statementParams = []string{"org", "date", "account", "asset", "ledger", "format", "offset", "limit"}

// maxStatementPage bounds limit= of GET /v1/statement.
const maxStatementPage = 10_000

// statementQuery is a parsed GET /v1/statement.
type statementQuery struct {
	req    recon.Request
	format string // json or csv
	// limit > 0 asks for a page (StatementPage): limit rows from offset,
	// or the last page when offset is −1 (offset=last).
	offset, limit int
}

// parseStatementQuery reads GET /v1/statement's query string strictly, so
// that what is authorized is what is served: every parameter known, given
// at most once and not empty. Values are the decoded ones (org=bank%41 is
// org=bankA), checked by recon.Request.Check before any use. format is
// "json" (the default) or "csv"; offset and limit page the JSON.
func parseStatementQuery(raw string) (q statementQuery, err error) {
	vals, err := strictQuery(raw, statementParams)
	if err != nil {
		return q, err
	}
	q.format = "json"
	var offset, limit string
	dst := map[string]*string{"org": &q.req.Org, "date": &q.req.Date, "account": &q.req.Account, "asset": &q.req.Asset, "ledger": &q.req.Ledger,
		"format": &q.format, "offset": &offset, "limit": &limit}
	for _, k := range sortedKeys(vals) {
		*dst[k] = vals[k][0]
	}
	if q.format != "json" && q.format != "csv" {
		return q, fmt.Errorf("format %q: want json or csv", q.format)
	}
	if limit != "" {
		if q.limit, err = strconv.Atoi(limit); err != nil || q.limit < 1 || q.limit > maxStatementPage {
			return q, fmt.Errorf("limit %q: want a number of rows from 1 to %d", limit, maxStatementPage)
		}
		if q.format == "csv" {
			return q, errors.New("limit pages the JSON form; the CSV is the whole statement")
		}
	}
	switch {
	case offset == "":
	case limit == "":
		return q, errors.New("offset needs limit (a page of limit rows)")
	case offset == "last":
		q.offset = -1
	default:
		if q.offset, err = strconv.Atoi(offset); err != nil || q.offset < 0 {
			return q, fmt.Errorf("offset %q: want a row number from 0, or last", offset)
		}
	}
	return q, nil
}

// StatementPage is a page of a statement (GET /v1/statement with limit=):
// Rows are its rows Offset to Offset+len(Rows)−1 of RowsTotal, Totals
// cover all of them.
type StatementPage struct {
	recon.Statement
	RowsTotal int `json:"rows_total"`
	Offset    int `json:"offset"`
}

// NewStatementPage cuts st to the page of limit rows from offset, or the
// last page with offset −1: what GET /v1/statement?limit=&offset= answers.
func NewStatementPage(st *recon.Statement, offset, limit int) *StatementPage {
	p := &StatementPage{Statement: *st, RowsTotal: len(st.Rows), Offset: offset}
	if p.Offset < 0 {
		p.Offset = max(len(st.Rows)-1, 0) / limit * limit
	}
	p.Offset = min(p.Offset, len(st.Rows))
	p.Rows = st.Rows[p.Offset:min(p.Offset+limit, len(st.Rows))]
	return p
}

// gated reports whether the read gate is on: clients authenticate with
// certificates and the chain says who they are.
func (s *Server) gated() bool { return s.opts.Registry != nil && s.opts.TLS.ClientCAFile != "" }

// statement serves GET /v1/statement?org=&date=&account=&asset=&ledger=
// [&format=csv]: the movements of an organisation in a business day
// (package recon), as JSON or as its CSV form (no day or totals). With
// the gate on, a member reads only its own organisation's statement (org
// defaults to it); regulators and auditors read any, and an auditor of one
// sub-ledger any organisation's on that sub-ledger (ledger=<it>). Every
// refusal is logged as an audit entry. Without the gate (no client
// certificates), org is required and, as for the JSON-RPC the API then
// forwards unchecked, nobody is refused.
func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) {
		writeJSON(w, code, map[string]string{"error": err.Error()})
	}
	if s.opts.Statements == nil {
		fail(http.StatusNotFound, errors.New("this node serves no statements"))
		return
	}
	q, err := parseStatementQuery(r.URL.RawQuery)
	req := &q.req
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/statement: %w", err))
		return
	}
	if s.gated() {
		c, err := s.caller(r)
		if err == nil {
			if req.Org == "" {
				req.Org = c.org
			}
			err = c.mayReadStatement(*req)
		}
		if err != nil {
			s.opts.Logger.Warn("api: statement refused", "caller", cmp.Or(c.desc, connectionInfo(r).Client), "org", req.Org, "date", req.Date,
				"remote", r.RemoteAddr, "err", err)
			fail(http.StatusForbidden, err)
			return
		}
	} else if req.Org == "" {
		fail(http.StatusBadRequest, errors.New("GET /v1/statement: org is required (this API takes no client certificate to read the caller's organisation from)"))
		return
	}
	if err := req.Check(); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	if reg := s.opts.Registry; reg != nil {
		ok, err := reg.OrgExists(req.Org)
		if err != nil {
			fail(http.StatusInternalServerError, err)
			return
		}
		if !ok {
			fail(http.StatusNotFound, fmt.Errorf("no organisation %q is registered on chain", req.Org))
			return
		}
	}
	if req.Date == "" {
		if req.Date, err = recon.Today(s.opts.Statements, s.opts.TimeZone); err != nil {
			fail(http.StatusServiceUnavailable, err)
			return
		}
	}
	st, err := s.statements.statement(r.Context(), s.opts.Statements, s.opts.TimeZone, *req)
	var pruned *recon.PrunedError
	var index *recon.IndexError
	switch {
	case errors.Is(err, recon.ErrInvalid):
		fail(http.StatusBadRequest, err)
	case errors.As(err, &pruned), errors.As(err, &index):
		fail(http.StatusGone, err) // this node cannot list that day; another may
	case errors.Is(err, recon.ErrCatchingUp):
		w.Header().Set("Retry-After", "5")
		fail(http.StatusServiceUnavailable, err)
	case err != nil:
		s.opts.Logger.Error("api: statement", "org", req.Org, "date", req.Date, "err", err)
		fail(http.StatusInternalServerError, err)
	case q.format == "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if err := st.WriteCSV(w); err != nil {
			s.opts.Logger.Info("api: statement CSV not delivered", "org", req.Org, "date", req.Date, "remote", r.RemoteAddr, "err", err)
		}
	case q.limit > 0:
		writeCompactJSON(w, http.StatusOK, NewStatementPage(st, q.offset, q.limit))
	default:
		writeCompactJSON(w, http.StatusOK, st)
	}
}

// mayReadStatement: a member reads its own organisation's statement;
// regulators and auditors any; an auditor of a sub-ledger any
// organisation's on that sub-ledger.
func (c caller) mayReadStatement(req recon.Request) error {
	if c.privileged || c.org == req.Org || req.Ledger != "" && slices.Contains(c.audits, req.Ledger) {
		return nil
	}
	return fmt.Errorf("%s may not read the statement of %s: a member reads only its own organisation's statement; regulators and auditors read any", c.desc, req.Org)
}

package regulator

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Roles that may use the API: auditors read, regulators also acknowledge
// alerts and decrypt payloads.
var (
	readRoles  = []string{permission.RoleRegulator, permission.RoleAuditor}
	writeRoles = []string{permission.RoleRegulator}
)

// badRequest is a caller error (HTTP 400).
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

func statusOf(err error) int {
	var br badRequest
	var nf ErrNotFound
	switch {
	case errors.As(err, &br):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotReader):
		return http.StatusForbidden
	case errors.As(err, &nf):
		return http.StatusNotFound
	case errors.Is(err, ErrAlreadyAcknowledged):
		return http.StatusConflict
	case errors.Is(err, ErrNotConfidential):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errNoKey), errors.Is(err, ErrSQLOff):
		return http.StatusNotImplemented
	case errors.Is(err, ErrBusy), errors.Is(err, ErrWhatIfBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var errNoKey = errors.New("this observer holds no regulator key (set regulator.key): decrypt locally with `jinlian tx decrypt --from regulator`")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

// Handler is the regulator API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle(mux, "GET /v1/status", "status", readRoles, s.getStatus)
	s.handle(mux, "GET /v1/txs", "query txs", readRoles, s.getTxs)
	s.handle(mux, "GET /v1/txs/{id}", "query tx", readRoles, s.getTx)
	s.handle(mux, "GET /v1/txs/{id}/decrypt", "decrypt", writeRoles, s.decrypt)
	s.handle(mux, "GET /v1/accounts/{addr}/history", "query history", readRoles, s.getHistory)
	s.handle(mux, "GET /v1/alerts", "query alerts", readRoles, s.getAlerts)
	s.handle(mux, "GET /v1/alerts/{id}", "query alert", readRoles, s.getAlert)
	s.handle(mux, "POST /v1/alerts/{id}/ack", "acknowledge alert", writeRoles, s.ackAlert)
	s.handle(mux, "GET /v1/report", "report", readRoles, s.getReport)
	s.handle(mux, "GET /v1/audit", "query audit log", readRoles, s.getAudit)
	s.handle(mux, "GET /v1/sanctions", "query sanctions", readRoles, s.getSanctions)
	s.handle(mux, "POST /v1/sql/backfill", "sql backfill", writeRoles, s.postSQLBackfill)
	s.handle(mux, "POST /v1/whatif", "what-if replay", writeRoles, s.postWhatIf)
	mux.HandleFunc("GET /v1/alerts/stream", s.stream)
	return mux
}

type apiFunc func(r *http.Request, c *Caller) (any, error)

// handle authenticates, authorises, runs fn and appends the audit entry.
func (s *Service) handle(mux *http.ServeMux, pattern, action string, roles []string, fn apiFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authorize(r, roles)
		var out any
		if err == nil {
			out, err = fn(r, c)
		}
		status := http.StatusOK
		if err != nil {
			status = statusOf(err)
			out = apiError{Error: err.Error()}
		}
		s.audit(r, c, action, status, err)
		writeJSON(w, status, out)
	})
}

func (s *Service) authorize(r *http.Request, roles []string) (*Caller, error) {
	c, err := s.auth.authenticate(r)
	if err != nil {
		return nil, err
	}
	if !c.Has(roles...) {
		return c, fmt.Errorf("%w: %s holds roles %v on chain, this needs one of %v", ErrForbidden, c.Address, c.Roles, roles)
	}
	// Only now, so that keys without a role cannot fill the replay cache:
	// their requests are refused whatever the nonce.
	if err := s.auth.consumeNonce(c); err != nil {
		return c, err
	}
	return c, nil
}

// audit appends the request's entry. Requests without a valid signature,
// or signed by a key that holds no role on chain (anyone can make one),
// are written at most AnonymousAudit times per AnonymousAuditInterval;
// the rest are counted and summed up in one entry when the interval ends,
// so nobody can grow the log by sending requests.
func (s *Service) audit(r *http.Request, c *Caller, action string, status int, err error) {
	e := AuditEntry{At: s.cfg.Now().UTC(), Who: "anonymous", Action: action, Target: r.URL.RequestURI(), Remote: r.RemoteAddr, Status: status}
	if c != nil {
		e.Who, e.Roles = c.Address, c.Roles
	}
	if err != nil {
		e.Detail = err.Error()
	}
	if c == nil || len(c.Roles) == 0 {
		write, summary := s.admitAnonymous(e.At)
		if summary != nil {
			s.appendAudit(*summary)
		}
		if !write {
			return
		}
	}
	s.appendAudit(e)
}

func (s *Service) appendAudit(e AuditEntry) {
	if _, aerr := s.ix.AppendAudit(e); aerr != nil {
		s.log.Error("audit log", "err", aerr)
	}
}

// admitAnonymous says whether an anonymous request at now gets its own
// entry, and returns the summary of the interval that just ended, if any
// of its requests were not written.
func (s *Service) admitAnonymous(now time.Time) (bool, *AuditEntry) {
	s.anonMu.Lock()
	defer s.anonMu.Unlock()
	var summary *AuditEntry
	if now.Sub(s.anonStart) >= s.cfg.AnonymousAuditInterval || now.Before(s.anonStart) {
		if s.anonSuppressed > 0 {
			summary = &AuditEntry{At: now, Who: "anonymous", Action: "unlogged refusals", Status: http.StatusUnauthorized,
				Detail: fmt.Sprintf("%d more requests without a valid signature or by identities without a role between %s and %s (only %d logged one by one per %s)",
					s.anonSuppressed, s.anonStart.Format(time.RFC3339), now.Format(time.RFC3339), s.cfg.AnonymousAudit, s.cfg.AnonymousAuditInterval)}
		}
		s.anonStart, s.anonLogged, s.anonSuppressed = now, 0, 0
	}
	if s.anonLogged < s.cfg.AnonymousAudit {
		s.anonLogged++
		return true, summary
	}
	s.anonSuppressed++
	if n := s.anonTotal.Add(1); n&(n-1) == 0 { // 1, 2, 4, 8…: a log line that cannot flood either
		s.log.Warn("regulator API: refused requests beyond the audit log's limit are counted, not logged", "unlogged_total", n)
	}
	return false, summary
}

// Status is GET /v1/status.
type Status struct {
	ChainID       string `json:"chain_id"`
	IndexedHeight int64  `json:"indexed_height"`
	LatestHeight  int64  `json:"latest_height"`
	OpenAlerts    int    `json:"open_alerts"`
	Decryption    bool   `json:"decryption"`
	Caller        Caller `json:"caller"`
	FollowError   string `json:"follow_error,omitempty"`
	// UnloggedRefusals counts refused anonymous requests that were not
	// written to the audit log one by one (AnonymousAudit).
	UnloggedRefusals uint64 `json:"unlogged_refusals"`
	// AuditSigner is the hex public key that signs the audit chain.
	AuditSigner string `json:"audit_signer"`
	// SQL is where the regulator's PostgreSQL tables stand (absent: off).
	SQL *SQLStatus `json:"sql,omitempty"`
}

func (s *Service) getStatus(r *http.Request, c *Caller) (any, error) {
	out := Status{Decryption: s.cfg.Key != nil, Caller: *c, UnloggedRefusals: s.anonTotal.Load(),
		AuditSigner: hex.EncodeToString(s.ix.AuditPublicKey().Bytes())}
	var err error
	if out.ChainID, err = s.ix.ChainID(); err != nil {
		return nil, err
	}
	if out.IndexedHeight, err = s.ix.LastHeight(); err != nil {
		return nil, err
	}
	if st, err := s.cfg.Source.Status(r.Context()); err == nil {
		out.LatestHeight = st.SyncInfo.LatestBlockHeight
	}
	cursor := ""
	for {
		page, err := s.ix.Alerts(AlertFilter{Status: StatusOpen}, cursor, MaxPageSize)
		if err != nil {
			return nil, err
		}
		out.OpenAlerts += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	s.mu.Lock()
	if s.followErr != nil {
		out.FollowError = s.followErr.Error()
	}
	if s.sqlState.Enabled {
		st := s.sqlState
		out.SQL = &st
	}
	s.mu.Unlock()
	return out, nil
}

// SQLBackfillRequest is the body of POST /v1/sql/backfill.
type SQLBackfillRequest struct {
	From int64 `json:"from"`
}

func (s *Service) postSQLBackfill(r *http.Request, _ *Caller) (any, error) {
	var req SQLBackfillRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, badf("body: want {\"from\": height}: %v", err)
	}
	out, err := s.BackfillSQL(r.Context(), req.From)
	if errors.Is(err, ErrBadBackfill) {
		return nil, badf("%v", err)
	}
	return out, err
}

// maxRulesBody bounds the body of POST /v1/whatif (a rule file).
const maxRulesBody = 1 << 20

func (s *Service) postWhatIf(r *http.Request, _ *Caller) (any, error) {
	var req WhatIfRequest
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxRulesBody)).Decode(&req); err != nil {
		return nil, badf("body: want {\"rules\": \"<rule file>\", \"from\": height, \"to\": height} of at most %d bytes: %v", maxRulesBody, err)
	}
	return s.WhatIf(r.Context(), req)
}

func parseAddr(name, v string) (string, error) {
	a, err := gmcrypto.ParseAddress(v)
	if err != nil {
		return "", badf("%s: %v", name, err)
	}
	return a.String(), nil
}

// parseTime accepts RFC 3339 or a date (midnight UTC).
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, badf("%s %q: want RFC 3339 (2026-03-02T15:04:05Z) or a date (2026-03-02)", name, v)
}

func pageParams(q map[string][]string) (cursor string, limit int, desc bool, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	limit = 100
	if v := get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxPageSize {
			return "", 0, false, badf("limit %q: want 1..%d", v, MaxPageSize)
		}
	}
	switch get("order") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return "", 0, false, badf("order %q: want asc or desc", get("order"))
	}
	return get("cursor"), limit, desc, nil
}

func (s *Service) getTxs(r *http.Request, _ *Caller) (any, error) {
	q := r.URL.Query()
	cursor, limit, desc, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	f := Filter{Ledger: q.Get("ledger"), Asset: q.Get("asset"), Kind: q.Get("kind"), Desc: desc}
	if v := q.Get("account"); v != "" {
		if f.Account, err = parseAddr("account", v); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		name string
		dst  **uint64
	}{{"min", &f.Min}, {"max", &f.Max}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, badf("%s %q: want an amount in the asset's smallest unit", p.name, v)
			}
			*p.dst = &n
		}
	}
	if f.From, err = parseTime("from", q.Get("from")); err != nil {
		return nil, err
	}
	if f.To, err = parseTime("to", q.Get("to")); err != nil {
		return nil, err
	}
	switch q.Get("sort") {
	case "", "time":
	case "amount":
		if f.Asset == "" {
			return nil, badf("sort=amount needs asset=")
		}
		f.ByAmount = true
	default:
		return nil, badf("sort %q: want time or amount", q.Get("sort"))
	}
	page, err := s.ix.Txs(f, cursor, limit)
	if err != nil && strings.HasPrefix(err.Error(), "bad cursor") {
		return nil, badf("%v", err)
	}
	return page, err
}

func txIDParam(r *http.Request) (string, error) {
	id := strings.ToLower(r.PathValue("id"))
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", badf("tx id %q: want 64 hex digits", id)
	}
	return id, nil
}

func (s *Service) getTx(r *http.Request, _ *Caller) (any, error) {
	id, err := txIDParam(r)
	if err != nil {
		return nil, err
	}
	return s.ix.Tx(id)
}

// Decryption is GET /v1/txs/{id}/decrypt.
type Decryption struct {
	TxID            string `json:"tx_id"`
	Reader          string `json:"reader"`
	Plaintext       string `json:"plaintext,omitempty"` // when valid UTF-8
	PlaintextBase64 string `json:"plaintext_base64"`
}

func (s *Service) decrypt(r *http.Request, _ *Caller) (any, error) {
	id, err := txIDParam(r)
	if err != nil {
		return nil, err
	}
	if s.cfg.Key == nil {
		return nil, errNoKey
	}
	raw, err := s.rawTx(r.Context(), id)
	if err != nil {
		return nil, err
	}
	pt, err := DecryptTx(raw, s.cfg.Key)
	if err != nil {
		return nil, err
	}
	out := Decryption{TxID: id, Reader: s.cfg.Key.Public().Address().String(), PlaintextBase64: base64.StdEncoding.EncodeToString(pt)}
	if utf8.Valid(pt) {
		out.Plaintext = string(pt)
	}
	return out, nil
}

// rawTx reads a transaction's bytes from the block that holds it.
func (s *Service) rawTx(ctx context.Context, id string) ([]byte, error) {
	tx, err := s.ix.Tx(id)
	if err != nil {
		return nil, err
	}
	b, err := s.cfg.Source.Block(ctx, &tx.Height)
	if err != nil {
		return nil, fmt.Errorf("block %d of tx %s: %w", tx.Height, id, err)
	}
	if tx.Index >= len(b.Block.Txs) {
		return nil, fmt.Errorf("block %d has no tx %d", tx.Height, tx.Index)
	}
	return b.Block.Txs[tx.Index], nil
}

func (s *Service) getHistory(r *http.Request, _ *Caller) (any, error) {
	addr, err := parseAddr("account", r.PathValue("addr"))
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	cursor, limit, desc, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	key := q.Get("key")
	if key == "" && q.Get("asset") != "" {
		l := q.Get("ledger")
		if l == "" {
			l = "payments"
		}
		key = l + "/" + q.Get("asset")
	}
	return s.ix.History(addr, key, cursor, limit, desc)
}

func (s *Service) alertFilter(q map[string][]string) (AlertFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := AlertFilter{Rule: get("rule"), Status: get("status"), Severity: get("severity"), Subject: get("subject")}
	if v := get("account"); v != "" {
		a, err := gmcrypto.ParseAddress(v)
		if err != nil {
			return f, badf("account %q: want 40 hex digits, an address", v)
		}
		f.Account = a.String()
	}
	switch f.Status {
	case "", StatusOpen, StatusAcknowledged:
	default:
		return f, badf("status %q: want open or acknowledged", f.Status)
	}
	if v := get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, badf("since %q: want an alert seq", v)
		}
		f.AfterSeq = n
	}
	if v := get("tx_ids"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAlertTxIDs {
			return f, badf("tx_ids %q: want 1..%d, the most transaction ids to list of each alert", v, MaxAlertTxIDs)
		}
		f.TxIDs = n
	}
	var err error
	if f.From, err = parseTime("from", get("from")); err != nil {
		return f, err
	}
	f.To, err = parseTime("to", get("to"))
	return f, err
}

func (s *Service) getAlerts(r *http.Request, _ *Caller) (any, error) {
	q := r.URL.Query()
	cursor, limit, desc, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	f, err := s.alertFilter(q)
	if err != nil {
		return nil, err
	}
	f.Desc = desc
	return s.ix.Alerts(f, cursor, limit)
}

func (s *Service) getAlert(r *http.Request, _ *Caller) (any, error) {
	return s.ix.Alert(r.PathValue("id"))
}

// AckRequest is the body of POST /v1/alerts/{id}/ack.
type AckRequest struct {
	Note string `json:"note"`
}

func (s *Service) ackAlert(r *http.Request, c *Caller) (any, error) {
	var req AckRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, badf("body: want {\"note\": \"...\"}: %v", err)
	}
	if strings.TrimSpace(req.Note) == "" {
		return nil, badf("an acknowledgement needs a note")
	}
	a, err := s.ix.Acknowledge(r.PathValue("id"), c.Address, req.Note, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	s.broker.publish(streamEvent{kind: "ack", seq: a.Seq, alert: *a})
	return a, nil
}

func (s *Service) getReport(r *http.Request, _ *Caller) (any, error) {
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"))
	if err != nil {
		return nil, err
	}
	to, err := parseTime("to", q.Get("to"))
	if err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() {
		return nil, badf("a report needs from= and to=")
	}
	rep, err := s.ix.BuildReport(from, to, s.cfg.Now())
	if err != nil && !strings.Contains(err.Error(), "report period") {
		return nil, err
	}
	if err != nil {
		return nil, badf("%v", err)
	}
	AnchorReport(r.Context(), rep, QCFromBlocks(s.cfg.Source))
	return rep, nil
}

func (s *Service) getAudit(r *http.Request, _ *Caller) (any, error) {
	q := r.URL.Query()
	cursor, limit, desc, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	who := q.Get("who")
	if who != "" {
		if who, err = parseAddr("who", who); err != nil {
			return nil, err
		}
	}
	return s.ix.Audit(who, cursor, limit, desc)
}

func (s *Service) getSanctions(r *http.Request, _ *Caller) (any, error) {
	if s.cfg.Query == nil {
		return nil, errors.New("this observer has no app query function")
	}
	b, err := s.cfg.Query(r.Context(), "/sanctions", nil)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// stream is GET /v1/alerts/stream: server-sent events, one "alert" event
// per raised alert (id = its seq) and an "ack" event per acknowledgement.
// A client resumes with Last-Event-ID (or ?since=SEQ) and first gets every
// alert after it from the index. The caller's roles are read again at
// every indexed block and every RoleRecheck: once it holds neither
// regulator nor auditor, a "revoked" event ends the stream.
func (s *Service) stream(w http.ResponseWriter, r *http.Request) {
	c, err := s.authorize(r, readRoles)
	if err != nil {
		s.audit(r, c, "stream alerts", statusOf(err), err)
		writeJSON(w, statusOf(err), apiError{Error: err.Error()})
		return
	}
	var since uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		since, _ = strconv.ParseUint(v, 10, 64)
	} else if v := r.URL.Query().Get("since"); v != "" {
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.audit(r, c, "stream alerts", http.StatusBadRequest, err)
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("since %q: want an alert seq", v)})
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "streaming unsupported"})
		return
	}
	s.audit(r, c, "stream alerts", http.StatusOK, nil)
	ch, cancel := s.broker.subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	send := func(kind string, a Alert) bool {
		b, _ := json.Marshal(a)
		id := ""
		if kind == "alert" { // acks carry no id: Last-Event-ID counts alerts
			id = fmt.Sprintf("id: %d\n", a.Seq)
		}
		if _, err := fmt.Fprintf(w, "%sevent: %s\ndata: %s\n\n", id, kind, b); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	// Backlog from the index, then live events not already sent.
	last := since
	cursor := ""
	for {
		page, err := s.ix.Alerts(AlertFilter{AfterSeq: since}, cursor, MaxPageSize)
		if err != nil {
			return
		}
		for _, a := range page.Items {
			if !send("alert", a) {
				return
			}
			last = a.Seq
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if _, err := fmt.Fprint(w, ": live\n\n"); err != nil {
		return
	}
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	recheck := time.NewTicker(s.cfg.RoleRecheck)
	defer recheck.Stop()
	block := s.blockIndexed()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-block:
			block = s.blockIndexed()
			if !s.streamAllowed(w, flusher, r, c) {
				return
			}
		case <-recheck.C:
			if !s.streamAllowed(w, flusher, r, c) {
				return
			}
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.kind == "alert" && e.seq <= last {
				continue
			}
			if !send(e.kind, e.alert) {
				return
			}
			if e.kind == "alert" {
				last = e.seq
			}
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// streamAllowed re-reads a streaming caller's roles; when it no longer
// holds a read role it audits the closure, sends a "revoked" event and
// returns false.
func (s *Service) streamAllowed(w http.ResponseWriter, f http.Flusher, r *http.Request, c *Caller) bool {
	err := s.stillAllowed(r, c)
	if err == nil {
		return true
	}
	s.audit(r, c, "stream alerts closed", statusOf(err), err) // before the client can see it, like every answer
	b, _ := json.Marshal(apiError{Error: err.Error()})
	fmt.Fprintf(w, "event: revoked\ndata: %s\n\n", b)
	f.Flush()
	return false
}

// stillAllowed re-reads a streaming caller's roles.
func (s *Service) stillAllowed(r *http.Request, c *Caller) error {
	roles, err := s.auth.rolesOf(r.Context(), c.Address)
	if err != nil {
		return fmt.Errorf("roles of %s could not be checked again: %w", c.Address, err)
	}
	if !slices.ContainsFunc(roles, func(role string) bool { return slices.Contains(readRoles, role) }) {
		return fmt.Errorf("%w: %s no longer holds %v on chain (roles now %v): stream closed", ErrForbidden, c.Address, readRoles, roles)
	}
	c.Roles = roles
	return nil
}

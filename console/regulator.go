package console

// Regulator mode: alerts (listed, streamed, acknowledged), an account's
// case, the observer's audit log.

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/regulator"
)

type regulatorData struct {
	// Since is the highest alert sequence number the page shows: the
	// live stream starts after it.
	Since            uint64
	Observer         string
	Status, Severity string
	Alerts           []alertView
	Acked            string
	// Older and Newer page the list (alertsPerPage a page) by sequence
	// number: ?before=SEQ lists the alerts older than SEQ, ?after=SEQ
	// those newer; empty where there is nothing to page to. Paged is
	// whether this is not the newest page (the live stream is then off).
	Older, Newer template.URL
	Paged        bool
}

// alertsPerPage is how many alerts a page of the regulator page lists.
const alertsPerPage = 100

type alertView struct {
	Seq                                               uint64
	ID, Rule, Severity, Time, Subject, Reason, Status string
	// TxIDs are the first alertTxsShown of the alert's transactions;
	// MoreTxs how many more it lists (jinlian reg alerts -o json shows
	// them all).
	TxIDs          []string
	MoreTxs        int
	AckBy, AckNote string
}

// alertTxsShown bounds the transactions a row of an alert list links to:
// an alert lists up to regulator.MaxAlertTxIDs (a day's cross-border
// flow), and a page of a hundred such rows, a hundred thousand links,
// took Chromium 9.5 s to paint with 1M transfers of history. The lists
// ask the observer for no more (alertTxsParam): the whole of them, some
// 6.6 MB of JSON a page, kept the page at 2.6 s.
const alertTxsShown = 10

// alertTxsParam is the query parameter that asks the observer for the
// first alertTxsShown transactions of each alert (GET /v1/alerts?tx_ids=;
// an observer that does not know it lists them all, cut here).
var alertTxsParam = []string{strconv.Itoa(alertTxsShown)}

func (s *Server) regulatorPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("regulator")
	d := &regulatorData{Status: r.URL.Query().Get("status"), Severity: r.URL.Query().Get("severity"), Acked: r.URL.Query().Get("acked")}
	v.Data = d
	if s.reg == nil {
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "no_observer"))
		s.render(w, v)
		return
	}
	d.Observer = s.reg.BaseURL
	before, after, err := alertsPosition(r.URL.Query())
	if err != nil {
		v.fail(tr(s.cfg.Lang, "alerts"), err)
		v.Status = http.StatusBadRequest
		s.render(w, v)
		return
	}
	q := url.Values{"limit": {strconv.Itoa(alertsPerPage)}, "order": {"desc"}, "tx_ids": alertTxsParam}
	if d.Status != "" {
		q.Set("status", d.Status)
	}
	if d.Severity != "" {
		q.Set("severity", d.Severity)
	}
	switch {
	case before > 0:
		// The observer's cursor after alert before, older ones first.
		q.Set("cursor", regulator.AlertsCursor(before))
	case after > 0:
		// The alerts newer than after, oldest first (since=SEQ), shown
		// newest first as every page.
		q.Set("order", "asc")
		q.Set("since", strconv.FormatUint(after, 10))
	}
	alerts, more, ok := s.alerts(ctx, v, q)
	if after > 0 {
		slices.Reverse(alerts)
	}
	d.Alerts, d.Paged = alerts, before > 0 || after > 0
	if ok {
		d.Older, d.Newer = alertsLinks(d, before, after, more)
	}
	// The live stream starts after the newest alert of all, whatever the
	// filter shows; it is for the newest page only.
	if !d.Paged {
		if newest, err := s.reg.Alerts(ctx, url.Values{"limit": {"1"}, "order": {"desc"}, "tx_ids": {"1"}}); err == nil && len(newest.Items) > 0 {
			d.Since = newest.Items[0].Seq
		}
	}
	s.render(w, v)
}

// alertsPosition reads where a page of alerts starts: ?before=SEQ (older
// than the alert SEQ) or ?after=SEQ (newer), at most one; neither: the
// newest page.
func alertsPosition(q url.Values) (before, after uint64, err error) {
	seq := func(name string) (uint64, error) {
		v := strings.TrimSpace(q.Get(name))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("page cursor %s=%q: want an alert's sequence number (1 or more), as the older and newer links give", name, v)
		}
		return n, nil
	}
	if before, err = seq("before"); err != nil {
		return 0, 0, err
	}
	if after, err = seq("after"); err != nil {
		return 0, 0, err
	}
	if before > 0 && after > 0 {
		return 0, 0, fmt.Errorf("page cursor: before=%d and after=%d: give one of them", before, after)
	}
	return before, after, nil
}

// alertsLinks are the older and newer links of a page of alerts (shown
// newest first) that started before or after a sequence number; more:
// the observer has more beyond the page in the order it was asked.
func alertsLinks(d *regulatorData, before, after uint64, more bool) (older, newer template.URL) {
	link := func(k string, seq uint64) template.URL {
		q := url.Values{k: {strconv.FormatUint(seq, 10)}}
		if d.Status != "" {
			q.Set("status", d.Status)
		}
		if d.Severity != "" {
			q.Set("severity", d.Severity)
		}
		// template.URL: the query is built here, escaped once.
		return template.URL("/regulator?" + q.Encode())
	}
	var newest, oldest uint64
	if n := len(d.Alerts); n > 0 {
		newest, oldest = d.Alerts[0].Seq, d.Alerts[n-1].Seq
	}
	switch {
	case after > 0: // asked oldest first: more means newer ones
		if more {
			newer = link("after", newest)
		}
		if oldest > 0 {
			older = link("before", oldest)
		} else {
			older = link("before", after+1)
		}
	default: // asked newest first: more means older ones
		if more {
			older = link("before", oldest)
		}
		if before > 0 {
			if newest > 0 {
				newer = link("after", newest)
			} else {
				newer = link("after", before-1)
			}
		}
	}
	return older, newer
}

// alertStream relays the observer's alert stream (signed with the user's
// key, audited there) to the page as server-sent events, from after
// ?since=, until the page goes away or the console stops.
func (s *Server) alertStream(w http.ResponseWriter, r *http.Request) {
	if s.reg == nil {
		http.Error(w, tr(s.cfg.Lang, "no_observer"), http.StatusNotFound)
		return
	}
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			http.Error(w, fmt.Sprintf("since %q: want an alert sequence number", v), http.StatusBadRequest)
			return
		}
	}
	fl, ok := startStream(w)
	if !ok {
		return
	}
	err := s.reg.Stream(r.Context(), since, func(e regulator.StreamEvent) error {
		b, err := json.Marshal(map[string]any{"id": e.Alert.ID, "seq": e.Alert.Seq, "severity": e.Alert.Severity, "rule": e.Alert.Rule,
			"reason": e.Alert.Reason, "status": e.Alert.Status})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Fprintf(w, "event: failed\ndata: %s\n\n", b)
		fl.Flush()
	}
}

// alerts lists a page of the observer's alerts; more: it has more beyond
// the page; ok: it answered.
func (s *Server) alerts(ctx context.Context, v *view, q url.Values) (out []alertView, more, ok bool) {
	page, err := s.reg.Alerts(ctx, q)
	v.fail(tr(s.cfg.Lang, "alerts"), err)
	if err != nil {
		return nil, false, false
	}
	return alertViews(page.Items), page.NextCursor != "", true
}

func alertViews(alerts []regulator.Alert) []alertView {
	var out []alertView
	for _, a := range alerts {
		av := alertView{Seq: a.Seq, ID: a.ID, Rule: a.Rule, Severity: a.Severity, Time: a.Time.UTC().Format(time.RFC3339), Subject: a.Subject,
			Reason: a.Reason, Status: a.Status, TxIDs: a.TxIDs}
		if len(av.TxIDs) > alertTxsShown {
			av.TxIDs = av.TxIDs[:alertTxsShown]
		}
		av.MoreTxs = max(len(a.TxIDs), a.TxIDsTotal) - len(av.TxIDs)
		if a.Ack != nil {
			av.AckBy, av.AckNote = a.Ack.By, a.Ack.Note
		}
		out = append(out, av)
	}
	return out
}

type caseData struct {
	Account  string
	Alerts   []alertView
	Moves    []moveView
	History  []historyView
	Observer string
	// Each list shows the newest casePageSize entries, or the page after
	// the observer's cursor in its query parameter (alerts, moves,
	// history); Older
	// and Newest link to the list's next page and back to its first.
	Older, Newest map[string]template.URL
}

// casePageSize is how many entries a list of the case view shows a page.
const casePageSize = 100

// caseLink is the case view of account with the list named by param at
// cursor (the first page when cursor is empty), the other lists at their
// first pages.
func caseLink(account, param, cursor string) template.URL {
	q := url.Values{"account": {account}}
	if cursor != "" {
		q.Set(param, cursor)
	}
	// template.URL: the query is built here, escaped once.
	return template.URL("/regulator/case?" + q.Encode())
}

// pageLinks records, for the list param of the case view, the link to its
// next page (the observer's next cursor) and, when it is not on its first
// page, back to its first.
func (d *caseData) pageLinks(param, cursor, next string) {
	if next != "" {
		d.Older[param] = caseLink(d.Account, param, next)
	}
	if cursor != "" {
		d.Newest[param] = caseLink(d.Account, param, "")
	}
}

type moveView struct {
	Time, TxID, Kind, Ledger, Asset, From, FromOrg, To, ToOrg string
	Height                                                    int64
	Amount                                                    uint64
}

type historyView struct {
	Time, Key, TxID, Kind, Delta, Value string
	Height                              int64
}

// caseView is an account's case: its alerts, its movements and the
// history of its keys, from the observer's index (every request audited).
func (s *Server) caseView(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("case")
	d := &caseData{Account: strings.TrimSpace(r.URL.Query().Get("account"))}
	v.Data = d
	if s.reg == nil {
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "no_observer"))
		s.render(w, v)
		return
	}
	d.Observer = s.reg.BaseURL
	if d.Account == "" {
		s.render(w, v)
		return
	}
	a, err := gmcrypto.ParseAddress(d.Account)
	if err != nil {
		v.fail(tr(s.cfg.Lang, "account"), fmt.Errorf("%q: %w", d.Account, err))
		s.render(w, v)
		return
	}
	d.Account = a.String()
	d.Older, d.Newest = map[string]template.URL{}, map[string]template.URL{}
	q := r.URL.Query()
	list := func(param string, extra url.Values) url.Values {
		out := url.Values{"limit": {strconv.Itoa(casePageSize)}, "order": {"desc"}}
		for k, vs := range extra {
			out[k] = vs
		}
		if c := q.Get(param); c != "" {
			out.Set("cursor", c)
		}
		return out
	}
	if page, err := s.reg.Alerts(ctx, list("alerts", url.Values{"account": {d.Account}, "tx_ids": alertTxsParam})); err != nil {
		v.fail(tr(s.cfg.Lang, "alerts"), err)
	} else {
		d.Alerts = alertViews(page.Items)
		d.pageLinks("alerts", q.Get("alerts"), page.NextCursor)
	}
	moves, err := s.reg.Txs(ctx, list("moves", url.Values{"account": {d.Account}}))
	v.fail(tr(s.cfg.Lang, "movements"), err)
	if err == nil {
		for _, m := range moves.Items {
			d.Moves = append(d.Moves, moveView{Time: m.Time.UTC().Format(time.RFC3339), TxID: m.TxID, Kind: m.Kind, Ledger: m.Ledger, Asset: m.Asset,
				From: m.From, FromOrg: m.FromOrg, To: m.To, ToOrg: m.ToOrg, Height: m.Height, Amount: m.Amount})
		}
		d.pageLinks("moves", q.Get("moves"), moves.NextCursor)
	}
	hist, err := s.reg.History(ctx, d.Account, list("history", nil))
	v.fail(tr(s.cfg.Lang, "history"), err)
	if err == nil {
		for _, h := range hist.Items {
			d.History = append(d.History, historyView{Time: h.Time.UTC().Format(time.RFC3339), Key: h.Key, TxID: h.TxID, Kind: h.Kind,
				Delta: h.Delta, Value: h.Value, Height: h.Height})
		}
		d.pageLinks("history", q.Get("history"), hist.NextCursor)
	}
	s.render(w, v)
}

type auditView struct {
	Seq                                    uint64
	At, Who, Action, Target, Detail, Roles string
	Status                                 int
}

type auditData struct {
	Rows []auditView
	// Older is the next page (?cursor=, the observer's cursor), Newest
	// the first; empty where there is none.
	Older, Newest template.URL
}

// audit lists the observer's audit log, newest first, casePageSize
// entries a page: who asked or decrypted what (the console's own requests
// included).
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("audit")
	d := &auditData{}
	v.Data = d
	if s.reg == nil {
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "no_observer"))
		s.render(w, v)
		return
	}
	q := url.Values{"limit": {strconv.Itoa(casePageSize)}, "order": {"desc"}}
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" {
		q.Set("cursor", cursor)
		d.Newest = "/regulator/audit"
	}
	page, err := s.reg.Audit(ctx, q)
	v.fail(tr(s.cfg.Lang, "audit"), err)
	if err == nil {
		for _, e := range page.Items {
			d.Rows = append(d.Rows, auditView{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339), Who: e.Who, Action: e.Action, Target: e.Target,
				Detail: e.Detail, Roles: strings.Join(e.Roles, ","), Status: e.Status})
		}
		if page.NextCursor != "" {
			// template.URL: the query is built here, escaped once.
			d.Older = template.URL("/regulator/audit?" + url.Values{"cursor": {page.NextCursor}}.Encode())
		}
	}
	s.render(w, v)
}

func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	if s.reg == nil {
		http.Error(w, tr(s.cfg.Lang, "no_observer"), http.StatusBadRequest)
		return
	}
	id, note := strings.TrimSpace(r.PostFormValue("id")), strings.TrimSpace(r.PostFormValue("note"))
	if id == "" {
		http.Error(w, "acknowledge: no alert id", http.StatusBadRequest)
		return
	}
	if note == "" {
		v := s.view("regulator")
		v.Data = &regulatorData{Observer: s.reg.BaseURL}
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "acknowledge")+" "+id+": "+tr(s.cfg.Lang, "note_required"))
		s.render(w, v)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := s.reg.Ack(ctx, id, note); err != nil {
		v := s.view("regulator")
		v.Data = &regulatorData{Observer: s.reg.BaseURL}
		v.fail(tr(s.cfg.Lang, "acknowledge")+" "+id, err)
		s.render(w, v)
		return
	}
	http.Redirect(w, r, "/regulator?acked="+url.QueryEscape(id), http.StatusSeeOther)
}

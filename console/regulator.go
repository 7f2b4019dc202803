package console

// Regulator mode: alerts (listed, streamed, acknowledged), an account's
// case, the observer's audit log.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
}

type alertView struct {
	Seq                                               uint64
	ID, Rule, Severity, Time, Subject, Reason, Status string
	TxIDs                                             []string
	AckBy, AckNote                                    string
}

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
	q := url.Values{"limit": {"100"}, "order": {"desc"}}
	if d.Status != "" {
		q.Set("status", d.Status)
	}
	if d.Severity != "" {
		q.Set("severity", d.Severity)
	}
	d.Alerts = s.alerts(ctx, v, q)
	// The live stream starts after the newest alert of all, whatever the
	// filter shows.
	if newest, err := s.reg.Alerts(ctx, url.Values{"limit": {"1"}, "order": {"desc"}}); err == nil && len(newest.Items) > 0 {
		d.Since = newest.Items[0].Seq
	}
	s.render(w, v)
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

func (s *Server) alerts(ctx context.Context, v *view, q url.Values) []alertView {
	page, err := s.reg.Alerts(ctx, q)
	v.fail(tr(s.cfg.Lang, "alerts"), err)
	if err != nil {
		return nil
	}
	var out []alertView
	for _, a := range page.Items {
		av := alertView{Seq: a.Seq, ID: a.ID, Rule: a.Rule, Severity: a.Severity, Time: a.Time.UTC().Format(time.RFC3339), Subject: a.Subject,
			Reason: a.Reason, Status: a.Status, TxIDs: a.TxIDs}
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
	d.Alerts = s.alerts(ctx, v, url.Values{"subject": {d.Account}, "limit": {"100"}, "order": {"desc"}})
	moves, err := s.reg.Txs(ctx, url.Values{"account": {d.Account}, "limit": {"100"}, "order": {"desc"}})
	v.fail(tr(s.cfg.Lang, "movements"), err)
	if err == nil {
		for _, m := range moves.Items {
			d.Moves = append(d.Moves, moveView{Time: m.Time.UTC().Format(time.RFC3339), TxID: m.TxID, Kind: m.Kind, Ledger: m.Ledger, Asset: m.Asset,
				From: m.From, FromOrg: m.FromOrg, To: m.To, ToOrg: m.ToOrg, Height: m.Height, Amount: m.Amount})
		}
	}
	hist, err := s.reg.History(ctx, d.Account, url.Values{"limit": {"100"}, "order": {"desc"}})
	v.fail(tr(s.cfg.Lang, "history"), err)
	if err == nil {
		for _, h := range hist.Items {
			d.History = append(d.History, historyView{Time: h.Time.UTC().Format(time.RFC3339), Key: h.Key, TxID: h.TxID, Kind: h.Kind,
				Delta: h.Delta, Value: h.Value, Height: h.Height})
		}
	}
	s.render(w, v)
}

type auditView struct {
	Seq                                    uint64
	At, Who, Action, Target, Detail, Roles string
	Status                                 int
}

// audit lists the observer's audit log, newest first: who asked or
// decrypted what (the console's own requests included).
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("audit")
	var rows []auditView
	if s.reg == nil {
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "no_observer"))
	} else {
		page, err := s.reg.Audit(ctx, url.Values{"limit": {"100"}, "order": {"desc"}})
		v.fail(tr(s.cfg.Lang, "audit"), err)
		if err == nil {
			for _, e := range page.Items {
				rows = append(rows, auditView{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339), Who: e.Who, Action: e.Action, Target: e.Target,
					Detail: e.Detail, Roles: strings.Join(e.Roles, ","), Status: e.Status})
			}
		}
	}
	v.Data = rows
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

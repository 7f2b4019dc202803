package console

// Regulator mode: a compliance report for a period, signed with the
// user's key as `jinlian reg report` signs it, kept in memory for download.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/regulator"
)

// signedReport is a generated report: the exact bytes signed and the
// signature, as `jinlian reg report` writes FILE and FILE.sig.
type signedReport struct {
	ID, Name, Format  string
	From, To          string
	Body, Sig         []byte
	Movements, Alerts int
	Totals            int
	Signer, SM3       string
}

type reportData struct {
	From, To, Format string
	Report           *signedReport
}

// parseDay reads a period bound: YYYY-MM-DD (midnight UTC) or RFC 3339.
func parseDay(name, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want YYYY-MM-DD or RFC 3339", name, v)
}

// reportPage shows the form (GET) or generates, signs and keeps a report
// (POST, with the CSRF token: it signs in the user's name).
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	v := s.view("report")
	d := &reportData{From: strings.TrimSpace(r.FormValue("from")), To: strings.TrimSpace(r.FormValue("to")), Format: r.FormValue("format")}
	if d.Format == "" {
		d.Format = "csv"
	}
	v.Data = d
	if s.reg == nil {
		v.Errors = append(v.Errors, tr(s.cfg.Lang, "no_observer"))
		s.render(w, v)
		return
	}
	if r.Method != http.MethodPost {
		if d.From == "" {
			now := time.Now().UTC()
			d.From, d.To = now.Format("2006-01-02"), now.AddDate(0, 0, 1).Format("2006-01-02")
		}
		s.render(w, v)
		return
	}
	rep, err := s.makeReport(r, d)
	v.fail(tr(s.cfg.Lang, "nav.report"), err)
	d.Report = rep
	s.render(w, v)
}

func (s *Server) makeReport(r *http.Request, d *reportData) (*signedReport, error) {
	from, err := parseDay("from", d.From)
	if err != nil {
		return nil, err
	}
	to, err := parseDay("to", d.To)
	if err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, fmt.Errorf("period %s to %s: the end must come after the start", d.From, d.To)
	}
	if d.Format != "csv" && d.Format != "json" {
		return nil, fmt.Errorf("format %q: want csv or json", d.Format)
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	rep, err := s.reg.Report(ctx, from, to)
	if err != nil {
		return nil, err
	}
	body := rep.CSV()
	if d.Format == "json" {
		body = rep.JSON()
	}
	sig, err := regulator.SignReport(body, s.cfg.Key)
	if err != nil {
		return nil, err
	}
	sigb, err := json.MarshalIndent(sig, "", "  ")
	if err != nil {
		return nil, err
	}
	id, err := randomHex("")
	if err != nil {
		return nil, err
	}
	out := &signedReport{ID: id[:16], Format: d.Format, From: d.From, To: d.To, Body: body, Sig: append(sigb, '\n'),
		Movements: rep.Movements, Alerts: len(rep.Alerts), Totals: len(rep.Totals), Signer: sig.Signer, SM3: sig.SM3}
	out.Name = fmt.Sprintf("report-%s-%s.%s", strings.ReplaceAll(d.From, ":", ""), strings.ReplaceAll(d.To, ":", ""), d.Format)
	s.reports.put(out.ID, out)
	return out, nil
}

// reportFile serves a kept report (?sig=1: its signature file).
func (s *Server) reportFile(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.reports.get(r.PathValue("id"))
	if !ok {
		http.Error(w, "console: no such report (a console keeps its last 20, until it stops): generate it again", http.StatusNotFound)
		return
	}
	name, body, ctype := rep.Name, rep.Body, "text/csv; charset=utf-8"
	if rep.Format == "json" {
		ctype = "application/json"
	}
	if r.URL.Query().Get("sig") == "1" {
		name, body, ctype = rep.Name+".sig", rep.Sig, "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	_, _ = w.Write(body)
}

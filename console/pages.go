package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var embedded embed.FS

// staticFS serves /static/… from the embedded static directory.
var staticFS fs.FS = embedded

// systemLedger is the channel of governance messages (permission.SystemLedger).
const systemLedger = "_system"

// App query paths the console reads (app/query.go); the node's read gate
// decides who may.
const (
	queryBalance    = "/balance"
	queryTx         = "/tx"
	queryValidators = "/validators"
	queryRoles      = "/roles"
	queryProposals  = "/proposals"
	queryProposal   = "/proposal"
	// queryCertificate answers certificateStatus for a certificate's SM3
	// (ADR 0025).
	queryCertificate = "/certificate"
)

// pages holds one parsed template per page, each with the layout.
type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range []string{"overview", "explorer", "blocks", "block", "statement", "recon", "proof", "governance", "vote", "regulator", "case", "audit", "report"} {
		t, err := template.New("layout.html").Funcs(template.FuncMap{
			"t":     func(lang, key string) string { return tr(lang, key) },
			"short": short,
			"join":  strings.Join,
			"list":  func(v ...string) []string { return v },
			"args":  func(v ...any) []any { return v }, // a sub-template's several arguments
			"inc":   func(h any) int64 { return toInt64(h) + 1 },
			"dec":   func(h any) int64 { return toInt64(h) - 1 },
			"casepager": func(v *view, d *caseData, list string) casePager {
				return casePager{Lang: v.Lang, Newest: d.Newest[list], Older: d.Older[list], List: list}
			},
			// barEnd is where a flows chart's value label starts.
			"barEnd": func(w float64) float64 { return chartLabel + w + 4 },
		}).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// casePager is what a list of the case view pages with.
type casePager struct {
	Lang          string
	Newest, Older template.URL
	List          string
}

func toInt64(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

func short(s string) string {
	if len(s) > 14 {
		return s[:10] + "…"
	}
	return s
}

// view is what every page template gets.
type view struct {
	Lang, Page, CSRF string
	Chain            string
	Me               string // address
	Org, Name        string
	Regulator        bool // an observer is configured
	Errors           []string
	Flash            string
	Data             any
	// Status is the HTTP status of the page (0: 200).
	Status int
}

func (s *Server) view(page string) *view {
	return &view{Lang: s.cfg.Lang, Page: page, CSRF: s.csrf, Me: s.cfg.Key.Public().Address().String(),
		Org: s.cfg.Org, Name: s.cfg.Name, Regulator: s.reg != nil}
}

func (v *view) fail(what string, err error) {
	if err != nil {
		v.Errors = append(v.Errors, what+": "+err.Error())
	}
}

func (s *Server) render(w http.ResponseWriter, v *view) {
	var b bytes.Buffer
	if err := s.pages.t[v.Page].Execute(&b, v); err != nil {
		s.log.Error("console: render", "page", v.Page, "err", err)
		http.Error(w, "console: render "+v.Page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if v.Status != 0 {
		w.WriteHeader(v.Status)
	}
	_, _ = w.Write(b.Bytes())
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.Timeout)
}

// query runs an app query with the user's identity and decodes its JSON.
func (s *Server) query(ctx context.Context, path string, data []byte, out any) error {
	res, err := s.rpc.ABCIQuery(ctx, path, data)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if res.Response.Code != 0 {
		return fmt.Errorf("query %s: code %d (%s): %s", path, res.Response.Code, res.Response.Codespace, res.Response.Log)
	}
	return json.Unmarshal(res.Response.Value, out)
}

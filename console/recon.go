package console

// The reconciliation page: the bank's internal file of a day uploaded,
// matched against the organisation's statement as `jinlian recon run`
// matches it, the result signed with the user's key for download, and
// compared with a counterparty's signed result (`jinlian recon compare`).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// maxUpload bounds an uploaded file: a day of a million lines is about
// 150 MB.
const maxUpload = 512 << 20

// reconRun is one reconciliation made in this console.
type reconRun struct {
	ID     string
	Result *recon.Result
	Signed []byte // the signed result file, as recon run --out writes it
	Signer string
	// Flows and FlowsHeight: the positions as the page's chart draws them.
	Flows       []flowRow
	FlowsHeight int
	// Daily and DailyHeight: the organisation's chain credits and debits
	// per asset on each of the dailyDays days to the reconciled one;
	// DailyErr why some day could not be read.
	Daily       []flowRow
	DailyHeight int
	DailyErr    string
}

type reconData struct {
	Date, Encoding, Mapping string
	Run                     *reconRun
	// Compare is the comparison with a counterparty's result, when asked.
	Compare      *recon.Comparison
	CompareWith  string // the counterparty result's signer
	BreakKinds   []string
	PositionRows []recon.Position
	// mappingNotSaved is why the mapping used could not be saved.
	mappingNotSaved error
}

// lastMapping is the mapping to offer: the organisation's last one, else
// the default; err says why the saved one could not be read.
func (s *Server) lastMapping() (string, error) {
	toml, err := s.mapping.last()
	if toml == "" {
		toml = recon.DefaultMappingTOML
	}
	return toml, err
}

func (s *Server) reconPage(w http.ResponseWriter, r *http.Request) {
	v := s.view("recon")
	mapping, err := s.lastMapping()
	v.fail(tr(s.cfg.Lang, "mapping"), err)
	v.Data = &reconData{Date: r.URL.Query().Get("date"), Encoding: "auto", Mapping: mapping, BreakKinds: recon.BreakKinds}
	s.render(w, v)
}

// reconRun reconciles the uploaded file against the statement of the day.
func (s *Server) reconRun(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	v := s.view("recon")
	d := &reconData{Date: strings.TrimSpace(r.PostFormValue("date")), Encoding: r.PostFormValue("encoding"),
		Mapping: r.PostFormValue("mapping"), BreakKinds: recon.BreakKinds}
	v.Data = d
	run, err := s.reconcile(r, d)
	v.fail(tr(s.cfg.Lang, "mapping"), d.mappingNotSaved)
	if err != nil {
		v.fail(tr(s.cfg.Lang, "nav.recon"), err)
		s.render(w, v)
		return
	}
	d.Run, d.Date = run, run.Result.Date
	s.render(w, v)
}

func (s *Server) reconcile(r *http.Request, d *reconData) (*reconRun, error) {
	m := recon.DefaultMapping()
	if strings.TrimSpace(d.Mapping) != "" {
		var err error
		if m, err = recon.ParseMapping([]byte(d.Mapping)); err != nil {
			return nil, fmt.Errorf("column mapping: %w", err)
		}
	}
	if d.Encoding != "" {
		m.Encoding = d.Encoding
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	// A mapping that reads is kept (across restarts too, with a state
	// dir), even if the node then fails: the user's edits are not lost.
	if strings.TrimSpace(d.Mapping) != "" {
		if err := s.mapping.save(d.Mapping); err != nil {
			s.log.Error("console: column mappings", "err", err)
			d.mappingNotSaved = err
		}
	}
	f, hdr, err := r.FormFile("internal")
	if err != nil {
		return nil, fmt.Errorf("choose the internal ledger file of the day: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", hdr.Filename, err)
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	st, err := s.fetchStatement(ctx, recon.Request{Date: d.Date})
	if err != nil {
		return nil, err
	}
	res, err := recon.Reconcile(st, data, hdr.Filename, m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hdr.Filename, err)
	}
	if res.Chain, err = recon.Range(ctx, api.Anchors(s.rpc), st.Day); err != nil {
		return nil, err
	}
	signed, err := recon.Sign(res, s.cfg.Key)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(signed, "", "  ")
	if err != nil {
		return nil, err
	}
	id, err := randomHex("")
	if err != nil {
		return nil, err
	}
	run := &reconRun{ID: id[:16], Result: res, Signed: append(b, '\n'), Signer: s.cfg.Key.Public().Address().String()}
	run.Flows, run.FlowsHeight = flowChart(res.Positions)
	run.Daily, run.DailyHeight, run.DailyErr = s.dailyFlows(ctx, res.Org, res.Date)
	s.recons.put(run.ID, run)
	return run, nil
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) (*reconRun, bool) {
	run, ok := s.recons.get(r.PathValue("id"))
	if !ok {
		http.Error(w, "console: no such reconciliation (the console keeps the last 20): run it again", http.StatusNotFound)
	}
	return run, ok
}

func (s *Server) fileName(run *reconRun, suffix string) string {
	return run.Result.Org + "-" + strings.ReplaceAll(run.Result.Date, "-", "") + suffix
}

// reconResult downloads the signed result file.
func (s *Server) reconResult(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", s.fileName(run, "-recon.json")))
	_, _ = w.Write(run.Signed)
}

// reconBreaks downloads the breaks as CSV, as recon run -o csv prints them.
func (s *Server) reconBreaks(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", s.fileName(run, "-breaks.csv")))
	if err := recon.WriteBreaksCSV(w, run.Result.Breaks); err != nil {
		s.log.Error("console: breaks csv", "err", err)
	}
}

// reconCompare checks a counterparty's signed result, uploaded with the
// address it must be signed by, against this console's result.
func (s *Server) reconCompare(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	v := s.view("recon")
	mapping, _ := s.lastMapping() // why it cannot be read: on the page of its own
	d := &reconData{Date: run.Result.Date, Encoding: "auto", Mapping: mapping, Run: run, BreakKinds: recon.BreakKinds}
	v.Data = d
	cmp, who, err := compareUpload(r, run)
	v.fail(tr(s.cfg.Lang, "compare"), err)
	d.Compare, d.CompareWith = cmp, who
	s.render(w, v)
}

func compareUpload(r *http.Request, run *reconRun) (*recon.Comparison, string, error) {
	signer := strings.TrimSpace(r.PostFormValue("signer"))
	if signer == "" {
		return nil, "", fmt.Errorf("give the address the counterparty published for its reconciliation key: a valid signature by someone else proves nothing")
	}
	want, err := gmcrypto.ParseAddress(signer)
	if err != nil {
		return nil, "", fmt.Errorf("signer: %w", err)
	}
	f, hdr, err := r.FormFile("theirs")
	if err != nil {
		return nil, "", fmt.Errorf("choose the counterparty's signed result file: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, "", err
	}
	theirs, who, err := recon.Verify(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", hdr.Filename, err)
	}
	if who != want.String() {
		return nil, "", fmt.Errorf("%s: %w: signed by %s, not by %s", hdr.Filename, recon.ErrResultSignature, who, want)
	}
	cmp, err := recon.Compare(run.Result, &theirs.Result)
	return cmp, who, err
}

// flowRow is one row of a bar chart at height Y: a counterparty's
// position drawn as four bars (chain and books, credits and debits), or a
// day's chain credits and debits of an asset; each bar a share of the
// largest figure of its asset in the chart. Label names the row, Differs
// marks a position whose two sides do not agree.
type flowRow struct {
	Label   string
	Differs bool
	Y       int
	Bars    []flowBar
}

type flowBar struct {
	Key, Value string
	Y          int
	Width      float64 // of chartWidth
}

// The flows chart's geometry (the template's viewBox is 680 wide): a label
// column, then bars of chartWidth at most, barHeight high, four to a
// counterparty, each followed by its figure.
const (
	chartLabel = 180
	chartWidth = 400
	barHeight  = 9
	rowHeight  = 4*barHeight + 14
)

// chartInput is one row of barChart: its label, the asset its figures
// are of (bars are scaled per asset), and its bars (key, decimal value).
type chartInput struct {
	Label, Asset string
	Differs      bool
	Bars         [][2]string
}

// barChart lays rows out for a server-drawn SVG chart (ADR 0010, no chart
// library to ship or keep): each bar a share of the largest figure of its
// asset, rows of len(bars) bars each.
func barChart(in []chartInput) (rows []flowRow, height int) {
	largest := map[string]*big.Int{}
	num := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return new(big.Int)
		}
		return n.Abs(n)
	}
	for _, c := range in {
		for _, b := range c.Bars {
			if l := largest[c.Asset]; l == nil || num(b[1]).Cmp(l) > 0 {
				largest[c.Asset] = num(b[1])
			}
		}
	}
	y := 0
	for _, c := range in {
		r := flowRow{Label: c.Label, Differs: c.Differs, Y: y}
		for j, b := range c.Bars {
			w := 0.0
			if l := largest[c.Asset]; l != nil && l.Sign() > 0 {
				f, _ := new(big.Rat).SetFrac(num(b[1]), l).Float64()
				w = f * chartWidth
			}
			r.Bars = append(r.Bars, flowBar{Key: b[0], Value: b[1], Y: y + 12 + j*barHeight, Width: w})
		}
		rows = append(rows, r)
		y += len(c.Bars)*barHeight + 14
	}
	return rows, y + 4
}

// flowChart lays the positions out for the reconciliation page's chart:
// per counterparty, chain and books, credits and debits.
func flowChart(ps []recon.Position) ([]flowRow, int) {
	in := make([]chartInput, len(ps))
	for i, p := range ps {
		in[i] = chartInput{Label: p.Asset + " · " + short(p.Counterparty), Asset: p.Asset, Differs: !p.Agree,
			Bars: [][2]string{{"chain_credits", p.ChainCredits}, {"chain_debits", p.ChainDebits}, {"internal_credits", p.InternalCredits}, {"internal_debits", p.InternalDebits}}}
	}
	return barChart(in)
}

// dailyDays is how many days the daily flows chart shows, the reconciled
// one the last.
const dailyDays = 7

// dailyFlows reads the organisation's statement totals of the dailyDays
// days to date (a page of one row each from a node's API, which keeps the
// statements it builds; the whole statement from a plain RPC) and lays
// out, per asset and day, the chain credits and debits. A day that cannot
// be read (pruned, say) is left out and named in errText.
func (s *Server) dailyFlows(ctx context.Context, org, date string) (rows []flowRow, height int, errText string) {
	last, err := time.Parse(recon.DateLayout, date)
	if err != nil {
		return nil, 0, err.Error()
	}
	type sums struct{ credits, debits big.Int }
	byAsset := map[string]map[string]*sums{} // asset → day → sums
	var assets, days, failed []string
	for i := dailyDays - 1; i >= 0; i-- {
		day := last.AddDate(0, 0, -i).Format(recon.DateLayout)
		days = append(days, day)
		var totals []recon.Total
		req := recon.Request{Org: org, Date: day}
		if s.nodeAPI() {
			p, err := s.cfg.Node.StatementPage(ctx, s.apiHTTP, req, 0, 1)
			if err != nil {
				failed = append(failed, day+": "+err.Error())
				continue
			}
			totals = p.Totals
		} else {
			st, err := s.fetchStatement(ctx, req)
			if err != nil {
				failed = append(failed, day+": "+err.Error())
				continue
			}
			totals = st.Totals
		}
		for _, t := range totals {
			if byAsset[t.Asset] == nil {
				byAsset[t.Asset] = map[string]*sums{}
				assets = append(assets, t.Asset)
			}
			d := byAsset[t.Asset][day]
			if d == nil {
				d = &sums{}
				byAsset[t.Asset][day] = d
			}
			for _, f := range []struct {
				dst *big.Int
				v   string
			}{{&d.credits, t.Credits}, {&d.debits, t.Debits}} {
				if n, ok := new(big.Int).SetString(f.v, 10); ok {
					f.dst.Add(f.dst, n)
				}
			}
		}
	}
	slices.Sort(assets)
	var in []chartInput
	for _, a := range assets {
		for _, day := range days {
			c, d := "0", "0"
			if v := byAsset[a][day]; v != nil {
				c, d = v.credits.String(), v.debits.String()
			}
			in = append(in, chartInput{Label: a + " · " + day, Asset: a, Bars: [][2]string{{"chain_credits", c}, {"chain_debits", d}}})
		}
	}
	rows, height = barChart(in)
	return rows, height, strings.Join(failed, "; ")
}

package console

// The reconciliation page: the bank's internal file of a day uploaded,
// matched against the organisation's statement as `jinlian recon run`
// matches it, the result signed with the user's key for download, and
// compared with a counterparty's signed result (`jinlian recon compare`).

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"

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

// flowRow is one counterparty's position drawn as four bars (chain and
// books, credits and debits), each a share of the largest figure of its
// asset in the day, at height Y of the chart.
type flowRow struct {
	Asset, Counterparty string
	Agree               bool
	Y                   int
	Bars                []flowBar
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

// flowChart lays the positions out for the reconciliation page's chart
// (server-drawn SVG: ADR 0010, no chart library to ship or keep).
func flowChart(ps []recon.Position) (rows []flowRow, height int) {
	largest := map[string]*big.Int{}
	num := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return new(big.Int)
		}
		return n.Abs(n)
	}
	for _, p := range ps {
		for _, v := range []string{p.ChainCredits, p.ChainDebits, p.InternalCredits, p.InternalDebits} {
			if l := largest[p.Asset]; l == nil || num(v).Cmp(l) > 0 {
				largest[p.Asset] = num(v)
			}
		}
	}
	for i, p := range ps {
		y := i * rowHeight
		r := flowRow{Asset: p.Asset, Counterparty: p.Counterparty, Agree: p.Agree, Y: y}
		for j, b := range [][2]string{{"chain_credits", p.ChainCredits}, {"chain_debits", p.ChainDebits}, {"internal_credits", p.InternalCredits}, {"internal_debits", p.InternalDebits}} {
			w := 0.0
			if l := largest[p.Asset]; l != nil && l.Sign() > 0 {
				f, _ := new(big.Rat).SetFrac(num(b[1]), l).Float64()
				w = f * chartWidth
			}
			r.Bars = append(r.Bars, flowBar{Key: b[0], Value: b[1], Y: y + 12 + j*barHeight, Width: w})
		}
		rows = append(rows, r)
	}
	return rows, len(ps)*rowHeight + 4
}

package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
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
	queryQC         = "/qc"
	queryProposals  = "/proposals"
	queryProposal   = "/proposal"
)

// pages holds one parsed template per page, each with the layout.
type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range []string{"overview", "explorer", "statement", "governance", "vote", "regulator", "case", "audit"} {
		t, err := template.New("layout.html").Funcs(template.FuncMap{
			"t":     func(lang, key string) string { return tr(lang, key) },
			"short": short,
			"join":  strings.Join,
			"list":  func(v ...string) []string { return v },
		}).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
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

// --- Overview ---

type validatorRow struct {
	Name, Org, Address string
	Power              int64
	// QC is how many of the recent heights' SM2 quorum certificates
	// carry this validator's signature.
	QC int
}

type overviewData struct {
	Chain, Moniker string
	Height         int64
	BlockTime      string
	Age            string
	CatchingUp     bool
	Validators     []validatorRow
	Registered     bool
	Roles          []string
	// QCHeights are the heights whose certificates were read.
	QCFrom, QCTo int64
	QCCount      int
}

// qcWindow is how many recent heights the overview reads SM2 quorum
// certificates of.
const qcWindow = 10

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("overview")
	d := &overviewData{}
	v.Data = d
	st, err := s.rpc.Status(ctx)
	v.fail("status", err)
	if err == nil {
		d.Chain, d.Moniker, v.Chain = st.NodeInfo.Network, st.NodeInfo.Moniker, st.NodeInfo.Network
		d.Height, d.CatchingUp = st.SyncInfo.LatestBlockHeight, st.SyncInfo.CatchingUp
		d.BlockTime = st.SyncInfo.LatestBlockTime.UTC().Format(time.RFC3339)
		d.Age = time.Since(st.SyncInfo.LatestBlockTime).Round(time.Second).String()
	}
	// Names and organisations from the chain's registry, power from
	// CometBFT's validator set.
	var reg []struct {
		Name, Org, Address string
	}
	v.fail("validators", s.query(ctx, queryValidators, nil, &reg))
	names := map[string][2]string{}
	for _, x := range reg {
		names[strings.ToUpper(x.Address)] = [2]string{x.Name, x.Org}
	}
	perPage := 100
	vals, err := s.rpc.Validators(ctx, nil, nil, &perPage)
	v.fail("validators", err)
	if err == nil {
		for _, x := range vals.Validators {
			a := x.Address.String()
			d.Validators = append(d.Validators, validatorRow{Name: names[a][0], Org: names[a][1], Address: a, Power: x.VotingPower})
		}
	}
	if d.Height > 2 {
		s.qcParticipation(ctx, d)
	}
	var ids []struct {
		Name, Org string
		Roles     []string
	}
	err = s.query(ctx, queryRoles, []byte(v.Me), &ids)
	v.fail("roles", err)
	if err == nil && len(ids) > 0 {
		d.Registered, d.Roles = true, ids[0].Roles
	}
	s.render(w, v)
}

// qcParticipation counts, per validator, its signatures in the SM2 quorum
// certificates of the last qcWindow heights that have one (a height's
// certificate lands two blocks later). It reads what the chain recorded;
// `jinlian verify qc` checks the signatures.
func (s *Server) qcParticipation(ctx context.Context, d *overviewData) {
	signed := map[string]int{}
	for h := d.Height - 2; h >= 1 && h > d.Height-2-qcWindow; h-- {
		var qc struct {
			Signatures []struct {
				Validator string `json:"validator"`
			} `json:"signatures"`
		}
		if err := s.query(ctx, queryQC, []byte(strconv.FormatInt(h, 10)), &qc); err != nil {
			continue
		}
		d.QCCount++
		if d.QCTo == 0 {
			d.QCTo = h
		}
		d.QCFrom = h
		for _, sig := range qc.Signatures {
			signed[strings.ToUpper(sig.Validator)]++
		}
	}
	for i := range d.Validators {
		d.Validators[i].QC = signed[d.Validators[i].Address]
	}
}

// health answers the page script's poll: the node's height, or why it
// cannot be reached.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := map[string]any{"ok": false}
	st, err := s.rpc.Status(ctx)
	if err != nil {
		out["error"] = err.Error()
	} else {
		out["ok"], out["height"] = true, st.SyncInfo.LatestBlockHeight
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// --- Explorer ---

type field struct{ K, V string }

type txView struct {
	ID, Hash, Ledger, Chain, Time, Sender, Org, Type, Memo string
	Height                                                 int64
	Fields                                                 []field
	Code                                                   uint32
	Codespace, Log                                         string
	Events                                                 []field
}

type balanceView struct {
	Ledger, Asset, Account string
	Amount                 string
	Height                 int64
}

type explorerData struct {
	TxQuery                  string
	Tx                       *txView
	Ledger, Asset, Account   string
	Balance                  *balanceView
	TxRefused, BalanceRefuse string
}

func (s *Server) explorer(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("explorer")
	q := r.URL.Query()
	d := &explorerData{TxQuery: strings.TrimSpace(q.Get("tx")), Ledger: q.Get("ledger"), Asset: q.Get("asset"), Account: strings.TrimSpace(q.Get("account"))}
	if d.Ledger == "" {
		d.Ledger = "payments"
	}
	if d.Asset == "" {
		d.Asset = "CNY"
	}
	v.Data = d
	if d.TxQuery != "" {
		tx, err := s.lookupTx(ctx, d.TxQuery)
		if err != nil {
			d.TxRefused = err.Error()
		}
		d.Tx = tx
	}
	if d.Account != "" {
		b, err := s.balance(ctx, d.Ledger, d.Asset, d.Account)
		if err != nil {
			d.BalanceRefuse = err.Error()
		}
		d.Balance = b
	}
	s.render(w, v)
}

func (s *Server) balance(ctx context.Context, ledger, asset, account string) (*balanceView, error) {
	a, err := gmcrypto.ParseAddress(account)
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", account, err)
	}
	req, _ := json.Marshal(map[string]string{"ledger": ledger, "asset": asset, "account": a.String()})
	var out struct {
		Amount string `json:"amount"`
		Height int64  `json:"height"`
	}
	if err := s.query(ctx, queryBalance, req, &out); err != nil {
		return nil, err
	}
	return &balanceView{Ledger: ledger, Asset: asset, Account: a.String(), Amount: out.Amount, Height: out.Height}, nil
}

// lookupTx finds a committed transaction: the app says at which height
// its id was spent; the transaction and its result come from the node's
// tx index (CometBFT's tx_search, which the read gate keeps for
// regulators and auditors).
func (s *Server) lookupTx(ctx context.Context, id string) (*txView, error) {
	id = strings.ToLower(id)
	if b, err := hex.DecodeString(id); err != nil || len(b) != 32 {
		return nil, fmt.Errorf("tx id %q: want 64 hex digits (the id a tx command prints)", id)
	}
	var loc struct {
		Height int64 `json:"height"`
	}
	if err := s.query(ctx, queryTx, []byte(id), &loc); err != nil {
		return nil, err
	}
	res, err := s.rpc.TxSearch(ctx, fmt.Sprintf("jinlian_tx.id='%s'", id), false, nil, nil, "asc")
	if err != nil {
		return &txView{ID: id, Height: loc.Height}, fmt.Errorf("tx %s was committed at height %d; its content: %w", id, loc.Height, err)
	}
	if len(res.Txs) == 0 {
		return s.txFromBlock(ctx, id, loc.Height)
	}
	t := res.Txs[0]
	return decodeTx(id, t.Tx, t.Hash, t.Height, &t.TxResult), nil
}

// txFromBlock reads a transaction that the tx index lacks (a failed one
// carries no jinlian_tx event) from its block and results.
func (s *Server) txFromBlock(ctx context.Context, id string, h int64) (*txView, error) {
	blk, err := s.rpc.Block(ctx, &h)
	if err != nil {
		return &txView{ID: id, Height: h}, fmt.Errorf("tx %s was committed at height %d; its block: %w", id, h, err)
	}
	res, err := s.rpc.BlockResults(ctx, &h)
	if err != nil {
		return &txView{ID: id, Height: h}, fmt.Errorf("tx %s was committed at height %d; its result: %w", id, h, err)
	}
	for i, raw := range blk.Block.Txs {
		if t, err := wire.DecodeTx(raw); err == nil && wire.TxIDOf(t) == id && i < len(res.TxsResults) {
			return decodeTx(id, raw, raw.Hash(), h, res.TxsResults[i]), nil
		}
	}
	return nil, fmt.Errorf("tx %s: block %d holds no such transaction", id, h)
}

func decodeTx(id string, raw []byte, hash []byte, height int64, r *abci.ExecTxResult) *txView {
	v := &txView{ID: id, Hash: strings.ToUpper(hex.EncodeToString(hash)), Height: height, Code: r.Code, Codespace: r.Codespace, Log: r.Log}
	if t, err := wire.DecodeTx(raw); err == nil {
		v.Ledger, v.Chain, v.Org, v.Sender = t.Ledger, t.ChainID, t.MSPID, t.Sender.String()
		v.Time = t.Timestamp.UTC().Format(time.RFC3339)
		v.Type = wire.MessageName(t.Msg)
		v.Fields = messageFields(t.Msg)
		for _, f := range v.Fields {
			if f.K == "memo" {
				v.Memo = f.V
			}
		}
	} else {
		v.Fields = []field{{"error", err.Error()}}
	}
	for _, e := range r.Events {
		parts := make([]string, 0, len(e.Attributes))
		for _, a := range e.Attributes {
			parts = append(parts, a.Key+"="+a.Value)
		}
		v.Events = append(v.Events, field{e.Type, strings.Join(parts, " ")})
	}
	return v
}

// messageFields flattens a message's body into name → value, as protojson
// writes it (bytes as base64 there: addresses are shown in hex here).
func messageFields(m *txpb.Message) []field {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return []field{{"error", err.Error()}}
	}
	var outer map[string]map[string]any
	if err := json.Unmarshal(b, &outer); err != nil {
		return []field{{"message", string(b)}}
	}
	var out []field
	for _, body := range outer {
		for k, val := range body {
			out = append(out, field{k, fieldValue(k, val)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

func fieldValue(k string, v any) string {
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		return string(b)
	}
	// protojson writes bytes fields as base64; addresses read as hex.
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 20 && (k == "to" || k == "account" || strings.HasSuffix(k, "address") || k == "from") {
		return hex.EncodeToString(b)
	}
	return s
}

// --- Statement ---

type statementData struct {
	Req      recon.Request
	St       *recon.Statement
	CSVQuery string
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

// --- Governance ---

type proposalView struct {
	ID                    uint64
	Type, Title, Status   string
	Result                string
	Proposer, ProposerOrg string
	EndHeight             int64
	Action                []field
	Votes                 []string
	Voting                bool
}

type proposalJSON struct {
	ID           uint64 `json:"id"`
	Type         string `json:"type"`
	Title        string `json:"title"`
	Action       []byte `json:"action"`
	Proposer     string `json:"proposer"`
	ProposerOrg  string `json:"proposer_org"`
	SubmitHeight int64  `json:"submit_height"`
	EndHeight    int64  `json:"end_height"`
	Votes        []struct {
		Org    string `json:"org"`
		Voter  string `json:"voter"`
		Yes    bool   `json:"yes"`
		Height int64  `json:"height"`
	} `json:"votes"`
	Status string `json:"status"`
	Result string `json:"result"`
}

func proposalOf(p proposalJSON) proposalView {
	pv := proposalView{ID: p.ID, Type: p.Type, Title: p.Title, Status: p.Status, Result: p.Result, Proposer: p.Proposer,
		ProposerOrg: p.ProposerOrg, EndHeight: p.EndHeight, Voting: p.Status == "voting"}
	for k, val := range wire.ActionFields(p.Action) {
		pv.Action = append(pv.Action, field{k, val})
	}
	sort.Slice(pv.Action, func(i, j int) bool { return pv.Action[i].K < pv.Action[j].K })
	for _, vt := range p.Votes {
		pv.Votes = append(pv.Votes, fmt.Sprintf("%s %s @%d", vt.Org, map[bool]string{true: "yes", false: "no"}[vt.Yes], vt.Height))
	}
	return pv
}

func (s *Server) governance(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("governance")
	var ps []proposalJSON
	v.fail(tr(s.cfg.Lang, "proposals"), s.query(ctx, queryProposals, nil, &ps))
	views := make([]proposalView, 0, len(ps))
	for i := len(ps) - 1; i >= 0; i-- { // newest first
		views = append(views, proposalOf(ps[i]))
	}
	v.Data = views
	v.Flash = r.URL.Query().Get("flash")
	s.render(w, v)
}

type voteData struct {
	Proposal   proposalView
	Yes        bool
	Chain      string
	Ledger     string
	Signer     string
	Org        string
	Message    string
	Result     *voteResult
	ConfirmYes string
}

type voteResult struct {
	TxID      string
	Height    int64
	Code      uint32
	Codespace string
	Log       string
}

func voteMessage(id uint64, yes bool) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: yes}}}
}

// voteForm reads and checks the proposal and choice of a vote.
func (s *Server) voteForm(ctx context.Context, r *http.Request) (*voteData, error) {
	id, err := strconv.ParseUint(r.FormValue("id"), 10, 64)
	if err != nil || id == 0 {
		return nil, fmt.Errorf("proposal id %q: want a positive integer", r.FormValue("id"))
	}
	choice := r.FormValue("choice")
	if choice != "yes" && choice != "no" {
		return nil, fmt.Errorf("choice %q: want yes or no", choice)
	}
	var p proposalJSON
	if err := s.query(ctx, queryProposal, []byte(strconv.FormatUint(id, 10)), &p); err != nil {
		return nil, err
	}
	st, err := s.rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	msg, err := signedMessageJSON(voteMessage(id, choice == "yes"))
	if err != nil {
		return nil, err
	}
	return &voteData{Proposal: proposalOf(p), Yes: choice == "yes", ConfirmYes: choice, Chain: st.NodeInfo.Network, Ledger: systemLedger,
		Signer: s.cfg.Key.Public().Address().String(), Org: s.cfg.Org, Message: msg}, nil
}

// signedMessageJSON is the message a vote signs, as protojson writes it,
// indented the same way every time (protojson varies its spacing on
// purpose).
func signedMessageJSON(m *txpb.Message) (string, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return "", err
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return "", err
	}
	return out.String(), nil
}

// voteConfirm shows exactly what a vote will sign; nothing is sent.
func (s *Server) voteConfirm(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("vote")
	d, err := s.voteForm(ctx, r)
	v.fail(tr(s.cfg.Lang, "confirm_vote"), err)
	v.Data = d
	s.render(w, v)
}

// vote signs the vote with the user's key and waits for its block.
func (s *Server) vote(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("vote")
	d, err := s.voteForm(ctx, r)
	v.Data = d
	if err != nil {
		v.fail(tr(s.cfg.Lang, "confirm_vote"), err)
		s.render(w, v)
		return
	}
	signer := wire.Signer{Key: s.cfg.Key, MSPID: s.cfg.Org, CertPEM: s.cfg.CertPEM}
	raw, id, err := wire.BuildTx(signer, d.Chain, systemLedger, time.Now(), voteMessage(d.Proposal.ID, d.Yes))
	if err != nil {
		v.fail("sign", err)
		s.render(w, v)
		return
	}
	res, err := s.rpc.BroadcastTxCommit(ctx, raw)
	if err != nil {
		v.fail("broadcast", fmt.Errorf("tx %s: %w (it may still commit: look it up in the explorer before voting again)", id, err))
		s.render(w, v)
		return
	}
	out := &voteResult{TxID: id, Height: res.Height, Code: res.TxResult.Code, Codespace: res.TxResult.Codespace, Log: res.TxResult.Log}
	if res.CheckTx.Code != 0 {
		out.Height, out.Code, out.Codespace, out.Log = 0, res.CheckTx.Code, res.CheckTx.Codespace, res.CheckTx.Log
	}
	d.Result = out
	s.log.Info("console: vote sent", "proposal", d.Proposal.ID, "yes", d.Yes, "tx", id, "code", out.Code)
	s.render(w, v)
}

// --- Regulator ---

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
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "console: streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
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

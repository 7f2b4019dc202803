package console

// Governance: proposals, and votes signed after a confirmation page.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

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

// certificateStatus is app.CertificateStatus, the answer of
// queryCertificate.
type certificateStatus struct {
	References bool `json:"references"`
	Recorded   bool `json:"recorded"`
}

// namingCertificate returns signer naming its certificate by SM3 hash
// once the chain has recorded it (ADR 0025), as `jinlian tx` signs by
// default: the envelope is about 450 bytes smaller. Otherwise (no
// certificate, a chain without certificate references, a certificate not
// recorded yet, a node that cannot say) the vote carries it whole, which
// is always valid.
func (s *Server) namingCertificate(ctx context.Context, signer wire.Signer) wire.Signer {
	named, err := signer.NamingCert()
	if err != nil {
		return signer // no certificate (or not of the key): carried as it is
	}
	var st certificateStatus
	if err := s.query(ctx, queryCertificate, []byte(hex.EncodeToString(named.CertRef)), &st); err != nil || !st.References || !st.Recorded {
		return signer
	}
	return named
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
	signer := s.namingCertificate(ctx, wire.Signer{Key: s.cfg.Key, MSPID: s.cfg.Org, CertPEM: s.cfg.CertPEM})
	raw, id, err := wire.BuildTx(signer, d.Chain, systemLedger, time.Now(), voteMessage(d.Proposal.ID, d.Yes))
	if err != nil {
		v.fail(tr(s.cfg.Lang, "sign_send"), err)
		s.render(w, v)
		return
	}
	res, err := s.rpc.BroadcastTxCommit(ctx, raw)
	if err != nil {
		v.fail(tr(s.cfg.Lang, "sign_send"), fmt.Errorf("tx %s: %w (it may still commit: look it up in the explorer before voting again)", id, err))
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

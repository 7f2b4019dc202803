package console

// The overview page and the health poll of the page script.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/wire"
)

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
	// Anchoring is the checkpoint anchoring status (anchoring.go).
	Anchoring *anchorView
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
	v.fail(tr(s.cfg.Lang, "node"), err)
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
	v.fail(tr(s.cfg.Lang, "validators"), s.query(ctx, queryValidators, nil, &reg))
	names := map[string][2]string{}
	for _, x := range reg {
		names[strings.ToUpper(x.Address)] = [2]string{x.Name, x.Org}
	}
	perPage := 100
	vals, err := s.rpc.Validators(ctx, nil, nil, &perPage)
	v.fail(tr(s.cfg.Lang, "validators"), err)
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
	v.fail(tr(s.cfg.Lang, "roles"), err)
	if err == nil && len(ids) > 0 {
		d.Registered, d.Roles = true, ids[0].Roles
	}
	d.Anchoring = s.anchoring(ctx, d.Chain)
	s.render(w, v)
}

// qcParticipation counts, per validator, its signatures in the SM2 quorum
// certificates of the last qcWindow heights that have one (a height's
// certificate lands two blocks later). It reads what the chain recorded;
// `jinlian verify qc` checks the signatures.
func (s *Server) qcParticipation(ctx context.Context, d *overviewData) {
	signed := map[string]int{}
	for h := d.Height - 2; h >= 1 && h > d.Height-2-qcWindow; h-- {
		signers, err := s.qcSigners(ctx, h)
		if err != nil {
			continue
		}
		d.QCCount++
		if d.QCTo == 0 {
			d.QCTo = h
		}
		d.QCFrom = h
		for _, v := range signers {
			signed[v]++
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

// qcSigners are the validators (CometBFT addresses, upper-case hex) of the
// QC of height h: from the node's API (GET /v1/qc), whose gate lets
// members read no raw block, or from block h+2 over a plain RPC.
func (s *Server) qcSigners(ctx context.Context, h int64) ([]string, error) {
	var out []string
	if s.apiHTTP != nil {
		var qc struct {
			Signatures []struct {
				Validator string `json:"validator"`
			} `json:"signatures"`
		}
		if err := s.cfg.Node.Get(ctx, s.apiHTTP, "/v1/qc?height="+strconv.FormatInt(h, 10), &qc); err != nil {
			return nil, err
		}
		for _, sig := range qc.Signatures {
			out = append(out, strings.ToUpper(sig.Validator))
		}
		return out, nil
	}
	qc, err := wire.QCAt(ctx, s.rpc, h)
	if err != nil {
		return nil, err
	}
	if qc == nil {
		return nil, fmt.Errorf("block %d carries no quorum certificate", h+2)
	}
	for _, sig := range qc.Signatures {
		out = append(out, strings.ToUpper(hex.EncodeToString(sig.Validator)))
	}
	return out, nil
}

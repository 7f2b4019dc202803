package console

// The overview's checkpoint anchoring status: the latest checkpoint the
// CheckpointAnchor contract on Ethereum holds (contracts/ethereum), the
// Ethereum transaction that anchored it, and whether its app hash is the
// chain's at that height (the header of the next block, which every
// caller of the node may read). The console reads the anchor over
// Ethereum's JSON-RPC itself when told where it is (Config.EthRPC,
// Anchor), with proof.LatestAnchored (plain JSON-RPC, no Ethereum
// library: the reader of jinlian verify proof --eth-rpc); otherwise it
// asks the node's API, which reads the contract its configuration names
// with the same code (GET /v1/anchoring). The chain's checkpoint
// parameters come from the app (/checkpoint).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/proof"
)

// queryCheckpoint is the app's checkpoint query (app.QueryCheckpoint):
// data is an epoch, the answer carries the chain's checkpoint interval.
const queryCheckpoint = "/checkpoint"

// anchorView is the overview's anchoring section.
type anchorView struct {
	// Off says why anchoring is not shown (the chain defines no
	// checkpoints; the console was not told where the anchor is).
	Off string
	// Err is why the status could not be read.
	Err string
	// ByNode: the node read the contract (GET /v1/anchoring), at EthRPC.
	ByNode   bool
	EthRPC   string
	Contract string
	Interval int64
	Epoch    uint64
	Height   uint64
	// AppHash is the anchored app hash; ChainAppHash the one in the
	// header of block Height+1; Match whether they are equal.
	AppHash, ChainAppHash string
	Match                 bool
	CheckpointHash        string
	// EthTx is the transaction that anchored the epoch, in Ethereum
	// block EthBlock.
	EthTx    string
	EthBlock uint64
}

// anchoring reads the anchoring status; it fails soft: the overview shows
// what it could read and why not the rest.
func (s *Server) anchoring(ctx context.Context, chainID string) *anchorView {
	a := &anchorView{Contract: s.cfg.Anchor}
	var params struct {
		Interval int64 `json:"checkpoint_interval"`
	}
	if err := s.query(ctx, queryCheckpoint, []byte("0"), &params); err != nil {
		a.Err = err.Error()
		return a
	}
	a.Interval = params.Interval
	switch {
	case params.Interval <= 0:
		a.Off = tr(s.cfg.Lang, "anchor_off_chain")
		return a
	case (s.cfg.EthRPC == "" || s.cfg.Anchor == "") && s.nodeAPI():
		s.nodeAnchor(ctx, a)
		return a
	case s.cfg.EthRPC == "" || s.cfg.Anchor == "":
		a.Off = tr(s.cfg.Lang, "anchor_off_console")
		return a
	}
	if err := s.readAnchor(ctx, a, chainID); err != nil {
		a.Err = err.Error()
	}
	return a
}

func (s *Server) readAnchor(ctx context.Context, a *anchorView, chainID string) error {
	hc := s.cfg.EthHTTP
	if hc == nil {
		hc = &http.Client{Timeout: s.cfg.Timeout}
	}
	rep, err := proof.LatestAnchored(ctx, proof.Anchor{RPC: s.cfg.EthRPC, Address: s.cfg.Anchor, Client: hc}, chainID)
	if err != nil {
		return err
	}
	a.Contract, a.Epoch, a.Height, a.AppHash, a.CheckpointHash = rep.Contract, rep.Epoch, rep.Height, rep.AppHash, rep.Checkpoint
	a.EthTx, a.EthBlock = rep.EthTx, rep.EthBlock
	// The app hash after block Height is in the header of Height+1.
	next := int64(a.Height) + 1
	c, err := s.rpc.Commit(ctx, &next)
	if err != nil {
		return fmt.Errorf("header of block %d: %w", next, err)
	}
	a.ChainAppHash = c.Header.AppHash.String()
	a.Match = strings.EqualFold(a.ChainAppHash, a.AppHash)
	return nil
}

// nodeAnchor fills a from the node's GET /v1/anchoring; a node that does
// not know the anchor (HTTP 404) turns the section off, saying so.
func (s *Server) nodeAnchor(ctx context.Context, a *anchorView) {
	st, err := s.cfg.Node.Anchoring(ctx, s.apiHTTP)
	var apiErr *api.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		a.Off = tr(s.cfg.Lang, "anchor_off_node")
		return
	case err != nil:
		a.Err = err.Error()
		return
	}
	a.ByNode, a.EthRPC = true, st.RPC
	a.Contract, a.Epoch, a.Height, a.AppHash, a.CheckpointHash = st.Contract, st.Epoch, st.Height, st.AppHash, st.CheckpointHash
	a.EthTx, a.EthBlock, a.ChainAppHash, a.Match = st.EthTx, st.EthBlock, st.ChainAppHash, st.Match
}

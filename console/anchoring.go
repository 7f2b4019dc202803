package console

// The overview's checkpoint anchoring status: the latest checkpoint the
// CheckpointAnchor contract on Ethereum holds (contracts/ethereum), the
// Ethereum transaction that anchored it, and whether its app hash is the
// chain's at that height (the header of the next block, which every
// caller of the node may read). The node's API exposes no anchoring state
// of its own: the console reads the anchor over Ethereum's JSON-RPC
// when told where it is (Config.EthRPC, Anchor), with proof.LatestAnchored
// (plain JSON-RPC, no Ethereum library: the reader of jinlian verify proof
// --eth-rpc), and the chain's checkpoint parameters from the app
// (/checkpoint).

import (
	"context"
	"fmt"
	"net/http"
	"strings"

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
	Err      string
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

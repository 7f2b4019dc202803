package api

import (
	"context"
	"errors"
	"net/http"
)

// AnchoringStatus is the latest checkpoint the chain's CheckpointAnchor on
// Ethereum holds, as the node read it from the contract (GET
// /v1/anchoring), and whether its app hash is the chain's: the app hash
// after block Height, in the header of block Height+1.
type AnchoringStatus struct {
	Contract string `json:"contract"`
	// RPC is the Ethereum endpoint the node read the contract from.
	RPC    string `json:"eth_rpc"`
	Epoch  uint64 `json:"epoch"`
	Height uint64 `json:"height"`
	// AppHash is the anchored app hash, ChainAppHash the chain's at
	// Height; Match is whether they are equal.
	AppHash        string `json:"app_hash"`
	ChainAppHash   string `json:"chain_app_hash"`
	Match          bool   `json:"match"`
	CheckpointHash string `json:"checkpoint_hash"`
	// EthTx is the transaction that anchored the epoch, in EthBlock.
	EthTx    string `json:"eth_tx"`
	EthBlock uint64 `json:"eth_block"`
}

// AnchoringSource reads the anchoring status (package node: the contract
// that checkpoint.anchor or anchor.json names, over checkpoint.eth_rpc).
type AnchoringSource func(ctx context.Context) (*AnchoringStatus, error)

// ErrNoAnchor, from an AnchoringSource, says the node does not know where
// the chain's checkpoint anchor is (HTTP 404).
var ErrNoAnchor = errors.New("this node is not told where the checkpoint anchor is (checkpoint.eth_rpc and checkpoint.anchor, or the anchor.json its prover writes)")

// anchoring serves GET /v1/anchoring: contract state and hashes only, like
// /v1/qc, so any client the TLS layer admits may read it.
func (s *Server) anchoring(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "GET /v1/anchoring takes no parameters"})
		return
	}
	var st *AnchoringStatus
	err := ErrNoAnchor
	if s.opts.Anchoring != nil {
		st, err = s.opts.Anchoring(r.Context())
	}
	if errors.Is(err, ErrNoAnchor) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	writeFromNode(w, st, err)
}

// Anchoring reads the node's anchoring status (GET /v1/anchoring; hc as
// for Get); only a node's API serves it.
func (n Node) Anchoring(ctx context.Context, hc *http.Client) (*AnchoringStatus, error) {
	var st AnchoringStatus
	if err := n.Get(ctx, hc, "/v1/anchoring", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

package proof

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Source is where Build reads: a node's CometBFT RPC (directly, or
// through the node's API gate: raw blocks, which a tx bundle needs, are
// for regulators and auditors there) and a way to read the QC of a height
// (the first transaction of block h+2; the API serves it as GET /v1/qc).
type Source struct {
	RPC rpcclient.Client
	QC  func(ctx context.Context, h int64) (app.QCResponse, error)
	// From is the height the header chain starts at (0: the node's
	// earliest block, the genesis on an unpruned node). A verifier that
	// trusts a (height, hash) needs the chain to include that height.
	From int64
	// API, when set, reads the node's client API as the caller: Tx then
	// asks it for the bundle (GET /v1/proofs/tx: the node builds it for
	// the organisations the transaction concerns, since its gate gives
	// members no raw block). NodeSource sets it for an API.
	API GetJSON
}

// Key is one key of a sub-ledger a state bundle proves.
type Key struct {
	Ledger string
	Key    []byte
}

// StateHeight is the height Build proves at when asked for 0: the latest
// whose QC is committed (the QC of h is in block h+2).
func (s Source) StateHeight(ctx context.Context) (int64, error) {
	st, err := s.RPC.Status(ctx)
	if err != nil {
		return 0, err
	}
	h := st.SyncInfo.LatestBlockHeight - 2
	if h < 1 {
		return 0, fmt.Errorf("the chain is at height %d: a proof needs the quorum certificate of a height, in the block two after it", st.SyncInfo.LatestBlockHeight)
	}
	return h, nil
}

// State builds a bundle of the given keys at height h (0: StateHeight).
func (s Source) State(ctx context.Context, h int64, keys []Key) (*Bundle, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key to prove")
	}
	b, err := s.envelope(ctx, KindState, h)
	if err != nil {
		return nil, err
	}
	b.State = &State{}
	for _, k := range keys {
		e, err := s.entry(ctx, b, app.QueryStore, storeRequest(k), k.Key)
		if err != nil {
			return nil, fmt.Errorf("prove key %x of %s: %w", k.Key, k.Ledger, err)
		}
		b.State.Entries = append(b.State.Entries, e)
	}
	return b, nil
}

// QC builds a bundle of the certificate of height h alone.
func (s Source) QCBundle(ctx context.Context, h int64) (*Bundle, error) {
	return s.envelope(ctx, KindQC, h)
}

func storeRequest(k Key) []byte {
	b, _ := json.Marshal(app.StoreRequest{Ledger: k.Ledger, Key: hex.EncodeToString(k.Key)})
	return b
}

// Tx builds the bundle of the transaction id included in block h, from
// its block and results, or asks the node's API for it (Source.API).
func (s Source) Tx(ctx context.Context, h int64, id string) (*Bundle, error) {
	id = strings.ToLower(id)
	if s.API != nil {
		return s.txFromAPI(ctx, h, id)
	}
	blk, err := s.RPC.Block(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", h, err)
	}
	idx := -1
	for i, raw := range blk.Block.Txs {
		if t, err := wire.DecodeTx(raw); err == nil && wire.TxIDOf(t) == id {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("block %d holds no transaction %s", h, id)
	}
	res, err := s.RPC.BlockResults(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("results of block %d: %w", h, err)
	}
	if len(res.TxsResults) != len(blk.Block.Txs) {
		return nil, fmt.Errorf("block %d has %d results for %d transactions", h, len(res.TxsResults), len(blk.Block.Txs))
	}
	b, err := s.envelope(ctx, KindTx, h)
	if err != nil {
		return nil, err
	}
	r := res.TxsResults[idx]
	hdr := blk.Block.Header.ToProto()
	hdrBytes, err := hdr.Marshal()
	if err != nil {
		return nil, err
	}
	dp := blk.Block.Txs.Proof(idx)
	rp := cmttypes.NewResults(res.TxsResults).ProveResult(idx)
	tx := &Tx{ID: id, Index: uint32(idx), Tx: Hex(blk.Block.Txs[idx]), Code: r.Code, Header: hdrBytes,
		DataProof:   fromMerkle(dp.Proof.Total, dp.Proof.Index, dp.Proof.LeafHash, dp.Proof.Aunts),
		Result:      ExecResult{Code: r.Code, Data: Hex(nonNil(r.Data)), GasWanted: r.GasWanted, GasUsed: r.GasUsed},
		ResultProof: fromMerkle(rp.Total, rp.Index, rp.LeafHash, rp.Aunts), ResultsPath: []ResultStep{}}
	leaves := make([][gmcrypto.HashSize]byte, len(blk.Block.Txs))
	for i, raw := range blk.Block.Txs {
		leaves[i] = wire.TxResultLeaf(uint32(i), raw, res.TxsResults[i].Code)
	}
	steps, err := wire.TxResultsPath(leaves, idx)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		side := "right"
		if st.Left {
			side = "left"
		}
		tx.ResultsPath = append(tx.ResultsPath, ResultStep{Side: side, Hash: Hex(bytes.Clone(st.Hash[:]))})
	}
	if tx.Results, err = s.entry(ctx, b, app.QueryTxResults, nil, wire.TxResultsKey); err != nil {
		return nil, fmt.Errorf("results commitment of block %d: %w", h, err)
	}
	b.Tx = tx
	return b, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func fromMerkle(total, index int64, leaf []byte, aunts [][]byte) MerkleProof {
	p := MerkleProof{Total: total, Index: index, LeafHash: leaf, Aunts: []Hex{}}
	for _, a := range aunts {
		p.Aunts = append(p.Aunts, a)
	}
	return p
}

// envelope fills what every kind carries: the app hash and ledger roots
// of h, the header chain to h+1, the QC of h with its signers' proven
// registrations.
func (s Source) envelope(ctx context.Context, kind string, h int64) (*Bundle, error) {
	if h == 0 {
		var err error
		if h, err = s.StateHeight(ctx); err != nil {
			return nil, err
		}
	}
	from := s.From
	if from == 0 {
		st, err := s.RPC.Status(ctx)
		if err != nil {
			return nil, err
		}
		from = st.SyncInfo.EarliestBlockHeight
	}
	if from > h+1 {
		return nil, fmt.Errorf("the header chain would start at %d, after block %d", from, h+1)
	}
	trace, err := headerTrace(ctx, s.lightBlock, from, h+1)
	if err != nil {
		return nil, fmt.Errorf("header chain %d..%d: %w", from, h+1, err)
	}
	top := trace[len(trace)-1]
	b := &Bundle{Format: Format, Kind: kind, ChainID: top.ChainID, Height: h, AppHash: Hex(top.AppHash)}
	for _, lb := range trace {
		enc, err := encodeLightBlock(lb)
		if err != nil {
			return nil, err
		}
		b.LightBlocks = append(b.LightBlocks, enc)
	}
	qc, err := s.QC(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("quorum certificate of height %d: %w", h, err)
	}
	b.Certificate.QC = QC{ChainID: qc.ChainID, Height: qc.Height, Signatures: []QCSignature{}}
	if b.Certificate.QC.AppHash, err = hex.DecodeString(qc.AppHash); err != nil {
		return nil, fmt.Errorf("quorum certificate of height %d: app hash: %w", h, err)
	}
	for _, sig := range qc.Signatures {
		v, err1 := hex.DecodeString(sig.Validator)
		sg, err2 := hex.DecodeString(sig.Signature)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("quorum certificate of height %d: malformed signature entry", h)
		}
		b.Certificate.QC.Signatures = append(b.Certificate.QC.Signatures, QCSignature{Validator: v, Signature: sg})
	}
	b.Certificate.Registry = []Entry{}
	for _, v := range top.ValidatorSet.Validators {
		e, err := s.entry(ctx, b, app.QueryValidator, []byte(v.Address.String()), nil)
		if err != nil {
			return nil, fmt.Errorf("registration of validator %s: %w", v.Address, err)
		}
		b.Certificate.Registry = append(b.Certificate.Registry, e)
	}
	return b, nil
}

// entry runs a proving query at the bundle's height and checks that its
// proof is under the bundle's app hash (a node that answers a proof of
// another height is caught here, not by the counterparty). key nil: the
// key the answer names.
func (s Source) entry(ctx context.Context, b *Bundle, path string, data, key []byte) (Entry, error) {
	res, err := s.RPC.ABCIQueryWithOptions(ctx, path, data, rpcclient.ABCIQueryOptions{Height: b.Height, Prove: true})
	if err != nil {
		return Entry{}, fmt.Errorf("query %s: %w", path, err)
	}
	r := res.Response
	if r.Code != 0 {
		return Entry{}, fmt.Errorf("query %s: code %d (%s): %s", path, r.Code, r.Codespace, r.Log)
	}
	if r.Height != b.Height {
		return Entry{}, fmt.Errorf("query %s answered height %d for %d", path, r.Height, b.Height)
	}
	if key == nil {
		key = r.Key
	}
	kp, err := app.ParseProofOps(r.ProofOps, key)
	if err != nil {
		return Entry{}, err
	}
	if err := ledger.VerifyInAppHash(b.AppHash, kp.Roots, kp.Ledger, kp.Key, kp.Value, kp.Proof); err != nil {
		return Entry{}, fmt.Errorf("the node's proof does not verify under the app hash of block %d's header: %w", b.Height+1, err)
	}
	if b.LedgerRoots == nil {
		for _, lr := range kp.Roots {
			b.LedgerRoots = append(b.LedgerRoots, LedgerRoot{Name: lr.Name, Root: lr.Root})
		}
	}
	return Entry{Ledger: kp.Ledger, Key: kp.Key, Value: kp.Value, Proof: kp.Proof}, nil
}

// lightBlock reads block h's signed header and validator set (every page).
func (s Source) lightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	c, err := s.RPC.Commit(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("commit of block %d: %w", h, err)
	}
	var vals []*cmttypes.Validator
	perPage := 100
	for page := 1; ; page++ {
		p := page
		r, err := s.RPC.Validators(ctx, &h, &p, &perPage)
		if err != nil {
			return nil, fmt.Errorf("validators of block %d: %w", h, err)
		}
		vals = append(vals, r.Validators...)
		if len(r.Validators) == 0 || len(vals) >= r.Total {
			break
		}
	}
	set, err := cmttypes.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, fmt.Errorf("validators of block %d: %w", h, err)
	}
	sh := c.SignedHeader
	return &cmttypes.LightBlock{SignedHeader: &sh, ValidatorSet: set}, nil
}

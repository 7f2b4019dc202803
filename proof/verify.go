package proof

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Trust is the verifier's trusted point: a genesis file, or a block
// height and hash (from a source it trusts: its own node, another
// member). Guomi (with a genesis) skips CometBFT's header chain and
// commitments and checks with SM2/SM3 alone: the quorum certificate
// against the SM2 node keys and powers of the genesis, the app hash it
// certifies, the fact under it.
type Trust struct {
	Genesis *cmttypes.GenesisDoc
	Height  int64
	Hash    []byte
	Guomi   bool
	// Now bounds header times (CometBFT's clock-drift rule); zero: the clock.
	Now time.Time
}

// Report is what Verify established.
type Report struct {
	Kind    string `json:"kind"`
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	AppHash string `json:"app_hash"`
	// Headers: the header chain was verified from the trusted point (not
	// in guomi mode), up to block Header.
	Headers     bool          `json:"headers_verified"`
	Header      int64         `json:"header_height,omitempty"`
	Certificate app.QCReport  `json:"certificate"`
	Entries     []EntryReport `json:"entries,omitempty"`
	Tx          *TxReport     `json:"tx,omitempty"`
	// Completeness: the movements listed are all of the account's in
	// the range.
	Completeness *CompletenessReport `json:"completeness,omitempty"`
}

// EntryReport is one proven key.
type EntryReport struct {
	Ledger string `json:"ledger"`
	Key    string `json:"key"`
	Found  bool   `json:"found"`
	Value  string `json:"value,omitempty"`
}

// TxReport is a proven transaction: in block Height at Index with Code,
// by CometBFT's commitments (CometBFT, not in guomi mode) and by the SM3
// results commitment (SM3).
type TxReport struct {
	ID       string `json:"id"`
	Index    uint32 `json:"index"`
	Code     uint32 `json:"code"`
	CometBFT bool   `json:"cometbft_verified"`
	SM3      bool   `json:"sm3_verified"`
}

// Verify checks b offline against t, in this order (each failure wraps
// the error of its step: ErrTrust, ErrHeaders, ErrAppHash, ErrLedgerRoots,
// ErrRegistry, ErrCertificate, ErrState, ErrTxHeader, ErrTxData,
// ErrTxResult, ErrTxResults, ErrTxID):
//
//  1. the bundle's shape (Decode's checks) and chain;
//  2. the light blocks from the trusted point to block H+1 (CometBFT's
//     light-client rules), and block H+1's app_hash is app_hash;
//  3. the ledger roots hash to app_hash (SM3);
//  4. each validator of block H+1's verified set has its registration
//     proven in the state of H, and the QC of H verifies with those SM2
//     keys and the set's powers (guomi: the keys and powers of the genesis);
//  5. the fact: each state entry under app_hash; or the transaction in
//     block H's data_hash and its result in block H+1's last_results_hash
//     (CometBFT), and in the SM3 results commitment of H (guomi too).
func Verify(b *Bundle, t Trust) (Report, error) {
	rep := Report{Kind: b.Kind, ChainID: b.ChainID, Height: b.Height, AppHash: fmt.Sprintf("%X", []byte(b.AppHash))}
	if err := b.validate(); err != nil {
		return rep, err
	}
	if t.Genesis != nil && t.Genesis.ChainID != b.ChainID {
		return rep, fmt.Errorf("%w: chain_id %q, the trusted genesis is of %q", ErrChain, b.ChainID, t.Genesis.ChainID)
	}
	now := t.Now
	if now.IsZero() {
		now = time.Now()
	}
	var top *cmttypes.LightBlock
	var blocks []*cmttypes.LightBlock
	if t.Guomi {
		if t.Genesis == nil {
			return rep, fmt.Errorf("%w: guomi verification needs the genesis (its SM2 node keys)", ErrTrust)
		}
	} else {
		for i, raw := range b.LightBlocks {
			lb, err := decodeLightBlock(raw, b.ChainID)
			if errors.Is(err, ErrChain) {
				return rep, fmt.Errorf("light_blocks[%d]: %w", i, err)
			}
			if err != nil {
				return rep, fmt.Errorf("%w: light_blocks[%d]: %v", ErrHeaders, i, err)
			}
			blocks = append(blocks, lb)
		}
		var err error
		if top, err = verifyHeaders(b.ChainID, blocks, t, now); err != nil {
			return rep, err
		}
		if top.Height != b.Height+1 {
			return rep, fmt.Errorf("%w: the last light block is of height %d, want %d (the header after height)", ErrHeaders, top.Height, b.Height+1)
		}
		if !bytes.Equal(top.AppHash, b.AppHash) {
			return rep, fmt.Errorf("%w: block %d's verified header says %X", ErrAppHash, top.Height, []byte(top.AppHash))
		}
		rep.Headers, rep.Header = true, top.Height
	}
	roots := make([]ledger.LedgerRoot, len(b.LedgerRoots))
	for i, r := range b.LedgerRoots {
		roots[i] = ledger.LedgerRoot{Name: r.Name, Root: r.Root}
	}
	if got := ledger.AppHash(roots); !bytes.Equal(got, b.AppHash) {
		return rep, fmt.Errorf("%w: they hash to %X, app_hash is %X", ErrLedgerRoots, got, []byte(b.AppHash))
	}
	if _, err := ledger.RootOf(roots, permission.SystemLedger); err != nil {
		return rep, fmt.Errorf("%w: %v", ErrLedgerRoots, err)
	}
	vals, err := certificateValidators(b, roots, top, t)
	if err != nil {
		return rep, err
	}
	if rep.Certificate, err = verifyCertificate(b, vals); err != nil {
		return rep, err
	}
	switch b.Kind {
	case KindState, KindCompleteness:
		for i, e := range b.State.Entries {
			if err := verifyEntry(b.AppHash, roots, e); err != nil {
				return rep, fmt.Errorf("%w: state.entries[%d]: %v", ErrState, i, err)
			}
			er := EntryReport{Ledger: e.Ledger, Key: fmt.Sprintf("%X", []byte(e.Key)), Found: e.Value != nil}
			if e.Value != nil {
				er.Value = fmt.Sprintf("%X", []byte(e.Value))
			}
			rep.Entries = append(rep.Entries, er)
		}
	case KindTx:
		tr, err := verifyTx(b, roots, blocks, top, t.Guomi)
		if err != nil {
			return rep, err
		}
		rep.Tx = &tr
	}
	if b.Kind == KindCompleteness {
		cr, err := verifyCompleteness(b, t)
		if err != nil {
			return rep, err
		}
		rep.Completeness = &cr
	}
	return rep, nil
}

func verifyEntry(appHash []byte, roots []ledger.LedgerRoot, e Entry) error {
	return ledger.VerifyInAppHash(appHash, roots, e.Ledger, e.Key, e.Value, e.Proof)
}

// certificateValidators are the validators the QC of H is checked
// against: block H+1's verified set (the registry after H−1, which signs
// the QC of H), each with its SM2 key from its registration proven in the
// state of H; in guomi mode the genesis registrations and powers.
func certificateValidators(b *Bundle, roots []ledger.LedgerRoot, top *cmttypes.LightBlock, t Trust) ([]permission.Validator, error) {
	if t.Guomi {
		var g app.GenesisState
		if err := json.Unmarshal(t.Genesis.AppState, &g); err != nil {
			return nil, fmt.Errorf("%w: genesis app_state: %v", ErrTrust, err)
		}
		power := map[string]int64{}
		for _, v := range t.Genesis.Validators {
			power[v.PubKey.Address().String()] = v.Power
		}
		out := make([]permission.Validator, 0, len(g.Validators))
		for _, v := range g.Validators {
			v.Address = strings.ToUpper(v.Address)
			v.Power = power[v.Address]
			out = append(out, v)
		}
		return out, nil
	}
	proven := map[string]permission.Validator{}
	for i, e := range b.Certificate.Registry {
		if e.Ledger != permission.SystemLedger || e.Value == nil {
			return nil, fmt.Errorf("%w: certificate.registry[%d]: want a registration in %s", ErrRegistry, i, permission.SystemLedger)
		}
		if err := verifyEntry(b.AppHash, roots, e); err != nil {
			return nil, fmt.Errorf("%w: certificate.registry[%d]: %v", ErrRegistry, i, err)
		}
		var v permission.Validator
		if err := ledger.Decode(e.Value, &v); err != nil {
			return nil, fmt.Errorf("%w: certificate.registry[%d]: value: %v", ErrRegistry, i, err)
		}
		if !bytes.Equal(e.Key, permission.ValidatorKey(v.Address)) {
			return nil, fmt.Errorf("%w: certificate.registry[%d]: key %q does not hold the registration of %s", ErrRegistry, i, e.Key, v.Address)
		}
		proven[strings.ToUpper(v.Address)] = v
	}
	out := make([]permission.Validator, 0, top.ValidatorSet.Size())
	for _, cv := range top.ValidatorSet.Validators {
		addr := cv.Address.String()
		v, ok := proven[addr]
		if !ok {
			return nil, fmt.Errorf("%w: validator %s of block %d's set has no proven registration", ErrRegistry, addr, top.Height)
		}
		v.Address, v.Power = addr, cv.VotingPower
		out = append(out, v)
	}
	return out, nil
}

func verifyCertificate(b *Bundle, vals []permission.Validator) (app.QCReport, error) {
	q := b.Certificate.QC
	if q.Height != b.Height {
		return app.QCReport{}, fmt.Errorf("%w: certificate of height %d in a bundle of height %d", ErrCertificate, q.Height, b.Height)
	}
	qc := &txpb.QuorumCertificate{ChainId: q.ChainID, Height: q.Height, AppHash: q.AppHash}
	for _, s := range q.Signatures {
		qc.Signatures = append(qc.Signatures, &txpb.QCSignature{Validator: s.Validator, Signature: s.Signature})
	}
	rep, err := app.VerifyQC(qc, b.ChainID, b.AppHash, vals)
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	return rep, nil
}

func toMerkle(p MerkleProof) *merkle.Proof {
	out := &merkle.Proof{Total: p.Total, Index: p.Index, LeafHash: p.LeafHash}
	for _, a := range p.Aunts {
		out.Aunts = append(out.Aunts, a)
	}
	return out
}

func verifyTx(b *Bundle, roots []ledger.LedgerRoot, blocks []*cmttypes.LightBlock, top *cmttypes.LightBlock, guomi bool) (TxReport, error) {
	tx := b.Tx
	rep := TxReport{ID: tx.ID, Index: tx.Index, Code: tx.Code}
	// The transaction's id is the envelope's (SM3 of nonce and creator).
	t, err := wire.DecodeTx(tx.Tx)
	if err != nil {
		return rep, fmt.Errorf("%w: tx.tx does not decode: %v", ErrTxID, err)
	}
	if id := wire.TxIDOf(t); id != strings.ToLower(tx.ID) {
		return rep, fmt.Errorf("%w: the envelope's id is %s, the bundle says %s", ErrTxID, id, tx.ID)
	}
	if !guomi {
		var hp cmtproto.Header
		if err := hp.Unmarshal(tx.Header); err != nil {
			return rep, fmt.Errorf("%w: %v", ErrTxHeader, err)
		}
		h, err := cmttypes.HeaderFromProto(&hp)
		if err != nil {
			return rep, fmt.Errorf("%w: %v", ErrTxHeader, err)
		}
		if h.Height != b.Height || !bytes.Equal(h.Hash(), top.LastBlockID.Hash) {
			return rep, fmt.Errorf("%w: header of height %d hashes to %X, block %d's verified last_block_id is %X", ErrTxHeader, h.Height, h.Hash(), top.Height, []byte(top.LastBlockID.Hash))
		}
		dp := cmttypes.TxProof{RootHash: h.DataHash, Data: cmttypes.Tx(tx.Tx), Proof: *toMerkle(tx.DataProof)}
		if dp.Proof.Index != int64(tx.Index) {
			return rep, fmt.Errorf("%w: proof of position %d for tx.index %d", ErrTxData, dp.Proof.Index, tx.Index)
		}
		if err := dp.Validate(h.DataHash); err != nil {
			return rep, fmt.Errorf("%w: %v", ErrTxData, err)
		}
		if tx.Result.Code != tx.Code {
			return rep, fmt.Errorf("%w: result code %d, tx.code %d", ErrTxResult, tx.Result.Code, tx.Code)
		}
		leaf, err := cmttypes.NewResults([]*abci.ExecTxResult{{Code: tx.Result.Code, Data: tx.Result.Data, GasWanted: tx.Result.GasWanted, GasUsed: tx.Result.GasUsed}})[0].Marshal()
		if err != nil {
			return rep, fmt.Errorf("%w: %v", ErrTxResult, err)
		}
		rp := toMerkle(tx.ResultProof)
		if rp.Index != int64(tx.Index) {
			return rep, fmt.Errorf("%w: proof of position %d for tx.index %d", ErrTxResult, rp.Index, tx.Index)
		}
		if err := rp.Verify(top.LastResultsHash, leaf); err != nil {
			return rep, fmt.Errorf("%w: block %d's last_results_hash %X: %v", ErrTxResult, top.Height, []byte(top.LastResultsHash), err)
		}
		rep.CometBFT = true
	}
	// SM3: the results record of H, proven under the app hash, and the path.
	r := tx.Results
	if r.Ledger != permission.SystemLedger || !bytes.Equal(r.Key, wire.TxResultsKey) || r.Value == nil {
		return rep, fmt.Errorf("%w: want the %s record %s", ErrTxResults, permission.SystemLedger, wire.TxResultsKey)
	}
	if err := verifyEntry(b.AppHash, roots, r); err != nil {
		return rep, fmt.Errorf("%w: %v", ErrTxResults, err)
	}
	rec, err := wire.DecodeTxResultsRecord(r.Value)
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrTxResults, err)
	}
	if rec.Height != b.Height || tx.Index >= rec.Count {
		return rep, fmt.Errorf("%w: the record is of block %d with %d transactions; want block %d and position %d", ErrTxResults, rec.Height, rec.Count, b.Height, tx.Index)
	}
	path := make([]wire.ResultStep, len(tx.ResultsPath))
	for i, s := range tx.ResultsPath {
		path[i].Left = s.Side == "left"
		copy(path[i].Hash[:], s.Hash)
	}
	if err := wire.VerifyTxResult(rec.Root, tx.Index, tx.Tx, tx.Code, path); err != nil {
		return rep, fmt.Errorf("%w: %v", ErrTxResults, err)
	}
	rep.SM3 = true
	return rep, nil
}

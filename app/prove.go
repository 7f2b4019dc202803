package app

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// State proofs (docs/proofs.md). A query with prove=true on a path that
// names one key (proofKey) answers, besides its usual value, the key and
// two proof operations, in the order a verifier applies them:
//
//  1. ProofOpICS23: key = the key, data = an encoded ICS-23
//     CommitmentProof, existence (its value is the raw stored bytes) or
//     non-existence, against the sub-ledger's IAVL root;
//  2. ProofOpAppHash: key = the sub-ledger's name, data = JSON
//     [{"name","root"}] (root hex), the height's (name, IAVL root) pairs
//     sorted by name, whose SM3 Merkle root (ledger.AppHash) is the app
//     hash of the queried height.
const (
	ProofOpICS23   = "ics23:iavl"
	ProofOpAppHash = "jinlian:apphash-sm3"
)

// StoreRequest names one key of a sub-ledger (hex).
type StoreRequest struct {
	Ledger string `json:"ledger"`
	Key    string `json:"key"`
}

// StoreResponse is the raw value of a key at Height (Found false: not set).
type StoreResponse struct {
	StoreRequest
	Found  bool   `json:"found"`
	Value  string `json:"value,omitempty"`
	Height int64  `json:"height"`
}

// TxResultsResponse is the results commitment of the block of Height.
type TxResultsResponse struct {
	Height int64  `json:"height"`
	Count  uint32 `json:"count"`
	Root   string `json:"root"`
}

// ProofRoot is one (sub-ledger, IAVL root) pair of ProofOpAppHash.
type ProofRoot struct {
	Name string `json:"name"`
	Root string `json:"root"`
}

func decodeStoreRequest(data []byte) (StoreRequest, []byte, error) {
	var req StoreRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return req, nil, ErrBadQuery.Wrapf("store request: %v", err)
	}
	key, err := hex.DecodeString(req.Key)
	if err != nil || len(key) == 0 {
		return req, nil, ErrBadQuery.Wrapf("store request: key %q: want a non-empty hex string", req.Key)
	}
	return req, key, nil
}

func queryStore(v *ledger.View, data []byte) (StoreResponse, error) {
	req, key, err := decodeStoreRequest(data)
	if err != nil {
		return StoreResponse{}, err
	}
	if !v.HasLedger(req.Ledger) {
		return StoreResponse{}, ErrUnknownLedger.Wrapf("%q at height %d", req.Ledger, v.Height())
	}
	val, err := v.Get(req.Ledger, key)
	if err != nil {
		return StoreResponse{}, err
	}
	req.Key = hex.EncodeToString(key)
	return StoreResponse{StoreRequest: req, Found: val != nil, Value: hex.EncodeToString(val), Height: v.Height()}, nil
}

func queryTxResults(v *ledger.View) (TxResultsResponse, error) {
	b, err := v.Get(permission.SystemLedger, wire.TxResultsKey)
	if err != nil {
		return TxResultsResponse{}, err
	}
	if b == nil {
		return TxResultsResponse{}, ErrBadQuery.Wrapf("no results commitment at height %d (a chain started before ADR 0013)", v.Height())
	}
	r, err := wire.DecodeTxResultsRecord(b)
	if err != nil {
		return TxResultsResponse{}, err
	}
	return TxResultsResponse{Height: r.Height, Count: r.Count, Root: strings.ToUpper(hex.EncodeToString(r.Root[:]))}, nil
}

// proofKey is the one (sub-ledger, key) that a query of path with data
// reads, for the paths that serve proofs.
func proofKey(path string, data []byte) (string, []byte, error) {
	switch path {
	case QueryBalance:
		var req BalanceRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return "", nil, ErrBadQuery.Wrapf("balance request: %v", err)
		}
		addr, err := gmcrypto.ParseAddress(req.Account)
		if err != nil {
			return "", nil, ErrBadQuery.Wrapf("%v", err)
		}
		return req.Ledger, payments.BalanceKey(req.Asset, addr), nil
	case QueryStore:
		req, key, err := decodeStoreRequest(data)
		return req.Ledger, key, err
	case QueryValidator:
		return permission.SystemLedger, permission.ValidatorKey(string(data)), nil
	case QueryTxResults:
		return permission.SystemLedger, wire.TxResultsKey, nil
	}
	return "", nil, ErrBadQuery.Wrapf("path %s serves no proof (paths with proofs: %s, %s, %s, %s)", path, QueryBalance, QueryStore, QueryValidator, QueryTxResults)
}

// ProveKey returns the two proof operations of key in ledger at v's
// height (see ProofOpICS23).
func ProveKey(v *ledger.View, ledgerName string, key []byte) (*cmtcrypto.ProofOps, error) {
	_, proof, err := v.Prove(ledgerName, key)
	if err != nil {
		return nil, ErrBadQuery.Wrapf("%v", err)
	}
	roots, err := json.Marshal(proofRoots(v.Roots()))
	if err != nil {
		return nil, err
	}
	return &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{
		{Type: ProofOpICS23, Key: key, Data: proof},
		{Type: ProofOpAppHash, Key: []byte(ledgerName), Data: roots},
	}}, nil
}

func proofRoots(roots []ledger.LedgerRoot) []ProofRoot {
	out := make([]ProofRoot, len(roots))
	for i, r := range roots {
		out[i] = ProofRoot{Name: r.Name, Root: strings.ToUpper(hex.EncodeToString(r.Root))}
	}
	return out
}

// KeyProof is a state proof taken apart from its proof operations.
type KeyProof struct {
	Ledger string
	Key    []byte
	// Value is the raw stored value, nil when the proof shows the key is not set.
	Value []byte
	Proof []byte
	Roots []ledger.LedgerRoot
}

// ParseProofOps checks the shape of ops (ProveKey's two operations for
// key) and takes them apart; the value comes from the existence proof.
// ledger.VerifyInAppHash checks the result against an app hash.
func ParseProofOps(ops *cmtcrypto.ProofOps, key []byte) (KeyProof, error) {
	var kp KeyProof
	if ops == nil || len(ops.Ops) != 2 {
		return kp, fmt.Errorf("%w: want 2 proof operations (%s, %s)", ledger.ErrMembershipProof, ProofOpICS23, ProofOpAppHash)
	}
	iavl, top := ops.Ops[0], ops.Ops[1]
	if iavl.Type != ProofOpICS23 || top.Type != ProofOpAppHash {
		return kp, fmt.Errorf("%w: proof operations %q, %q; want %q, %q", ledger.ErrMembershipProof, iavl.Type, top.Type, ProofOpICS23, ProofOpAppHash)
	}
	if string(iavl.Key) != string(key) {
		return kp, fmt.Errorf("%w: the proof is of key %x, not %x", ledger.ErrMembershipProof, iavl.Key, key)
	}
	var roots []ProofRoot
	if err := json.Unmarshal(top.Data, &roots); err != nil {
		return kp, fmt.Errorf("%w: ledger roots: %v", ledger.ErrLedgerRoots, err)
	}
	kp = KeyProof{Ledger: string(top.Key), Key: key, Proof: iavl.Data}
	for _, r := range roots {
		b, err := hex.DecodeString(r.Root)
		if err != nil {
			return kp, fmt.Errorf("%w: root of %s: %v", ledger.ErrLedgerRoots, r.Name, err)
		}
		kp.Roots = append(kp.Roots, ledger.LedgerRoot{Name: r.Name, Root: b})
	}
	val, err := ledger.ProvenValue(iavl.Data)
	if err != nil {
		return kp, err
	}
	kp.Value = val
	return kp, nil
}

package reserves

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// BundleFormat is the version of Bundle this package writes and reads.
const BundleFormat = 1

// Bundle is a holder's proof of reserves, checkable offline (Verify):
// its leaf, the sibling path with sums up to the committed root, the
// committed record, an IAVL existence proof of the record in its
// sub-ledger's tree, and the (ledger, root) pairs whose SM3 Merkle root
// is the app hash of Height.
type Bundle struct {
	Format  int    `json:"format"`
	ChainID string `json:"chain_id,omitempty"`
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Account string `json:"account"`
	Balance uint64 `json:"balance,string"`
	// Index is the leaf's position among Record.Accounts leaves.
	Index uint64     `json:"index,string"`
	Path  []PathStep `json:"path"`
	// Record is RecordValue decoded, for reading; Verify requires both to agree.
	Record      Record       `json:"record"`
	RecordValue Hex          `json:"record_value"`
	RecordProof Hex          `json:"record_proof"`
	LedgerRoots []LedgerRoot `json:"ledger_roots"`
	Height      int64        `json:"height"`
	AppHash     Hex          `json:"app_hash"`
}

// PathStep is a sibling on the path from the leaf up.
type PathStep struct {
	Side string `json:"side"` // "left" or "right": where the sibling is
	Hash Hex    `json:"hash"`
	Sum  uint64 `json:"sum,string"`
}

// LedgerRoot is a sub-ledger's IAVL root at Height.
type LedgerRoot struct {
	Name string `json:"name"`
	Root Hex    `json:"root"`
}

// Limits of a bundle a decoder accepts: a path longer than 64 steps
// cannot come from a tree of 64-bit leaf count.
const (
	maxBundleBytes = 1 << 20
	maxPath        = 64
	maxLedgers     = 4096
)

// DecodeBundle reads a bundle strictly: one JSON object with no unknown
// fields and nothing after it, of BundleFormat, with hashes of the right
// sizes. It checks the shape only; Verify checks the proof.
func DecodeBundle(b []byte) (*Bundle, error) {
	if len(b) > maxBundleBytes {
		return nil, ErrBadBundle.Wrapf("%d bytes, more than %d", len(b), maxBundleBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var out Bundle
	if err := dec.Decode(&out); err != nil {
		return nil, ErrBadBundle.Wrapf("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrBadBundle.Wrapf("data after the bundle")
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

func (b *Bundle) validate() error {
	switch {
	case b.Format != BundleFormat:
		return ErrBadBundle.Wrapf("format %d; this verifier reads format %d", b.Format, BundleFormat)
	case b.Ledger == "" || b.Asset == "":
		return ErrBadBundle.Wrapf("no ledger or asset")
	case len(b.Asset) > 255:
		return ErrBadBundle.Wrapf("asset symbol of %d bytes", len(b.Asset))
	case len(b.Path) > maxPath:
		return ErrBadBundle.Wrapf("path of %d steps, more than %d", len(b.Path), maxPath)
	case len(b.LedgerRoots) > maxLedgers:
		return ErrBadBundle.Wrapf("%d ledger roots, more than %d", len(b.LedgerRoots), maxLedgers)
	case len(b.AppHash) != HashSize:
		return ErrBadBundle.Wrapf("app hash of %d bytes", len(b.AppHash))
	case len(b.Record.Root) != HashSize:
		return ErrBadBundle.Wrapf("record root of %d bytes", len(b.Record.Root))
	case b.Height < 1:
		return ErrBadBundle.Wrapf("height %d", b.Height)
	}
	if _, err := gmcrypto.ParseAddress(b.Account); err != nil {
		return ErrBadBundle.Wrapf("account: %v", err)
	}
	for i, s := range b.Path {
		if len(s.Hash) != HashSize || (s.Side != "left" && s.Side != "right") {
			return ErrBadBundle.Wrapf("path step %d: want side left or right and a %d-byte hash", i, HashSize)
		}
	}
	return nil
}

// Encode writes the bundle as indented JSON.
func (b *Bundle) Encode() ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

// Prove builds the bundle of account's balance of sym on ledgerName from
// v, the committed state at the height of the asset's record.
func (k Keeper) Prove(v *ledger.View, chainID, ledgerName, sym string, account gmcrypto.Address) (*Bundle, error) {
	value, proof, err := v.ProveMembership(ledgerName, RecordKey(sym))
	if err != nil {
		return nil, ErrNoRecord.Wrapf("asset %s on ledger %s at height %d: %v", sym, ledgerName, v.Height(), err)
	}
	var rec Record
	if err := ledger.Decode(value, &rec); err != nil {
		return nil, err
	}
	if rec.Height != v.Height() {
		return nil, fmt.Errorf("the reserves record of %s on %s at height %d is of height %d", sym, ledgerName, v.Height(), rec.Height)
	}
	entries, err := k.Entries(v, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	t, err := Build(entries)
	if err != nil {
		return nil, err
	}
	if root := t.Root(); !bytes.Equal(root.Hash[:], rec.Root) || root.Sum != rec.Total {
		return nil, fmt.Errorf("the balances of %s on %s at height %d give root %X, the record says %X", sym, ledgerName, v.Height(), root.Hash, []byte(rec.Root))
	}
	e, idx, steps, err := t.Prove(account)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Format: BundleFormat, ChainID: chainID, Ledger: ledgerName, Asset: sym, Account: account.String(),
		Balance: e.Balance, Index: idx, Path: []PathStep{}, Record: rec, RecordValue: value, RecordProof: proof, Height: v.Height()}
	for _, s := range steps {
		b.Path = append(b.Path, PathStep{Side: side(s.Left), Hash: Hex(bytes.Clone(s.Hash[:])), Sum: s.Sum})
	}
	roots := v.Roots()
	for _, r := range roots {
		b.LedgerRoots = append(b.LedgerRoots, LedgerRoot{Name: r.Name, Root: r.Root})
	}
	b.AppHash = ledger.AppHash(roots)
	return b, nil
}

// Report is what Verify established.
type Report struct {
	Ledger   string `json:"ledger"`
	Asset    string `json:"asset"`
	Account  string `json:"account"`
	Balance  uint64 `json:"balance,string"`
	Total    uint64 `json:"total,string"`
	Accounts uint64 `json:"accounts,string"`
	Height   int64  `json:"height"`
	AppHash  string `json:"app_hash"`
}

// Verify checks b offline with SM3 (and IAVL's SHA-256 for the one step
// inside the sub-ledger's tree), in this order, each failure with its
// registered error:
//
//  1. the leaf and the path lead to the record's root with every node's
//     sum its children's, without overflow, and to the record's total
//     (ErrPathShape, ErrSumOverflow, ErrRootMismatch, ErrTotalMismatch);
//  2. the record shown is the record proven, of the bundle's height
//     (ErrRecordMismatch), and states total + pending == issued − burned
//     (ErrSupplyMismatch);
//  3. the record is the value of the asset's record key in the ledger's
//     IAVL tree (ErrRecordNotProven);
//  4. the ledger roots hash to the app hash (ErrAppHashMismatch).
//
// Whether that app hash is the chain's is for the caller to establish
// (jinlian verify reserves --node checks its SM2 quorum certificate).
func Verify(b *Bundle) (Report, error) {
	rep := Report{Ledger: b.Ledger, Asset: b.Asset, Account: b.Account, Balance: b.Balance, Total: b.Record.Total,
		Accounts: b.Record.Accounts, Height: b.Height, AppHash: fmt.Sprintf("%X", []byte(b.AppHash))}
	if err := b.validate(); err != nil {
		return rep, err
	}
	acc, _ := gmcrypto.ParseAddress(b.Account)
	path := make([]Step, len(b.Path))
	for i, s := range b.Path {
		path[i] = Step{Left: s.Side == "left", Node: Node{Sum: s.Sum}}
		copy(path[i].Hash[:], s.Hash)
	}
	var root [HashSize]byte
	copy(root[:], b.Record.Root)
	if err := VerifyPath(acc, b.Balance, b.Index, b.Record.Accounts, path, root, b.Record.Total); err != nil {
		return rep, err
	}
	var proven Record
	if err := ledger.Decode(b.RecordValue, &proven); err != nil {
		return rep, ErrRecordMismatch.Wrapf("record value: %v", err)
	}
	if !equalRecords(proven, b.Record) {
		return rep, ErrRecordMismatch.Wrapf("the bundle shows %+v, the proven bytes say %+v", b.Record, proven)
	}
	if proven.Height != b.Height {
		return rep, ErrRecordMismatch.Wrapf("record of height %d in a bundle of height %d", proven.Height, b.Height)
	}
	if err := proven.CheckSupply(); err != nil {
		return rep, err
	}
	roots := make([]ledger.LedgerRoot, len(b.LedgerRoots))
	for i, r := range b.LedgerRoots {
		roots[i] = ledger.LedgerRoot{Name: r.Name, Root: r.Root}
	}
	switch err := ledger.VerifyInAppHash(b.AppHash, roots, b.Ledger, RecordKey(b.Asset), b.RecordValue, b.RecordProof); {
	case errors.Is(err, ledger.ErrAppHashMismatch):
		return rep, ErrAppHashMismatch.Wrapf("%v", err)
	case err != nil:
		return rep, ErrRecordNotProven.Wrapf("record of %s in ledger %s: %v", b.Asset, b.Ledger, err)
	}
	return rep, nil
}

func equalRecords(a, b Record) bool {
	return a.Height == b.Height && bytes.Equal(a.Root, b.Root) && a.Total == b.Total && a.Accounts == b.Accounts &&
		a.Issued == b.Issued && a.Burned == b.Burned && a.Pending == b.Pending
}

package proof

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jinlian-ledger/jinlian/movement"
)

// Format is the version of Bundle this package writes and reads.
const Format = 1

// Kinds of bundle. A kind names what the bundle proves under the app hash;
// the rest of the envelope (headers, certificate) is common to all.
const (
	KindState = "state" // values (or absence) of keys of sub-ledgers
	KindTx    = "tx"    // a transaction in block H with its result code
	KindQC    = "qc"    // the quorum certificate of H alone
	// KindCompleteness: every movement of an account's asset at heights
	// from..to (H = to), against its completeness commitments.
	KindCompleteness = "completeness"
)

// Kinds lists the kinds this verifier reads.
var Kinds = []string{KindState, KindTx, KindQC, KindCompleteness}

// Bundle is one proof, checkable offline (Verify). Field by field in
// docs/proofs.md.
type Bundle struct {
	Format  int    `json:"format"`
	Kind    string `json:"kind"`
	ChainID string `json:"chain_id"`
	// Height is the state height H: the app hash is the one after block H
	// (a tx bundle: the block that includes the transaction).
	Height      int64        `json:"height"`
	AppHash     Hex          `json:"app_hash"`
	LedgerRoots []LedgerRoot `json:"ledger_roots"`
	State       *State       `json:"state,omitempty"`
	Tx          *Tx          `json:"tx,omitempty"`
	// Completeness, with State proving the account's balance record at
	// H (the end of the range), is a completeness bundle's claim.
	Completeness *Completeness `json:"completeness,omitempty"`
	Certificate  Certificate   `json:"certificate"`
	// LightBlocks are CometBFT light blocks (protobuf
	// tendermint.types.LightBlock, hex), ascending, the last of height H+1.
	LightBlocks []Hex `json:"light_blocks"`
}

// Completeness claims that Movements are all the movements of Account's
// Asset on Ledger at heights FromHeight..ToHeight (= H), in chain order:
// Before is a state bundle of the balance record after FromHeight−1 (nil
// from height 1: the verifier reads the opening balance from the trusted
// genesis), the
// enclosing bundle's state proves it after H, and the movements must
// carry the committed chain and count from one to the other
// (docs/proofs.md, docs/reconciliation.md#completeness-commitments).
type Completeness struct {
	Ledger     string              `json:"ledger"`
	Asset      string              `json:"asset"`
	Account    string              `json:"account"`
	FromHeight int64               `json:"from_height"`
	ToHeight   int64               `json:"to_height"`
	Before     *Bundle             `json:"before"`
	Movements  []movement.Movement `json:"movements"`
}

// LedgerRoot is a sub-ledger's IAVL root after block H.
type LedgerRoot struct {
	Name string `json:"name"`
	Root Hex    `json:"root"`
}

// State is what a state bundle proves.
type State struct {
	Entries []Entry `json:"entries"`
}

// Entry is one key of a sub-ledger with its value (null: not set) and an
// ICS-23 proof (protobuf cosmos.ics23.v1.CommitmentProof, hex) against
// the sub-ledger's root.
type Entry struct {
	Ledger string `json:"ledger"`
	Key    Hex    `json:"key"`
	Value  Hex    `json:"value"`
	Proof  Hex    `json:"proof"`
}

// Tx is what a tx bundle proves, two ways: with CometBFT's commitments
// (Header, DataProof, Result, ResultProof) and with SM3 (Results,
// ResultsPath; docs/adr/0013-tx-results-commitment.md).
type Tx struct {
	ID    string `json:"id"`
	Index uint32 `json:"index"`
	Tx    Hex    `json:"tx"`
	Code  uint32 `json:"code"`
	// Header is block H's header (protobuf tendermint.types.Header, hex).
	Header    Hex         `json:"header"`
	DataProof MerkleProof `json:"data_proof"`
	// Result is the ExecTxResult's fields that CometBFT hashes into
	// last_results_hash of block H+1.
	Result      ExecResult  `json:"result"`
	ResultProof MerkleProof `json:"result_proof"`
	// Results is the results commitment of block H in _system, proven.
	Results     Entry        `json:"results"`
	ResultsPath []ResultStep `json:"results_path"`
}

// ExecResult is the deterministic part of an ExecTxResult.
type ExecResult struct {
	Code      uint32 `json:"code"`
	Data      Hex    `json:"data"`
	GasWanted int64  `json:"gas_wanted"`
	GasUsed   int64  `json:"gas_used"`
}

// MerkleProof is a CometBFT (RFC 6962, SHA-256) Merkle proof.
type MerkleProof struct {
	Total    int64 `json:"total"`
	Index    int64 `json:"index"`
	LeafHash Hex   `json:"leaf_hash"`
	Aunts    []Hex `json:"aunts"`
}

// ResultStep is a sibling on the SM3 results path, from the leaf up.
type ResultStep struct {
	Side string `json:"side"` // "left" or "right": where the sibling is
	Hash Hex    `json:"hash"`
}

// Certificate is the SM2 quorum certificate of H and the registration of
// each validator of block H+1's set, proven in the state of H.
type Certificate struct {
	QC       QC      `json:"qc"`
	Registry []Entry `json:"registry"`
}

// QC is app.QCResponse's content: signatures are the validators' vote
// extensions (hex), each carrying an SM2 signature over
// app.QCSignBytes(chain, H, app hash).
type QC struct {
	ChainID    string        `json:"chain_id"`
	Height     int64         `json:"height"`
	AppHash    Hex           `json:"app_hash"`
	Signatures []QCSignature `json:"signatures"`
}

// QCSignature is one signer of the QC.
type QCSignature struct {
	Validator Hex `json:"validator"`
	Signature Hex `json:"signature"`
}

// Hex is bytes as a hex string (either case read; upper case written).
// A JSON null is nil; "" is empty, not nil.
type Hex []byte

// MarshalJSON writes upper-case hex, null for nil.
func (h Hex) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

// UnmarshalJSON reads a hex string or null.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a hex string: %w", err)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("want a hex string: %w", err)
	}
	if d == nil {
		d = []byte{}
	}
	*h = d
	return nil
}

// Limits a decoder enforces before anything is verified.
const (
	MaxBundleBytes = 8 << 20
	maxEntries     = 1024
	maxLightBlocks = 512
	maxLedgers     = 4096
	maxValidators  = 1024
	maxPath        = 64
)

// Errors of Verify and Decode, one per step, each naming the field or step
// that failed (errors.Is tells them apart; the message says why).
var (
	ErrMalformed    = errors.New("malformed bundle")
	ErrKind         = errors.New("unknown bundle kind")
	ErrChain        = errors.New("bundle of another chain")
	ErrTrust        = errors.New("light_blocks: trusted point not matched")
	ErrHeaders      = errors.New("light_blocks: header chain does not verify")
	ErrAppHash      = errors.New("app_hash: not the app hash of the verified header")
	ErrLedgerRoots  = errors.New("ledger_roots: do not hash to app_hash")
	ErrRegistry     = errors.New("certificate.registry: registration not proven")
	ErrCertificate  = errors.New("certificate.qc: quorum certificate does not verify")
	ErrState        = errors.New("state.entries: entry not proven")
	ErrTxHeader     = errors.New("tx.header: not block H's header")
	ErrTxData       = errors.New("tx.data_proof: transaction not in the block's data_hash")
	ErrTxResult     = errors.New("tx.result_proof: result not in last_results_hash")
	ErrCompleteness = errors.New("completeness: the movements are not all of the account's")
	ErrTxResults    = errors.New("tx.results: SM3 results commitment does not prove the transaction")
	ErrTxID         = errors.New("tx.id: not the transaction's id")
)

// Decode reads a bundle strictly: one JSON object, no unknown fields,
// nothing after it, of Format and a known kind, within the limits. It
// checks the shape only; Verify checks the proof.
func Decode(b []byte) (*Bundle, error) {
	if len(b) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxBundleBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var out Bundle
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the bundle", ErrMalformed)
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

// Encode writes the bundle as indented JSON.
func (b *Bundle) Encode() ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}

func (b *Bundle) validate() error {
	if b.Format != Format {
		return malformed("format", "%d; this verifier reads format %d", b.Format, Format)
	}
	switch b.Kind {
	case KindState:
		if b.State == nil || b.Tx != nil || b.Completeness != nil {
			return malformed("state", "a state bundle carries state and no tx")
		}
		if len(b.State.Entries) == 0 || len(b.State.Entries) > maxEntries {
			return malformed("state.entries", "%d entries, want 1..%d", len(b.State.Entries), maxEntries)
		}
		for i, e := range b.State.Entries {
			if err := e.validate(fmt.Sprintf("state.entries[%d]", i)); err != nil {
				return err
			}
		}
	case KindTx:
		if b.Tx == nil || b.State != nil || b.Completeness != nil {
			return malformed("tx", "a tx bundle carries tx and no state")
		}
		if err := b.Tx.validate(); err != nil {
			return err
		}
	case KindQC:
		if b.Tx != nil || b.State != nil || b.Completeness != nil {
			return malformed("kind", "a qc bundle carries neither state nor tx")
		}
	case KindCompleteness:
		if err := b.Completeness.validate(b); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: kind %q; this verifier reads %s", ErrKind, b.Kind, strings.Join(Kinds, ", "))
	}
	switch {
	case b.ChainID == "":
		return malformed("chain_id", "empty")
	case b.Height < 1:
		return malformed("height", "%d, want a positive height", b.Height)
	case len(b.AppHash) != 32:
		return malformed("app_hash", "%d bytes, want 32", len(b.AppHash))
	case len(b.LedgerRoots) == 0 || len(b.LedgerRoots) > maxLedgers:
		return malformed("ledger_roots", "%d roots, want 1..%d", len(b.LedgerRoots), maxLedgers)
	case len(b.LightBlocks) > maxLightBlocks:
		return malformed("light_blocks", "%d light blocks, more than %d", len(b.LightBlocks), maxLightBlocks)
	case len(b.Certificate.Registry) > maxValidators || len(b.Certificate.QC.Signatures) > maxValidators:
		return malformed("certificate", "more than %d validators", maxValidators)
	}
	for i, e := range b.Certificate.Registry {
		if err := e.validate(fmt.Sprintf("certificate.registry[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// maxMovements bounds a completeness bundle's list (the bundle's byte
// limit bounds it first).
const maxMovements = 20000

func (c *Completeness) validate(b *Bundle) error {
	switch {
	case c == nil || b.Tx != nil:
		return malformed("completeness", "a completeness bundle carries completeness and state, and no tx")
	case b.State == nil || len(b.State.Entries) != 1:
		return malformed("state", "a completeness bundle proves one entry, the balance record at to_height")
	case c.FromHeight < 1 || c.ToHeight < c.FromHeight:
		return malformed("completeness", "heights %d..%d: want 1 ≤ from_height ≤ to_height", c.FromHeight, c.ToHeight)
	case c.ToHeight != b.Height:
		return malformed("completeness.to_height", "%d, the bundle proves height %d", c.ToHeight, b.Height)
	case c.FromHeight == 1 && c.Before != nil:
		return malformed("completeness.before", "from height 1 the state before is the genesis's: want no before bundle")
	case c.FromHeight == 1:
		// The opening balances come from the trusted genesis.
	case c.Before == nil || c.Before.Kind != KindState || c.Before.Completeness != nil:
		return malformed("completeness.before", "want a state bundle of the balance record at from_height−1")
	case c.Before.Height != c.FromHeight-1:
		return malformed("completeness.before.height", "%d, want from_height−1 = %d", c.Before.Height, c.FromHeight-1)
	case len(c.Movements) > maxMovements:
		return malformed("completeness.movements", "%d movements, more than %d", len(c.Movements), maxMovements)
	}
	if c.Before == nil {
		return nil
	}
	if err := c.Before.validate(); err != nil {
		return fmt.Errorf("completeness.before: %w", err)
	}
	if len(c.Before.State.Entries) != 1 {
		return malformed("completeness.before.state", "want one entry, the balance record")
	}
	return nil
}

func (e Entry) validate(field string) error {
	switch {
	case e.Ledger == "":
		return malformed(field+".ledger", "empty")
	case len(e.Key) == 0:
		return malformed(field+".key", "empty")
	case len(e.Proof) == 0:
		return malformed(field+".proof", "empty")
	case e.Value != nil && len(e.Value) == 0:
		return malformed(field+".value", "empty; a key that is not set has value null")
	}
	return nil
}

func (t *Tx) validate() error {
	switch {
	case len(t.Tx) == 0:
		return malformed("tx.tx", "empty")
	case len(t.Header) == 0:
		return malformed("tx.header", "empty")
	case len(t.ResultsPath) > maxPath:
		return malformed("tx.results_path", "%d steps, more than %d", len(t.ResultsPath), maxPath)
	case len(t.DataProof.Aunts) > maxPath || len(t.ResultProof.Aunts) > maxPath:
		return malformed("tx.data_proof", "more than %d aunts", maxPath)
	}
	for i, s := range t.ResultsPath {
		if len(s.Hash) != 32 || (s.Side != "left" && s.Side != "right") {
			return malformed(fmt.Sprintf("tx.results_path[%d]", i), "want side left or right and a 32-byte hash")
		}
	}
	return t.Results.validate("tx.results")
}

package prover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// Record is what a node keeps of a proven checkpoint.
type Record struct {
	Checkpoint  checkpoint.Checkpoint `json:"checkpoint"`
	Hash        checkpoint.Hash32     `json:"hash"`
	Digest      checkpoint.Hash32     `json:"digest"`
	CircuitID   string                `json:"circuit_id"`
	Proof       checkpoint.HexBytes   `json:"proof"`
	Signers     int                   `json:"signers"`
	Validators  int                   `json:"validators"`
	ProvedAt    time.Time             `json:"proved_at"`
	ProveMillis int64                 `json:"prove_ms"`
	// Anchor is set once the relayer has seen the checkpoint anchored.
	Anchor *AnchorInfo `json:"anchor,omitempty"`
}

// AnchorInfo records a checkpoint's anchoring transaction.
type AnchorInfo struct {
	Contract string `json:"contract"`
	TxHash   string `json:"tx_hash,omitempty"`
	Block    uint64 `json:"block,omitempty"`
	GasUsed  uint64 `json:"gas_used,omitempty"`
}

// Store keeps records as one JSON file per epoch in a directory (by default
// <home>/data/checkpoints). Writes are atomic (temp file and rename), so a
// node killed while proving finds either the old state or the new one.
type Store struct{ dir string }

// StoreDir is a node's checkpoint store.
func StoreDir(home string) string { return filepath.Join(home, "data", "checkpoints") }

// OpenStore opens (creating) a store.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(epoch uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("epoch-%020d.json", epoch))
}

// Save writes rec, replacing any record of its epoch.
func (s *Store) Save(rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(rec.Checkpoint.Epoch), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// Load reads the record of epoch; ok is false if there is none.
func (s *Store) Load(epoch uint64) (rec Record, ok bool, err error) {
	b, err := os.ReadFile(s.path(epoch))
	if errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("checkpoint record %s: %w", s.path(epoch), err)
	}
	return rec, true, nil
}

// Epochs lists the stored epochs in order.
func (s *Store) Epochs() ([]uint64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "epoch-") || !strings.HasSuffix(n, ".json") {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, "epoch-"), ".json"), 10, 64); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Latest is the highest stored epoch (0, false if none).
func (s *Store) Latest() (uint64, bool, error) {
	es, err := s.Epochs()
	if err != nil || len(es) == 0 {
		return 0, false, err
	}
	return es[len(es)-1], true, nil
}

// ProvenCheckpoint implements the relayer's Source.
func (s *Store) ProvenCheckpoint(epoch uint64) (checkpoint.Checkpoint, Proof, bool, error) {
	rec, ok, err := s.Load(epoch)
	if err != nil || !ok || len(rec.Proof) == 0 {
		return checkpoint.Checkpoint{}, nil, false, err
	}
	return rec.Checkpoint, Proof(rec.Proof), true, nil
}

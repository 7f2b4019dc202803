package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/emmansun/gmsm/sm3"

	"github.com/jinlian-ledger/jinlian/ledger"
)

// SnapshotPolicy is which snapshots a node takes (nodecfg [statesync]).
type SnapshotPolicy struct {
	// Interval: a snapshot every Interval heights (0: none).
	Interval int64
	// KeepRecent snapshots are kept (0: all).
	KeepRecent int
	// ChunkSize in bytes (ledger.DefaultChunkSize when 0).
	ChunkSize int
}

// maybeSnapshot starts, after the commit of height, the snapshot the policy
// asks for. It runs in a goroutine: it reads the committed version only and
// writes nothing to the state, so consensus goes on meanwhile. If the
// previous snapshot is still being written, this height is skipped.
func (a *App) maybeSnapshot(height int64) {
	p := a.snapshotPolicy
	if a.snapshots == nil || p.Interval <= 0 || height%p.Interval != 0 {
		return
	}
	if !a.snapshotting.CompareAndSwap(false, true) {
		a.logger.Info("snapshot skipped: the previous one is still being written", "height", height)
		return
	}
	a.snapshotDone.Add(1)
	go func() {
		defer a.snapshotDone.Done()
		defer a.snapshotting.Store(false)
		if _, err := a.TakeSnapshot(height); err != nil {
			a.logger.Error("snapshot failed", "height", height, "err", err)
		}
	}()
}

// WaitSnapshot waits for a snapshot being written to finish; the node
// calls it before closing the store.
func (a *App) WaitSnapshot() { a.snapshotDone.Wait() }

// TakeSnapshot writes a snapshot of the committed height into the node's
// snapshot directory and prunes the old ones.
func (a *App) TakeSnapshot(height int64) (ledger.SnapshotInfo, error) {
	if a.snapshots == nil {
		return ledger.SnapshotInfo{}, errors.New("snapshot: this node keeps no snapshots")
	}
	info, err := a.snapshots.Create(a.store, height, ledger.SnapshotOptions{
		ChunkSize: a.snapshotPolicy.ChunkSize,
		KeepAside: spentUpTo(a.store, height),
	})
	if err != nil {
		return info, err
	}
	a.logger.Info("snapshot taken", "height", info.Height, "chunks", len(info.Chunks), "hash", fmt.Sprintf("%X", info.Hash))
	if k := a.snapshotPolicy.KeepRecent; k > 0 {
		if err := a.snapshots.Prune(k); err != nil {
			a.logger.Warn("pruning snapshots", "err", err)
		}
	}
	return info, nil
}

// spentUpTo keeps the spent-id records of the blocks up to height: the
// aside index is not versioned, and a snapshot taken while later blocks
// commit must not carry their ids. The replay set's journal stays behind:
// it is this node's, of its own last commit.
func spentUpTo(s *ledger.Store, height int64) func(key, value []byte) bool {
	return func(key, value []byte) bool {
		switch {
		case bytes.HasPrefix(key, replayBlockPrefix), bytes.Equal(key, keyReplayState):
			return false
		case bytes.HasPrefix(key, spentTimePrefix):
			if len(key) < len(spentTimePrefix)+8 {
				return false
			}
			h, err := spentAt(s, string(key[len(spentTimePrefix)+8:]), height, anyStamp)
			return err == nil && h > 0
		case bytes.HasPrefix(key, txKey("")):
			return len(value) >= 8 && int64(binary.BigEndian.Uint64(value)) <= height
		default:
			return true
		}
	}
}

// ListSnapshots lists the snapshots this node keeps.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	resp := &abci.ResponseListSnapshots{}
	if a.snapshots == nil {
		return resp, nil
	}
	list, err := a.snapshots.List()
	if err != nil {
		a.logger.Error("listing snapshots", "err", err)
		return resp, nil
	}
	for _, s := range list {
		resp.Snapshots = append(resp.Snapshots, &abci.Snapshot{
			Height: uint64(s.Height), Format: s.Format, Chunks: uint32(len(s.Chunks)), Hash: s.Hash, Metadata: s.Metadata,
		})
	}
	return resp, nil
}

// LoadSnapshotChunk returns a chunk of a snapshot this node keeps; an
// empty chunk tells the peer it is gone.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	if a.snapshots == nil || req.Height > uint64(1<<62) {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	chunk, err := a.snapshots.LoadChunk(int64(req.Height), req.Format, req.Chunk)
	if err != nil {
		a.logger.Info("snapshot chunk not served", "height", req.Height, "chunk", req.Chunk, "err", err)
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: chunk}, nil
}

// restore is a snapshot being restored: its description, the app hash the
// light client verified for its height, and the chunks received so far.
type restore struct {
	info    ledger.SnapshotInfo
	trusted []byte
	have    []bool
	// Chunks go to files beside the node's snapshots (in, when it keeps
	// them), else to memory.
	in  *ledger.Incoming
	mem [][]byte
}

func (r *restore) put(i int, chunk []byte) error {
	r.have[i] = true
	if r.in != nil {
		return r.in.Put(i, chunk)
	}
	r.mem[i] = bytes.Clone(chunk)
	return nil
}

func (r *restore) get(i int) ([]byte, error) {
	if r.in != nil {
		return r.in.Get(i)
	}
	return r.mem[i], nil
}

func (r *restore) close() {
	if r.in != nil {
		_ = r.in.Close()
	}
}

// OfferSnapshot accepts a snapshot of this app's format whose claimed app
// hash is the one CometBFT's light client verified for its height, when
// the node has no state yet.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	reply := func(r abci.ResponseOfferSnapshot_Result) (*abci.ResponseOfferSnapshot, error) {
		return &abci.ResponseOfferSnapshot{Result: r}, nil
	}
	s := req.Snapshot
	if s == nil {
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	if a.store.LastHeight() != 0 {
		a.logger.Error("snapshot offered to a node that has state", "height", a.store.LastHeight())
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	if s.Format != ledger.SnapshotFormat {
		a.logger.Info("snapshot refused", "height", s.Height, "format", s.Format, "err", ledger.ErrSnapshotFormat)
		return reply(abci.ResponseOfferSnapshot_REJECT_FORMAT)
	}
	if s.Height == 0 || s.Height > uint64(1<<62) {
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	info, err := ledger.DecodeSnapshotInfo(int64(s.Height), s.Format, s.Chunks, s.Hash, s.Metadata)
	if err != nil {
		a.logger.Info("snapshot refused", "height", s.Height, "err", err)
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	if !bytes.Equal(info.AppHash, req.AppHash) {
		a.logger.Info("snapshot refused", "height", s.Height,
			"err", fmt.Errorf("%w: it claims %X, the light client verified %X", ledger.ErrSnapshotAppHash, info.AppHash, req.AppHash))
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	if a.restoring != nil {
		a.restoring.close()
	}
	r := &restore{info: info, trusted: bytes.Clone(req.AppHash), have: make([]bool, len(info.Chunks))}
	if a.snapshots != nil {
		if r.in, err = a.snapshots.Incoming(); err != nil {
			a.logger.Error("snapshot refused", "height", s.Height, "err", err)
			return reply(abci.ResponseOfferSnapshot_ABORT)
		}
	} else {
		r.mem = make([][]byte, len(info.Chunks))
	}
	a.restoring = r
	a.logger.Info("restoring snapshot", "height", info.Height, "chunks", len(info.Chunks))
	return reply(abci.ResponseOfferSnapshot_ACCEPT)
}

// ApplySnapshotChunk checks each chunk against its hash as it comes (a bad
// one is fetched again from another peer) and, with the last, restores the
// store and reloads the app from it. A snapshot that does not restore to
// the trusted app hash is rejected and leaves the store empty.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	reply := func(r abci.ResponseApplySnapshotChunk_Result) (*abci.ResponseApplySnapshotChunk, error) {
		return &abci.ResponseApplySnapshotChunk{Result: r}, nil
	}
	r := a.restoring
	if r == nil {
		return reply(abci.ResponseApplySnapshotChunk_ABORT)
	}
	i := int(req.Index)
	if req.Index >= uint32(len(r.have)) {
		return reply(abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT)
	}
	if sum := sm3.Sum(req.Chunk); !bytes.Equal(sum[:], r.info.Chunks[i]) {
		a.logger.Info("snapshot chunk refused", "height", r.info.Height, "chunk", i, "sender", req.Sender, "err", ledger.ErrChunkHash)
		return &abci.ResponseApplySnapshotChunk{
			Result:        abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index},
			RejectSenders: []string{req.Sender},
		}, nil
	}
	if err := r.put(i, req.Chunk); err != nil {
		a.logger.Error("snapshot chunk not stored", "height", r.info.Height, "chunk", i, "err", err)
		a.restoring = nil
		r.close()
		return reply(abci.ResponseApplySnapshotChunk_ABORT)
	}
	for _, ok := range r.have {
		if !ok {
			return reply(abci.ResponseApplySnapshotChunk_ACCEPT)
		}
	}
	a.restoring = nil
	defer r.close()
	err := a.store.Restore(r.info, r.get, r.trusted)
	if err == nil {
		if err = verifySpentIndex(a.store, a.pruning.SpentIDs); err != nil {
			if derr := a.store.Discard(); derr != nil {
				return nil, fmt.Errorf("restored snapshot of height %d refused (%v) and not removed: %w", r.info.Height, err, derr)
			}
		}
	}
	if err != nil {
		a.logger.Error("snapshot refused", "height", r.info.Height, "err", err)
		return reply(abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT)
	}
	if err := a.loadState(); err != nil {
		// The state hashed to the trusted app hash but the app cannot run
		// on it (e.g. an upgrade this binary lacks): stop the node.
		return nil, fmt.Errorf("restored snapshot of height %d: %w", r.info.Height, err)
	}
	a.logger.Info("snapshot restored", "height", r.info.Height, "app_hash", fmt.Sprintf("%X", r.trusted), "chain", a.chainID)
	return reply(abci.ResponseApplySnapshotChunk_ACCEPT)
}

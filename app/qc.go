package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// The SM2 quorum certificate (QC). In ExtendVote at height H every
// validator signs QCSignBytes(chain, H−1, app hash after H−1) with its SM2
// node key; VerifyVoteExtension checks it against the validator registry;
// the proposer of H+1 collects them from LocalLastCommit into a QC
// transaction placed first in its block; ProcessProposal and FinalizeBlock
// verify it and FinalizeBlock stores it under qc/<H−1>. Every committed
// height h ≥ 1 thus gets its QC in block h+2.

const qcDomain = "jinlian/qc/v1"

// QCSignBytes is what a validator signs for height h: domain tag, chain id,
// height and the app hash after executing h.
func QCSignBytes(chainID string, h int64, appHash []byte) []byte {
	b := append([]byte(qcDomain), 0)
	b = binary.AppendUvarint(b, uint64(len(chainID)))
	b = append(b, chainID...)
	b = binary.BigEndian.AppendUint64(b, uint64(h))
	return append(b, appHash...)
}

// QCReport is the outcome of checking a QC.
type QCReport struct {
	ChainID     string   `json:"chain_id"`
	Height      int64    `json:"height"`
	AppHash     string   `json:"app_hash"`
	Signers     []string `json:"signers"`
	SignedPower int64    `json:"signed_power"`
	TotalPower  int64    `json:"total_power"`
	Quorum      bool     `json:"quorum"`
}

// VerifyQC checks every signature of qc with SM2 against the registered
// node keys, that it certifies appHash on chainID, and that the signers hold
// more than 2/3 of the registered voting power. It uses SM2 and SM3 only.
func VerifyQC(qc *txpb.QuorumCertificate, chainID string, appHash []byte, vals []permission.Validator) (QCReport, error) {
	rep := QCReport{ChainID: qc.ChainId, Height: qc.Height, AppHash: strings.ToUpper(hex.EncodeToString(qc.AppHash)), Signers: []string{}}
	if qc.ChainId != chainID {
		return rep, ErrBadQC.Wrapf("certificate is for chain %q, not %q", qc.ChainId, chainID)
	}
	if !bytes.Equal(qc.AppHash, appHash) {
		return rep, ErrBadQC.Wrapf("certificate of height %d signs app hash %X, the chain has %X", qc.Height, qc.AppHash, appHash)
	}
	byAddr := make(map[string]permission.Validator, len(vals))
	for _, v := range vals {
		byAddr[strings.ToUpper(v.Address)] = v
		rep.TotalPower += v.Power
	}
	msg := QCSignBytes(chainID, qc.Height, qc.AppHash)
	seen := map[string]bool{}
	for _, s := range qc.Signatures {
		addr := strings.ToUpper(hex.EncodeToString(s.Validator))
		v, ok := byAddr[addr]
		if !ok {
			return rep, ErrBadQC.Wrapf("signature by unregistered validator %s", addr)
		}
		if seen[addr] {
			return rep, ErrBadQC.Wrapf("validator %s signed twice", addr)
		}
		seen[addr] = true
		pub, err := v.PublicKey()
		if err != nil {
			return rep, ErrBadQC.Wrapf("%v", err)
		}
		ext, err := DecodeVoteExtension(s.Signature)
		if err != nil {
			return rep, ErrBadQC.Wrapf("signature of validator %s: %v", addr, err)
		}
		if !pub.Verify(msg, ext.SM2Signature) {
			return rep, ErrBadQC.Wrapf("SM2 signature of validator %s (%s) over height %d does not verify", addr, v.Org, qc.Height)
		}
		rep.SignedPower += v.Power
		rep.Signers = append(rep.Signers, addr)
	}
	rep.Quorum = checkpoint.HasQuorum(rep.SignedPower, rep.TotalPower)
	if !rep.Quorum {
		return rep, ErrBadQC.Wrapf("signers hold %d of %d voting power, need more than 2/3", rep.SignedPower, rep.TotalPower)
	}
	return rep, nil
}

func appHashKey(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("meta/apphash/"), uint64(h))
}
func qcKey(h int64) []byte { return binary.BigEndian.AppendUint64([]byte("qc/"), uint64(h)) }
func qcValsKey(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("qc/vals-before/"), uint64(h))
}

// The QC of height h is signed in the votes of height h+1, by the
// validator set CometBFT drew from the registry as it stood after h−1 (a
// block's validator updates apply two heights later), and it is checked in
// block h+2, whose state is the registry after h+1. When a block changes
// the registry, the registry before the change is kept under
// qc/vals-before/<height>, so that the two QCs signed by the old set are
// counted against its powers: otherwise a large addition would leave them
// short of quorum, and every proposal carrying them would be rejected.

// The app hash of height h and the registry snapshot taken at h serve
// only the QCs of h−1 and h, checked in blocks h+1 and h+2; block h+3
// deletes them (pruneQCRecords), so the _system tree keeps a few of each,
// not one per height forever. The QC itself stays in its block (block h+2
// carries the QC of h, where `jinlian verify qc` reads it); the state keeps
// only the QCs of checkpoint heights, whose checkpoint signatures the
// prover collects (CheckpointSignatures).

// pruneQCRecords deletes, in block height, the app hash and registry
// snapshot of height−3, which no QC needs any more.
func pruneQCRecords(kv ledger.KV, height int64) error {
	old := height - 3
	if old < 1 {
		return nil
	}
	if err := kv.Delete(permission.SystemLedger, appHashKey(old)); err != nil {
		return err
	}
	return kv.Delete(permission.SystemLedger, qcValsKey(old))
}

// snapshotQCValidators keeps the registry before the first change of the
// block at height.
func snapshotQCValidators(kv ledger.KV, height int64) error {
	if ok, err := kv.Has(permission.SystemLedger, qcValsKey(height)); err != nil || ok {
		return err
	}
	vals, err := permission.Validators(kv)
	if err != nil {
		return err
	}
	b, err := ledger.Encode(vals)
	if err != nil {
		return err
	}
	return kv.Set(permission.SystemLedger, qcValsKey(height), b)
}

// qcValidators is the registry after height h−1, read from state after
// h+1: the snapshot taken at h or at h+1 (then no change at h), else the
// current registry (no change at h or h+1).
func qcValidators(kv reader, h int64) ([]permission.Validator, error) {
	for _, c := range []int64{h, h + 1} {
		b, err := kv.Get(permission.SystemLedger, qcValsKey(c))
		if err != nil {
			return nil, err
		}
		if b != nil {
			var vals []permission.Validator
			return vals, ledger.Decode(b, &vals)
		}
	}
	return permission.Validators(kv)
}

// appHashAt returns the app hash recorded for height h (nil if none).
func appHashAt(kv reader, h int64) ([]byte, error) {
	return kv.Get(permission.SystemLedger, appHashKey(h))
}

// LoadQC returns the QC of checkpoint height h kept in state, or nil
// (the state keeps no other; every QC is in its block).
func LoadQC(kv reader, h int64) (*txpb.QuorumCertificate, error) {
	b, err := kv.Get(permission.SystemLedger, qcKey(h))
	if err != nil || b == nil {
		return nil, err
	}
	var qc txpb.QuorumCertificate
	return &qc, proto.Unmarshal(b, &qc)
}

// ExtendVote signs the app hash of the last committed height with the node's SM2 key.
func (a *App) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	ci := a.store.LastCommit()
	if a.nodeKey == nil || ci.Height < 1 || ci.Height != req.Height-1 {
		return &abci.ResponseExtendVote{}, nil
	}
	sig, err := a.nodeKey.Sign(QCSignBytes(a.chainID, ci.Height, ci.AppHash))
	if err != nil {
		return nil, err
	}
	ext := VoteExtension{SM2Signature: sig}
	if a.checkpointsOn() {
		// An ExtendVote error halts the node: a checkpoint that cannot be
		// signed only weakens the checkpoint's quorum.
		if v, err := a.store.View(0); err != nil {
			a.logger.Warn("not signing checkpoint", "height", ci.Height, "err", err)
		} else if ext.CheckpointSignature, err = a.signCheckpoint(v, ci.Height, ci.AppHash); err != nil {
			a.logger.Warn("not signing checkpoint", "height", ci.Height, "err", err)
		}
	}
	return &abci.ResponseExtendVote{VoteExtension: EncodeVoteExtension(ext)}, nil
}

// VerifyVoteExtension accepts an empty extension (a validator without an
// SM2 key only weakens the QC) and otherwise requires a valid SM2 signature
// by the registered node key over the last committed app hash.
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	if len(req.VoteExtension) == 0 {
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
	if err := a.verifyExtension(req.ValidatorAddress, req.Height, req.VoteExtension); err != nil {
		a.logger.Warn("rejecting vote extension", "height", req.Height, "validator", fmt.Sprintf("%X", req.ValidatorAddress), "err", err)
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

func (a *App) verifyExtension(valAddr []byte, voteHeight int64, raw []byte) error {
	ext, err := DecodeVoteExtension(raw)
	if err != nil {
		return err
	}
	sig := ext.SM2Signature
	ci := a.store.LastCommit()
	if ci.Height != voteHeight-1 {
		return fmt.Errorf("vote of height %d, last commit %d", voteHeight, ci.Height)
	}
	v, err := a.store.View(0)
	if err != nil {
		return err
	}
	val, ok, err := permission.GetValidator(v, hex.EncodeToString(valAddr))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("validator %X is not registered", valAddr)
	}
	pub, err := val.PublicKey()
	if err != nil {
		return err
	}
	if !pub.Verify(QCSignBytes(a.chainID, ci.Height, ci.AppHash), sig) {
		return fmt.Errorf("SM2 signature does not verify")
	}
	if ext.CheckpointSignature != nil {
		c, ok, err := a.checkpointAt(v, ci.Height, ci.AppHash)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("checkpoint signature at height %d, which is not a checkpoint height", ci.Height)
		}
		if err := a.verifyCheckpointSignature(v, c.Checkpoint, val.Address, ext.CheckpointSignature); err != nil {
			return fmt.Errorf("checkpoint %d: %w", c.Epoch, err)
		}
	}
	return nil
}

// PrepareProposal puts the QC of height req.Height−2, built from the vote
// extensions of the last commit, before the mempool's transactions, of
// which it takes, in the mempool's order, as many as req.MaxTxBytes and
// Options.MaxProposalTxs allow.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var txs [][]byte
	// CometBFT checks MaxTxBytes against the transactions' protobuf size
	// (each with its field tag and length, cmttypes.ComputeProtoSizeForTxs),
	// and panics in consensus when a proposal exceeds it: counting bare
	// lengths let a full block of a few thousand transfers overflow by a
	// few bytes each, and a one-validator localnet stopped at its first
	// full block.
	budget := req.MaxTxBytes
	// That size, without building a message per transaction: a repeated
	// bytes field's one-byte tag, its length varint and the bytes.
	size := func(tx []byte) int64 { return int64(protowire.SizeTag(1) + protowire.SizeBytes(len(tx))) }
	if qcTx := a.buildQCTx(req); qcTx != nil && size(qcTx) <= budget {
		txs = append(txs, qcTx)
		budget -= size(qcTx)
	}
	taken := 0
	for _, tx := range req.Txs {
		if wire.IsQCTx(tx) {
			continue
		}
		n := size(tx)
		if n > budget || a.maxProposalTxs > 0 && taken >= a.maxProposalTxs {
			break
		}
		taken++
		budget -= n
		txs = append(txs, tx)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

func (a *App) buildQCTx(req *abci.RequestPrepareProposal) []byte {
	h := req.Height - 2
	ci := a.store.LastCommit()
	if h < 1 || ci.Height != req.Height-1 {
		return nil
	}
	v, err := a.store.View(0)
	if err != nil {
		return nil
	}
	appHash, err := appHashAt(v, h)
	if err != nil || appHash == nil {
		return nil
	}
	qc := &txpb.QuorumCertificate{ChainId: a.chainID, Height: h, AppHash: appHash}
	msg := QCSignBytes(a.chainID, h, appHash)
	cp, isCheckpoint, _ := a.checkpointForQC(v, h)
	regs, err := qcValidators(v, h)
	if err != nil {
		return nil
	}
	byAddr := make(map[string]permission.Validator, len(regs))
	var total, signed int64
	for _, r := range regs {
		byAddr[strings.ToUpper(r.Address)] = r
		total += r.Power
	}
	seen := map[string]bool{}
	for _, vote := range req.LocalLastCommit.Votes {
		if len(vote.VoteExtension) == 0 {
			continue
		}
		ext, err := DecodeVoteExtension(vote.VoteExtension)
		if err != nil {
			continue
		}
		addr := strings.ToUpper(hex.EncodeToString(vote.Validator.Address))
		val, ok := byAddr[addr]
		if !ok || seen[addr] {
			continue
		}
		pub, err := val.PublicKey()
		if err != nil || !pub.Verify(msg, ext.SM2Signature) {
			continue
		}
		if ext.CheckpointSignature != nil && (!isCheckpoint || a.verifyCheckpointSignature(v, cp, val.Address, ext.CheckpointSignature) != nil) {
			ext.CheckpointSignature = nil
		}
		qc.Signatures = append(qc.Signatures, &txpb.QCSignature{Validator: vote.Validator.Address, Signature: EncodeVoteExtension(ext)})
		seen[addr] = true
		signed += val.Power
	}
	if len(qc.Signatures) == 0 {
		return nil
	}
	// A certificate short of quorum would get the proposal rejected by
	// every validator: leave the height without one instead.
	if !checkpoint.HasQuorum(signed, total) {
		a.logger.Warn("no quorum certificate for height: its signers hold too little power", "height", h, "signed", signed, "total", total)
		return nil
	}
	tx, err := wire.EncodeQCTx(qc)
	if err != nil {
		return nil
	}
	return tx
}

// checkQCTx verifies a QC transaction found at position i of block height
// blockHeight against state kv.
func (a *App) checkQCTx(kv reader, raw []byte, i int, blockHeight int64) (*txpb.QuorumCertificate, error) {
	if i != 0 {
		return nil, ErrBadQC.Wrapf("quorum certificate at position %d; only the first transaction may carry one", i)
	}
	qc, err := wire.DecodeQCTx(raw)
	if err != nil {
		return nil, err
	}
	if qc.Height != blockHeight-2 {
		return nil, ErrBadQC.Wrapf("block %d carries a certificate of height %d, want %d", blockHeight, qc.Height, blockHeight-2)
	}
	appHash, err := appHashAt(kv, qc.Height)
	if err != nil {
		return nil, err
	}
	vals, err := qcValidators(kv, qc.Height)
	if err != nil {
		return nil, err
	}
	if _, err := VerifyQC(qc, a.chainID, appHash, vals); err != nil {
		return nil, err
	}
	if err := a.checkQCCheckpointSignatures(kv, qc); err != nil {
		return nil, err
	}
	return qc, nil
}

func (a *App) deliverQC(kv ledger.KV, raw []byte, i int, height int64) *abci.ExecTxResult {
	qc, err := a.checkQCTx(kv, raw, i, height)
	if err != nil {
		return errResult(err)
	}
	// Kept in state at checkpoint heights only (see pruneQCRecords).
	if _, isCheckpoint, err := a.checkpointForQC(kv, qc.Height); err != nil {
		return errResult(err)
	} else if isCheckpoint {
		b, err := proto.Marshal(qc)
		if err == nil {
			err = kv.Set(permission.SystemLedger, qcKey(qc.Height), b)
		}
		if err != nil {
			return errResult(err)
		}
	}
	return &abci.ExecTxResult{Code: abci.CodeTypeOK, Events: []abci.Event{
		wire.Event(&txpb.EventQuorumCertificate{Height: qc.Height, Signers: uint32(len(qc.Signatures))}),
	}}
}

// registerGenesisValidators stores the app_state registrations with the
// powers CometBFT's genesis gives them. Every genesis validator must be
// registered: a validator without an SM2 node key could not sign the QC.
func registerGenesisValidators(kv ledger.KV, regs []permission.Validator, updates []abci.ValidatorUpdate) error {
	byAddr := map[string]int{}
	for i, r := range regs {
		byAddr[strings.ToUpper(r.Address)] = i
	}
	powered := make([]int64, len(regs))
	for _, u := range updates {
		pk, err := cryptoenc.PubKeyFromProto(u.PubKey)
		if err != nil {
			return ErrBadGenesis.Wrapf("validator key: %v", err)
		}
		addr := pk.Address().String()
		i, ok := byAddr[addr]
		if !ok {
			return ErrBadGenesis.Wrapf("genesis validator %s has no registration in app_state.validators", addr)
		}
		powered[i] = u.Power
	}
	for i, r := range regs {
		r.Power = powered[i]
		if err := permission.SetValidator(kv, r); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
	}
	return nil
}

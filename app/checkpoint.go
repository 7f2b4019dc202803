package app

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Checkpoints (docs/checkpoints.md). With params.checkpoint_interval = N > 0
// the chain defines a checkpoint at every height that is a multiple of N and
// at every height whose block changed the checkpoint validator set (a
// set-validator proposal executed, or a checkpoint key was registered).
// Epochs count checkpoints, so they are not height/N: the system ledger
// keeps the index (cp/latest, cp/at/<height>) and everything that maps a
// height to an epoch reads it.
//
// FinalizeBlock of height h+1 stores the checkpoint of height h under
// cp/def/<epoch>, and under cp/set/<epoch> the validators its
// NextValidatorSet commits to (they sign epoch+1); ExtendVote of that height
// signs it with the validator's checkpoint key besides the SM2 QC signature
// (the two travel in one VoteExtension); the QC transaction of height h, in
// block h+2, carries both and is stored with them, which is how the
// signatures reach the state. A prover node reads them
// (CheckpointSignatures) and proves the checkpoint off the consensus path.
//
// Checkpoint k is signed by the set checkpoint k−1 named as next: at a set
// change the old set signs the checkpoint that hands over to the new one.
//
// The scheme itself (commitment, hash, digest, EdDSA, registration) is the
// checkpoint core (package checkpoint), which the app imports directly;
// the prover is not linked. Epoch 0 is defined at InitChain from the
// genesis validator set (height 0, zero app hash).

func cpKeyKey(addr string) []byte { return []byte("cp/key/" + strings.ToUpper(addr)) }
func cpDefKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("cp/def/"), epoch)
}
func cpSetKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("cp/set/"), epoch)
}
func cpAtKey(height uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("cp/at/"), height)
}

var (
	cpLatestKey = []byte("cp/latest")
	// cpDueKey holds the last height whose block changed the checkpoint
	// validator set; that height is a checkpoint height if the set's
	// commitment differs from the latest checkpoint's next set.
	cpDueKey = []byte("cp/due")
)

// CheckpointIndex locates a defined checkpoint.
type CheckpointIndex struct {
	Epoch  uint64 `json:"epoch"`
	Height uint64 `json:"height"`
}

// checkpointsOn reports whether this chain defines checkpoints.
func (a *App) checkpointsOn() bool { return a.params.CheckpointInterval > 0 }

// validateCheckpointGenesis checks the checkpoint parameters and that every
// genesis validator registered a checkpoint key.
func (g *GenesisState) validateCheckpoints() error {
	p := g.Params
	if p.CheckpointInterval < 0 || p.CheckpointSlots < 0 {
		return ErrBadGenesis.Wrapf("params: negative checkpoint_interval or checkpoint_slots")
	}
	if p.CheckpointInterval == 0 {
		if len(g.CheckpointKeys) > 0 {
			return ErrBadGenesis.Wrapf("checkpoint_keys without params.checkpoint_interval")
		}
		return nil
	}
	if p.CheckpointSlots < len(g.Validators) {
		return ErrBadGenesis.Wrapf("params.checkpoint_slots %d < %d validators", p.CheckpointSlots, len(g.Validators))
	}
	reg := map[string]bool{}
	for _, r := range g.CheckpointKeys {
		reg[strings.ToUpper(r.Validator)] = true
	}
	for _, v := range g.Validators {
		if !reg[strings.ToUpper(v.Address)] {
			return ErrBadGenesis.Wrapf("validator %s has no checkpoint key in checkpoint_keys", v.Address)
		}
	}
	return nil
}

// initCheckpoints stores the genesis registrations (verified) and defines
// epoch 0.
func (a *App) initCheckpoints(kv ledger.KV, chainID string, g *GenesisState) error {
	if g.Params.CheckpointInterval == 0 {
		return nil
	}
	for _, r := range g.CheckpointKeys {
		v, ok, err := permission.GetValidator(kv, r.Validator)
		if err != nil {
			return err
		}
		if !ok {
			return ErrBadGenesis.Wrapf("checkpoint key of unknown validator %s", r.Validator)
		}
		pub, err := v.PublicKey()
		if err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
		if r.ChainID == "" {
			r.ChainID = chainID // the genesis's own chain
		}
		if err := r.Verify(chainID, pub); err != nil {
			return ErrBadGenesis.Wrapf("checkpoint key of validator %s: %v", r.Validator, err)
		}
		r.ChainID = "" // stored for this chain
		b, err := ledger.Encode(r)
		if err != nil {
			return err
		}
		if err := kv.Set(permission.SystemLedger, cpKeyKey(r.Validator), b); err != nil {
			return err
		}
	}
	vals, err := CheckpointValidators(kv)
	if err != nil {
		return err
	}
	regs, err := permission.Validators(kv)
	if err != nil {
		return err
	}
	for _, v := range regs {
		if k, _ := checkpointKey(kv, v.Address); k == nil && v.Power > 0 {
			return ErrBadGenesis.Wrapf("validator %s has no checkpoint key (app_state.checkpoint_keys)", v.Address)
		}
	}
	set, err := checkpoint.CommitValidators(vals, g.Params.CheckpointSlots)
	if err != nil {
		return ErrBadGenesis.Wrapf("checkpoint validator set: %v", err)
	}
	return saveCheckpoint(kv, checkpoint.Checkpoint{ChainID: chainID, ValidatorSet: set, NextValidatorSet: set}, vals)
}

// CheckpointValidators lists the active validators with their checkpoint
// keys, in address order (the commitment's slot order): the set the next
// checkpoint hands over to. A validator without a checkpoint key (added by
// governance and not registered yet) or removed (power 0) is left out: it
// adds no power to checkpoints, and the chain must not halt over it.
func CheckpointValidators(kv reader) ([]checkpoint.Validator, error) {
	regs, err := permission.Validators(kv)
	if err != nil {
		return nil, err
	}
	out := make([]checkpoint.Validator, 0, len(regs))
	for _, v := range regs {
		key, err := checkpointKey(kv, v.Address)
		if err != nil {
			return nil, err
		}
		if key == nil || v.Power == 0 {
			continue
		}
		out = append(out, checkpoint.Validator{Address: strings.ToUpper(v.Address), Key: key, Power: v.Power})
	}
	return out, nil
}

func checkpointKey(kv reader, addr string) ([]byte, error) {
	b, err := kv.Get(permission.SystemLedger, cpKeyKey(addr))
	if err != nil || b == nil {
		return nil, err
	}
	var r checkpoint.Registration
	if err := ledger.Decode(b, &r); err != nil {
		return nil, err
	}
	return r.CheckpointKey, nil
}

// saveCheckpoint stores c, the validators its next set commits to, and the
// index entries of its epoch.
func saveCheckpoint(kv ledger.KV, c checkpoint.Checkpoint, next []checkpoint.Validator) error {
	def, err := ledger.Encode(c)
	if err != nil {
		return err
	}
	set, err := ledger.Encode(next)
	if err != nil {
		return err
	}
	latest, err := ledger.Encode(CheckpointIndex{Epoch: c.Epoch, Height: c.Height})
	if err != nil {
		return err
	}
	for _, w := range []struct{ k, v []byte }{
		{cpDefKey(c.Epoch), def},
		{cpSetKey(c.Epoch), set},
		{cpAtKey(c.Height), binary.BigEndian.AppendUint64(nil, c.Epoch)},
		{cpLatestKey, latest},
	} {
		if err := kv.Set(permission.SystemLedger, w.k, w.v); err != nil {
			return err
		}
	}
	return nil
}

// LoadCheckpoint returns the stored checkpoint of epoch (ok false if none).
func LoadCheckpoint(kv reader, epoch uint64) (checkpoint.Checkpoint, bool, error) {
	var c checkpoint.Checkpoint
	b, err := kv.Get(permission.SystemLedger, cpDefKey(epoch))
	if err != nil || b == nil {
		return c, false, err
	}
	return c, true, ledger.Decode(b, &c)
}

// LatestCheckpoint is the index entry of the latest defined checkpoint (ok
// false on a chain without checkpoints).
func LatestCheckpoint(kv reader) (CheckpointIndex, bool, error) {
	var ix CheckpointIndex
	b, err := kv.Get(permission.SystemLedger, cpLatestKey)
	if err != nil {
		return ix, false, err
	}
	if b == nil {
		return ix, false, nil
	}
	return ix, true, ledger.Decode(b, &ix)
}

// CheckpointEpochAt is the epoch of the checkpoint defined at height (ok
// false if height is not a checkpoint height, or not defined yet).
func CheckpointEpochAt(kv reader, height uint64) (uint64, bool, error) {
	b, err := kv.Get(permission.SystemLedger, cpAtKey(height))
	if err != nil {
		return 0, false, err
	}
	if b == nil {
		return 0, false, nil
	}
	if len(b) != 8 {
		return 0, false, fmt.Errorf("checkpoint index of height %d: %d bytes", height, len(b))
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// CheckpointSigners is the validator set that signs checkpoint epoch (≥ 1)
// in slot order: the set checkpoint epoch−1 committed to as its next set.
func CheckpointSigners(kv reader, epoch uint64) ([]checkpoint.Validator, error) {
	if epoch == 0 {
		return nil, errors.New("checkpoint 0 is the trusted start and has no signers")
	}
	b, err := kv.Get(permission.SystemLedger, cpSetKey(epoch-1))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("validator set of checkpoint %d is not defined", epoch-1)
	}
	var vals []checkpoint.Validator
	return vals, ledger.Decode(b, &vals)
}

// checkpointSetChanged runs where a block changes the checkpoint validator
// set (a validator's power or its checkpoint key): it refuses a set the
// circuit cannot hold, and marks height as a candidate checkpoint height.
func (a *App) checkpointSetChanged(kv ledger.KV, height int64) error {
	if !a.checkpointsOn() {
		return nil
	}
	vals, err := CheckpointValidators(kv)
	if err != nil {
		return err
	}
	if len(vals) > a.params.CheckpointSlots {
		return permission.ErrInvalid.Wrapf("the checkpoint validator set would have %d validators; the circuit holds %d (params.checkpoint_slots)", len(vals), a.params.CheckpointSlots)
	}
	return kv.Set(permission.SystemLedger, cpDueKey, binary.BigEndian.AppendUint64(nil, uint64(height)))
}

// pendingCheckpoint is a checkpoint computed but not stored yet, with the
// validators its next set commits to.
type pendingCheckpoint struct {
	checkpoint.Checkpoint
	next []checkpoint.Validator
}

// checkpointAt defines the checkpoint of height h with app hash appHash
// from state kv (committed through h), or ok false if h is not a
// checkpoint height: h is one if it is a multiple of the interval, or if
// its block changed the checkpoint validator set.
func (a *App) checkpointAt(kv reader, h int64, appHash []byte) (pendingCheckpoint, bool, error) {
	n := a.params.CheckpointInterval
	if n <= 0 || h <= 0 || len(appHash) != 32 {
		return pendingCheckpoint{}, false, nil
	}
	regular := h%n == 0
	if !regular {
		b, err := kv.Get(permission.SystemLedger, cpDueKey)
		if err != nil || len(b) != 8 || binary.BigEndian.Uint64(b) != uint64(h) {
			return pendingCheckpoint{}, false, err
		}
	}
	latest, ok, err := LatestCheckpoint(kv)
	if err != nil {
		return pendingCheckpoint{}, false, err
	}
	if !ok {
		return pendingCheckpoint{}, false, errors.New("checkpoint index (cp/latest) is missing")
	}
	if latest.Height >= uint64(h) {
		return pendingCheckpoint{}, false, nil
	}
	prev, ok, err := LoadCheckpoint(kv, latest.Epoch)
	if err != nil {
		return pendingCheckpoint{}, false, err
	}
	if !ok {
		return pendingCheckpoint{}, false, fmt.Errorf("checkpoint %d is indexed but not defined", latest.Epoch)
	}
	vals, err := CheckpointValidators(kv)
	if err != nil {
		return pendingCheckpoint{}, false, err
	}
	next, err := checkpoint.CommitValidators(vals, a.params.CheckpointSlots)
	if err != nil {
		return pendingCheckpoint{}, false, err
	}
	if !regular && next == prev.NextValidatorSet {
		return pendingCheckpoint{}, false, nil // the change left the checkpoint set as it was
	}
	c := checkpoint.Checkpoint{
		ChainID: a.chainID, Epoch: latest.Epoch + 1, Height: uint64(h), PrevHash: prev.Hash(),
		ValidatorSet: prev.NextValidatorSet, NextValidatorSet: next,
	}
	copy(c.AppHash[:], appHash)
	return pendingCheckpoint{Checkpoint: c, next: vals}, true, nil
}

// defineCheckpoint runs in FinalizeBlock: if the last committed height is a
// checkpoint height, store its checkpoint.
func (a *App) defineCheckpoint(kv ledger.KV) (*abci.Event, error) {
	ci := a.store.LastCommit()
	p, ok, err := a.checkpointAt(kv, ci.Height, ci.AppHash)
	if err != nil || !ok {
		return nil, err
	}
	c := p.Checkpoint
	if err := saveCheckpoint(kv, c, p.next); err != nil {
		return nil, err
	}
	h := c.Hash()
	ev := wire.Event(&txpb.EventCheckpoint{Epoch: c.Epoch, Height: c.Height, Hash: strings.ToUpper(hex.EncodeToString(h[:])),
		ValidatorSetChange: c.ValidatorSet != c.NextValidatorSet})
	return &ev, nil
}

// ErrNoCheckpointKey is what Options.SignCheckpoint returns when the node
// does not hold the registered key.
var ErrNoCheckpointKey = errors.New("checkpoint key not held by this node")

// signCheckpoint is the checkpoint half of ExtendVote: a signature over the
// checkpoint of the last committed height, or nil. A node signs only with
// the key its validator registered for that checkpoint's signing set: any
// other signature would get its vote rejected.
func (a *App) signCheckpoint(kv reader, h int64, appHash []byte) ([]byte, error) {
	if a.cpSigner == nil || a.nodeKey == nil {
		return nil, nil
	}
	c, ok, err := a.checkpointAt(kv, h, appHash)
	if err != nil || !ok {
		return nil, err
	}
	signers, err := CheckpointSigners(kv, c.Epoch)
	if err != nil {
		return nil, err
	}
	self, err := a.selfValidator(kv)
	if err != nil || self == "" {
		return nil, err
	}
	var key []byte
	for _, v := range signers {
		if v.Address == self {
			key = v.Key
		}
	}
	if key == nil {
		a.logger.Info("not signing checkpoint: this validator is not in its signing set", "epoch", c.Epoch, "validator", self)
		return nil, nil
	}
	d := c.Checkpoint.Digest()
	sig, err := a.cpSigner(key, d)
	if errors.Is(err, ErrNoCheckpointKey) {
		a.logger.Warn("not signing checkpoint: this node does not hold the checkpoint key registered for its validator", "epoch", c.Epoch, "validator", self, "registered", hex.EncodeToString(key))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := checkpoint.VerifySignature(key, d, sig); err != nil {
		a.logger.Error("not signing checkpoint: the signature does not verify under the registered key", "epoch", c.Epoch, "validator", self, "err", err)
		return nil, nil
	}
	return sig, nil
}

// selfValidator is the address of the validator whose SM2 node key this
// node holds ("" if none).
func (a *App) selfValidator(kv reader) (string, error) {
	vals, err := permission.Validators(kv)
	if err != nil {
		return "", err
	}
	pub := hex.EncodeToString(a.nodeKey.Public().Bytes())
	for _, v := range vals {
		if strings.EqualFold(v.SM2PublicKey, pub) {
			return strings.ToUpper(v.Address), nil
		}
	}
	return "", nil
}

// verifyCheckpointSignature checks validator addr's checkpoint signature
// over c with the key addr has in c's signing set.
func (a *App) verifyCheckpointSignature(kv reader, c checkpoint.Checkpoint, addr string, sig []byte) error {
	signers, err := CheckpointSigners(kv, c.Epoch)
	if err != nil {
		return err
	}
	for _, v := range signers {
		if v.Address == strings.ToUpper(addr) {
			return checkpoint.VerifySignature(v.Key, c.Digest(), sig)
		}
	}
	return fmt.Errorf("validator %s is not in the signing set of checkpoint %d", addr, c.Epoch)
}

// checkpointForQC returns the stored checkpoint certified by the QC of
// height h, if h is a checkpoint height.
func (a *App) checkpointForQC(kv reader, h int64) (checkpoint.Checkpoint, bool, error) {
	if !a.checkpointsOn() || h <= 0 {
		return checkpoint.Checkpoint{}, false, nil
	}
	epoch, ok, err := CheckpointEpochAt(kv, uint64(h))
	if err != nil || !ok {
		return checkpoint.Checkpoint{}, false, err
	}
	return LoadCheckpoint(kv, epoch)
}

// CheckpointSignatures returns the checkpoint signatures of epoch, by
// validator address, from the stored QC of its height. ok is false until
// that QC is in the state.
func CheckpointSignatures(kv reader, c checkpoint.Checkpoint) (map[string][]byte, bool, error) {
	qc, err := LoadQC(kv, int64(c.Height))
	if err != nil || qc == nil {
		return nil, false, err
	}
	out := map[string][]byte{}
	for _, s := range qc.Signatures {
		ext, err := DecodeVoteExtension(s.Signature)
		if err != nil || ext.CheckpointSignature == nil {
			continue
		}
		out[strings.ToUpper(hex.EncodeToString(s.Validator))] = ext.CheckpointSignature
	}
	return out, true, nil
}

// checkQCCheckpointSignatures verifies the checkpoint signatures a QC
// carries: a proposer must not be able to replace a validator's valid
// checkpoint signature with garbage (its SM2 signature does not cover it).
func (a *App) checkQCCheckpointSignatures(kv reader, qc *txpb.QuorumCertificate) error {
	c, ok, err := a.checkpointForQC(kv, qc.Height)
	if err != nil {
		return err
	}
	for _, s := range qc.Signatures {
		ext, err := DecodeVoteExtension(s.Signature)
		if err != nil || ext.CheckpointSignature == nil {
			continue
		}
		addr := strings.ToUpper(hex.EncodeToString(s.Validator))
		if !ok {
			return ErrBadQC.Wrapf("checkpoint signature of validator %s in the certificate of height %d, which is not a checkpoint height", addr, qc.Height)
		}
		if err := a.verifyCheckpointSignature(kv, c, addr, ext.CheckpointSignature); err != nil {
			return ErrBadQC.Wrapf("checkpoint %d signature of validator %s: %v", c.Epoch, addr, err)
		}
	}
	return nil
}

// registerCheckpointKey registers or replaces a validator's checkpoint key
// after genesis. The registration is verified like the genesis ones; the
// sender must be an admin of the validator's organisation. The new key
// enters the set that the checkpoint of this height hands over to, so it
// signs from the checkpoint after that one on.
func (a *App) registerCheckpointKey(kv ledger.KV, tx *wire.Tx, m *txpb.RegisterCheckpointKey, height int64) ([]abci.Event, error) {
	if !a.checkpointsOn() {
		return nil, ErrCheckpointKey.Wrapf("this chain defines no checkpoints (params.checkpoint_interval is 0)")
	}
	if b, err := hex.DecodeString(m.Validator); err != nil || len(b) != 20 {
		return nil, ErrCheckpointKey.Wrapf("validator address %q is not 40 hex digits", m.Validator)
	}
	v, ok, err := permission.GetValidator(kv, m.Validator)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrCheckpointKey.Wrapf("%s is not a registered validator", strings.ToUpper(m.Validator))
	}
	if v.Power == 0 {
		return nil, ErrCheckpointKey.Wrapf("validator %s was removed (power 0)", v.Address)
	}
	if err := permission.RequireRole(kv, tx.Sender, v.Org, permission.RoleAdmin, ""); err != nil {
		return nil, fmt.Errorf("register checkpoint key of validator %s: %w", v.Address, err)
	}
	pub, err := v.PublicKey()
	if err != nil {
		return nil, err
	}
	r := checkpoint.Registration{
		ChainID: a.chainID, Validator: strings.ToUpper(v.Address), CheckpointKey: m.CheckpointKey,
		Possession: m.Possession, SM2Signature: m.Sm2Signature,
	}
	if err := r.Verify(a.chainID, pub); err != nil {
		return nil, ErrCheckpointKey.Wrapf("checkpoint key of validator %s: %v", r.Validator, err)
	}
	r.ChainID = "" // stored for this chain
	b, err := ledger.Encode(r)
	if err != nil {
		return nil, err
	}
	if err := kv.Set(permission.SystemLedger, cpKeyKey(r.Validator), b); err != nil {
		return nil, err
	}
	if err := a.checkpointSetChanged(kv, height); err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventCheckpointKey{Validator: r.Validator, Org: v.Org, Key: hex.EncodeToString(r.CheckpointKey)})}, nil
}

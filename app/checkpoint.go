package app

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// Checkpoints (docs/checkpoints.md). With params.checkpoint_interval = N > 0
// the chain defines checkpoint k at height k·N: FinalizeBlock of height
// k·N+1 stores it under cp/def/<k>; ExtendVote of that height signs it with
// the validator's checkpoint key besides the SM2 QC signature (the two
// travel in one VoteExtension); the QC transaction of height k·N, in block
// k·N+2, carries both and is stored with them, which is how the signatures
// reach the state. A prover node reads them (CheckpointSignatures) and
// proves the checkpoint off the consensus path.
//
// The scheme itself (commitment, digest, EdDSA) is consensus/checkpoint's;
// the app gets it through the Checkpointer interface so that it does not
// import the consensus layer. Epoch 0 is defined at InitChain from the
// genesis validator set (height 0, zero app hash).
//
// Checkpoints at validator-set changes are not defined yet: jinlian's
// validator set is fixed at genesis, so NextValidatorSet always equals
// ValidatorSet.

// Checkpoint mirrors consensus/checkpoint.Checkpoint.
type Checkpoint struct {
	ChainID          string   `json:"chain_id"`
	Epoch            uint64   `json:"epoch"`
	Height           uint64   `json:"height"`
	AppHash          [32]byte `json:"app_hash"`
	PrevHash         [32]byte `json:"prev_hash"`
	ValidatorSet     [32]byte `json:"validator_set"`
	NextValidatorSet [32]byte `json:"next_validator_set"`
}

// CheckpointValidator is one slot of the validator-set commitment.
type CheckpointValidator struct {
	Address string `json:"address"`
	Key     []byte `json:"key"`
	Power   int64  `json:"power"`
}

// CheckpointRegistration binds a validator's checkpoint key to its SM2 node
// key (consensus/checkpoint.Registration without the chain id, which is the
// genesis chain's).
type CheckpointRegistration struct {
	Validator     string `json:"validator"`
	CheckpointKey string `json:"checkpoint_key"`
	Possession    string `json:"possession"`
	SM2Signature  string `json:"sm2_signature"`
}

// Checkpointer is the checkpoint scheme as the app needs it;
// consensus/checkpoint implements it (consensus.Checkpointer).
type Checkpointer interface {
	// CommitValidators is the validator-set commitment over slots slots.
	CommitValidators(vals []CheckpointValidator, slots int) ([32]byte, error)
	// Hash is the checkpoint's SM3 identity.
	Hash(Checkpoint) [32]byte
	// Digest is what validators sign.
	Digest(Checkpoint) [32]byte
	// VerifySignature checks a checkpoint signature.
	VerifySignature(key []byte, digest [32]byte, sig []byte) error
	// VerifyRegistration checks a registration against the node key.
	VerifyRegistration(r CheckpointRegistration, chainID string, node *gmcrypto.PublicKey) error
}

func cpKeyKey(addr string) []byte { return []byte("cp/key/" + strings.ToUpper(addr)) }
func cpDefKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("cp/def/"), epoch)
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
	if a.cps == nil {
		return ErrBadGenesis.Wrapf("genesis enables checkpoints but this node was started without the checkpoint scheme")
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
		if err := a.cps.VerifyRegistration(r, chainID, pub); err != nil {
			return ErrBadGenesis.Wrapf("checkpoint key of validator %s: %v", r.Validator, err)
		}
		b, _ := json.Marshal(r)
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
	set, err := a.cps.CommitValidators(vals, g.Params.CheckpointSlots)
	if err != nil {
		return ErrBadGenesis.Wrapf("checkpoint validator set: %v", err)
	}
	return saveCheckpoint(kv, Checkpoint{ChainID: chainID, ValidatorSet: set, NextValidatorSet: set})
}

// CheckpointValidators lists the active validators with their checkpoint
// keys, in address order (the commitment's slot order). A validator added
// after genesis without a checkpoint key (there is no registration
// transaction yet) or removed (power 0) is left out: it adds no power to
// checkpoints, and the chain must not halt over it.
func CheckpointValidators(kv reader) ([]CheckpointValidator, error) {
	regs, err := permission.Validators(kv)
	if err != nil {
		return nil, err
	}
	out := make([]CheckpointValidator, 0, len(regs))
	for _, v := range regs {
		key, err := checkpointKey(kv, v.Address)
		if err != nil {
			return nil, err
		}
		if key == nil || v.Power == 0 {
			continue
		}
		out = append(out, CheckpointValidator{Address: strings.ToUpper(v.Address), Key: key, Power: v.Power})
	}
	return out, nil
}

func checkpointKey(kv reader, addr string) ([]byte, error) {
	b, err := kv.Get(permission.SystemLedger, cpKeyKey(addr))
	if err != nil || b == nil {
		return nil, err
	}
	var r CheckpointRegistration
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return hex.DecodeString(r.CheckpointKey)
}

func saveCheckpoint(kv ledger.KV, c Checkpoint) error {
	b, _ := json.Marshal(c)
	return kv.Set(permission.SystemLedger, cpDefKey(c.Epoch), b)
}

// LoadCheckpoint returns the stored checkpoint of epoch (ok false if none).
func LoadCheckpoint(kv reader, epoch uint64) (Checkpoint, bool, error) {
	var c Checkpoint
	b, err := kv.Get(permission.SystemLedger, cpDefKey(epoch))
	if err != nil || b == nil {
		return c, false, err
	}
	return c, true, json.Unmarshal(b, &c)
}

// checkpointAt defines the checkpoint of height h with app hash appHash
// from state kv (committed through h), or ok false if h is not a
// checkpoint height.
func (a *App) checkpointAt(kv reader, h int64, appHash []byte) (Checkpoint, bool, error) {
	n := a.params.CheckpointInterval
	if n <= 0 || a.cps == nil || h <= 0 || h%n != 0 || len(appHash) != 32 {
		return Checkpoint{}, false, nil
	}
	epoch := uint64(h / n)
	prev, ok, err := LoadCheckpoint(kv, epoch-1)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if !ok {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %d: checkpoint %d is not defined", epoch, epoch-1)
	}
	vals, err := CheckpointValidators(kv)
	if err != nil {
		return Checkpoint{}, false, err
	}
	set, err := a.cps.CommitValidators(vals, a.params.CheckpointSlots)
	if err != nil {
		return Checkpoint{}, false, err
	}
	c := Checkpoint{
		ChainID: a.chainID, Epoch: epoch, Height: uint64(h), PrevHash: a.cps.Hash(prev),
		ValidatorSet: set, NextValidatorSet: set,
	}
	copy(c.AppHash[:], appHash)
	return c, true, nil
}

// defineCheckpoint runs in FinalizeBlock: if the last committed height is a
// checkpoint height, store its checkpoint.
func (a *App) defineCheckpoint(kv ledger.KV) (*abci.Event, error) {
	ci := a.store.LastCommit()
	c, ok, err := a.checkpointAt(kv, ci.Height, ci.AppHash)
	if err != nil || !ok {
		return nil, err
	}
	if err := saveCheckpoint(kv, c); err != nil {
		return nil, err
	}
	return &abci.Event{Type: "checkpoint", Attributes: []abci.EventAttribute{
		{Key: "epoch", Value: fmt.Sprint(c.Epoch), Index: true},
		{Key: "height", Value: fmt.Sprint(c.Height)},
		{Key: "hash", Value: strings.ToUpper(hex.EncodeToString(func() []byte { h := a.cps.Hash(c); return h[:] }()))},
	}}, nil
}

// signCheckpoint is the checkpoint half of ExtendVote: a signature over the
// checkpoint of the last committed height, or nil.
func (a *App) signCheckpoint(kv reader, h int64, appHash []byte) ([]byte, error) {
	if a.cpSigner == nil {
		return nil, nil
	}
	c, ok, err := a.checkpointAt(kv, h, appHash)
	if err != nil || !ok {
		return nil, err
	}
	return a.cpSigner(a.cps.Digest(c))
}

// verifyCheckpointSignature checks validator addr's checkpoint signature
// over c.
func (a *App) verifyCheckpointSignature(kv reader, c Checkpoint, addr string, sig []byte) error {
	key, err := checkpointKey(kv, addr)
	if err != nil {
		return err
	}
	if key == nil {
		return fmt.Errorf("validator %s has no checkpoint key", addr)
	}
	return a.cps.VerifySignature(key, a.cps.Digest(c), sig)
}

// checkpointForQC returns the stored checkpoint certified by the QC of
// height h, if h is a checkpoint height.
func (a *App) checkpointForQC(kv reader, h int64) (Checkpoint, bool, error) {
	n := a.params.CheckpointInterval
	if n <= 0 || h <= 0 || h%n != 0 {
		return Checkpoint{}, false, nil
	}
	return LoadCheckpoint(kv, uint64(h/n))
}

// CheckpointSignatures returns the checkpoint signatures of epoch, by
// validator address, from the stored QC of its height. ok is false until
// that QC is in the state.
func CheckpointSignatures(kv reader, c Checkpoint) (map[string][]byte, bool, error) {
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

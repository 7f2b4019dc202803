package app

import (
	"encoding/hex"
	"fmt"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// coreScheme is the checkpoint core (package checkpoint) as the app's
// Checkpointer: every node has it, so a chain that defines checkpoints
// can always be followed. Options.Checkpoints replaces it only in tests.
type coreScheme struct{}

var _ Checkpointer = coreScheme{}

func toCheckpoint(c Checkpoint) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{
		ChainID: c.ChainID, Epoch: c.Epoch, Height: c.Height, AppHash: c.AppHash, PrevHash: c.PrevHash,
		ValidatorSet: c.ValidatorSet, NextValidatorSet: c.NextValidatorSet,
	}
}

// ToCoreValidators is the core's view of a checkpoint validator set.
func ToCoreValidators(vals []CheckpointValidator) []checkpoint.Validator {
	out := make([]checkpoint.Validator, len(vals))
	for i, v := range vals {
		out[i] = checkpoint.Validator{Key: v.Key, Power: v.Power}
	}
	return out
}

// ToCoreCheckpoint is the core's checkpoint.
func ToCoreCheckpoint(c Checkpoint) checkpoint.Checkpoint { return toCheckpoint(c) }

func (coreScheme) CommitValidators(vals []CheckpointValidator, slots int) ([32]byte, error) {
	return checkpoint.CommitValidators(ToCoreValidators(vals), slots)
}

func (coreScheme) Hash(c Checkpoint) [32]byte { return toCheckpoint(c).Hash() }

func (coreScheme) Digest(c Checkpoint) [32]byte { return toCheckpoint(c).Digest() }

func (coreScheme) VerifySignature(key []byte, digest [32]byte, sig []byte) error {
	return checkpoint.VerifySignature(key, digest, sig)
}

func (coreScheme) VerifyRegistration(r CheckpointRegistration, chainID string, node *gmcrypto.PublicKey) error {
	reg := checkpoint.Registration{ChainID: chainID, Validator: r.Validator}
	var err error
	for _, f := range []struct {
		dst *checkpoint.HexBytes
		src string
	}{{&reg.CheckpointKey, r.CheckpointKey}, {&reg.Possession, r.Possession}, {&reg.SM2Signature, r.SM2Signature}} {
		if *f.dst, err = hex.DecodeString(f.src); err != nil {
			return fmt.Errorf("%w: not hex", checkpoint.ErrBadRegistration)
		}
	}
	return reg.Verify(chainID, node)
}

// GenesisRegistration converts a registration to its genesis form.
func GenesisRegistration(r checkpoint.Registration) CheckpointRegistration {
	return CheckpointRegistration{
		Validator: r.Validator, CheckpointKey: hex.EncodeToString(r.CheckpointKey),
		Possession: hex.EncodeToString(r.Possession), SM2Signature: hex.EncodeToString(r.SM2Signature),
	}
}

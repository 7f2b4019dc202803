// Package checkpointtest makes deterministic checkpoint keys, checkpoints
// and signatures for the tests of consensus/prover's users (relay,
// cmd/jinlian). Only tests import it: it imports testing.
package checkpointtest

import (
	"encoding/binary"
	"testing"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Validators makes deterministic checkpoint keys (seeded) with the given
// powers: the keys of consensus/prover's own tests for the same seed.
func Validators(t testing.TB, seed uint64, powers ...int64) ([]*checkpoint.CheckpointKey, []checkpoint.Validator) {
	t.Helper()
	keys := make([]*checkpoint.CheckpointKey, len(powers))
	vals := make([]checkpoint.Validator, len(powers))
	for i, p := range powers {
		s := gmcrypto.NewSM3Stream(gmcrypto.SM3([]byte("jinlian test checkpoint key"), binary.BigEndian.AppendUint64(nil, seed), binary.BigEndian.AppendUint64(nil, uint64(i))))
		k, err := checkpoint.GenerateKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], vals[i] = k, checkpoint.Validator{Key: k.Public(), Power: p}
	}
	return keys, vals
}

// Genesis is an epoch-0 checkpoint of vals for a circuit with n slots.
func Genesis(t testing.TB, chainID string, vals []checkpoint.Validator, n int) checkpoint.Checkpoint {
	t.Helper()
	set, err := checkpoint.CommitValidators(vals, n)
	if err != nil {
		t.Fatal(err)
	}
	return checkpoint.Checkpoint{ChainID: chainID, AppHash: gmcrypto.SM3([]byte("genesis")), ValidatorSet: set, NextValidatorSet: set}
}

// Next is the checkpoint after prev at height, with app hash SM3(tag).
func Next(prev checkpoint.Checkpoint, height uint64, tag string) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{
		ChainID: prev.ChainID, Epoch: prev.Epoch + 1, Height: height,
		AppHash: gmcrypto.SM3([]byte(tag)), PrevHash: prev.Hash(),
		ValidatorSet: prev.NextValidatorSet, NextValidatorSet: prev.NextValidatorSet,
	}
}

// Sign has keys[i] sign cp for every i in signers.
func Sign(t testing.TB, keys []*checkpoint.CheckpointKey, cp checkpoint.Checkpoint, signers ...int) [][]byte {
	t.Helper()
	sigs := make([][]byte, len(keys))
	for _, i := range signers {
		s, err := keys[i].Sign(cp.Digest())
		if err != nil {
			t.Fatal(err)
		}
		sigs[i] = s
	}
	return sigs
}

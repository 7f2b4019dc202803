package prover

import (
	"encoding/binary"
	"testing"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Helpers for this package's own tests. Other packages' tests use
// checkpointtest, the same helpers (it imports this package, so these tests
// cannot import it).

// testValidators makes deterministic checkpoint keys (seeded) with the
// given powers.
func testValidators(t testing.TB, seed uint64, powers ...int64) ([]*checkpoint.CheckpointKey, []checkpoint.Validator) {
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

// testGenesis is an epoch-0 checkpoint of vals for a circuit with n slots.
func testGenesis(t testing.TB, chainID string, vals []checkpoint.Validator, n int) checkpoint.Checkpoint {
	t.Helper()
	set := mustCommit(t, vals, n)
	return checkpoint.Checkpoint{ChainID: chainID, AppHash: gmcrypto.SM3([]byte("genesis")), ValidatorSet: set, NextValidatorSet: set}
}

// testNext is the checkpoint after prev at height, with app hash SM3(tag).
func testNext(prev checkpoint.Checkpoint, height uint64, tag string) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{
		ChainID: prev.ChainID, Epoch: prev.Epoch + 1, Height: height,
		AppHash: gmcrypto.SM3([]byte(tag)), PrevHash: prev.Hash(),
		ValidatorSet: prev.NextValidatorSet, NextValidatorSet: prev.NextValidatorSet,
	}
}

// testCheckpoint is epoch 1 of a test chain signed by vals.
func testCheckpoint(t testing.TB, vals []checkpoint.Validator, n int) checkpoint.Checkpoint {
	t.Helper()
	return testNext(testGenesis(t, "jinlian-test", vals, n), 20, "state at 20")
}

// testSign has keys[i] sign cp for every i in signers.
func testSign(t testing.TB, keys []*checkpoint.CheckpointKey, cp checkpoint.Checkpoint, signers ...int) [][]byte {
	t.Helper()
	sigs := make([][]byte, len(keys))
	for _, i := range signers {
		sigs[i] = mustSign(t, keys[i], cp.Digest())
	}
	return sigs
}

func mustSign(t testing.TB, k *checkpoint.CheckpointKey, d checkpoint.Hash32) []byte {
	t.Helper()
	s, err := k.Sign(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCommit(t testing.TB, vals []checkpoint.Validator, n int) checkpoint.Hash32 {
	t.Helper()
	c, err := checkpoint.CommitValidators(vals, n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

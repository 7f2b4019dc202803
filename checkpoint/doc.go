// Package checkpoint is the checkpoint core: what a checkpoint is and what
// every node, prover and verifier must compute identically.
//
// Every checkpoint_interval blocks, and at every validator-set change, the
// chain defines checkpoint k: chain id, epoch k, height, app hash, the hash
// of checkpoint k−1, and commitments to the current and the next validator
// set. Its identity is an SM3 hash (Hash), chained through PrevHash, which a
// guomi-only auditor can recompute. What validators sign, and what the
// Ethereum anchor contract recomputes from its calldata, is the EVM digest
// of the same fields (Digest: keccak-256 truncated to 253 bits, so it is a
// BN254 scalar); docs/adr/0005-checkpoint-proofs.md says why.
//
// Validators sign with EdDSA keys on BN254's twisted Edwards curve
// (CheckpointKey, VerifySignature; ParsePublicKey refuses weak keys); a
// validator set is committed by MiMC over its slots (CommitValidators); a
// checkpoint key is bound to a validator's SM2 node key by a Registration;
// HasQuorum is the one quorum rule (more than 2/3 of the power).
//
// The app imports it directly: checkpoints are consensus-critical and every
// node has them. It imports gnark-crypto and gmcrypto only, never the
// prover (consensus/prover: the circuit, Groth16, the ceremony, the
// relayer).
package checkpoint

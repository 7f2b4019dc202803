// Package checkpoint defines jinlian's checkpoints and proves them in zero
// knowledge for Ethereum.
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
// A Scheme turns the validators' signatures over a checkpoint into one
// succinct proof. The first scheme (EdDSAGroth16) has every validator sign
// with an EdDSA key on BN254's twisted Edwards curve and proves with
// Groth16 over BN254 (gnark) that the keys and powers hash (MiMC) to the
// validator-set commitment, that the signatures are valid and that the
// signers hold more than 2/3 of the power. The circuit has a fixed number of
// slots, padded with zero-power entries, and uses only plain bit
// decompositions for its range checks, so gnark adds no commitment and the
// proof is 256 bytes. A later scheme can prove the validators' SM2
// signatures behind the same interface.
//
// This package does no network I/O and keeps no state of its own beyond key
// files it is asked to read or write. It imports gmcrypto only; the relayer
// (subpackage relay) talks to Ethereum.
package checkpoint

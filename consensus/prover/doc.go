// Package prover proves jinlian's checkpoints (package checkpoint, the
// core every node shares) in zero knowledge for Ethereum.
//
// A Prover turns the validators' signatures over a checkpoint into one
// succinct proof. The first scheme (EdDSAGroth16) has every validator sign
// with an EdDSA key on BN254's twisted Edwards curve and proves with
// Groth16 over BN254 (gnark) that the keys and powers hash (MiMC) to the
// validator-set commitment, that the signatures are valid and that the
// signers hold more than 2/3 of the power. The circuit has a fixed number of
// slots, padded with zero-power entries, and uses only plain bit
// decompositions for its range checks, so gnark adds no commitment and the
// proof is 256 bytes. A later scheme can prove the validators' SM2
// signatures behind the same interface. The package also holds the MPC
// ceremony (Ceremony), the proof store and the worker that proves what the
// chain defines.
//
// This package does no network I/O and keeps no state of its own beyond the
// files it is asked to read or write; the relayer (subpackage relay) talks
// to Ethereum. Only nodes that prove link it: the app needs only the core.
package prover

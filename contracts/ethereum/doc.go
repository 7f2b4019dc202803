// Package ethereum holds jinlian's Ethereum contracts and the files made
// from them: CheckpointAnchor.sol (accepts checkpoint k when it follows k−1
// and comes with a valid quorum proof), Verifier.sol (gnark's Groth16
// verifier for the checkpoint circuit's keys), their solc output in build/
// and abigen Go bindings in bindings/.
//
// gen.sh regenerates everything; the tests here check that the committed
// artifacts agree with each other and with build/manifest.json, and
// recompile the sources when node and the pinned solc are installed. The
// package has no Go API of its own: the relayer (consensus/prover/relay)
// uses the bindings.
package ethereum

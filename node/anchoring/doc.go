// Package anchoring composes the checkpoint prover and relayer of a node:
// a prover worker (consensus/prover) that proves every checkpoint the node's
// chain has signed, reading it over the node's RPC (app.QueryCheckpoint),
// and a relayer (consensus/prover/relay) that submits the proofs to the
// CheckpointAnchor contract on Ethereum; deploying that contract from a
// node's genesis; and the development chain a localnet anchors on (geth
// --dev, an endpoint, or a development build's in-process chain).
//
// It links gnark and go-ethereum's client, so only the jinlian-anchor
// binary (cmd/jinlian-anchor), development builds (-tags dev) and tests
// import it; the production jinlian binary supervises jinlian-anchor as a
// process instead (node.StartAnchorProcess). It never imports package node:
// it reads a node through its RPC only.
package anchoring

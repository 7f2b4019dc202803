// Package relay submits proven checkpoints to the CheckpointAnchor contract
// on an Ethereum JSON-RPC endpoint (ethclient) or on go-ethereum's
// in-process simulated backend (package devchain, which the production
// binary does not link). StartGethDev runs a `geth --dev` process as a
// development endpoint.
//
// The relayer is idempotent: it reads the anchor's latest epoch first and
// skips checkpoints already anchored (after checking that the anchored hash
// is the one it holds). Transient failures (the endpoint down, a dropped
// transaction) are retried with exponential backoff; a revert is reported
// with the contract's error decoded. Every submission reports its gas.
//
// It imports consensus/prover and the contract bindings; nothing of the
// state machine imports it.
package relay

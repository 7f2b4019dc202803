// Package relay submits proven checkpoints to the CheckpointAnchor contract
// on an Ethereum JSON-RPC endpoint (ethclient) or on go-ethereum's
// in-process simulated backend (the localnet's default, see Simulated).
//
// The relayer is idempotent: it reads the anchor's latest epoch first and
// skips checkpoints already anchored (after checking that the anchored hash
// is the one it holds). Transient failures (the endpoint down, a dropped
// transaction) are retried with exponential backoff; a revert is reported
// with the contract's error decoded. Every submission reports its gas.
//
// It imports consensus/checkpoint and the contract bindings; nothing of the
// state machine imports it.
package relay

// Package app is jinlian's ABCI 2.0 application: it decodes and verifies
// transaction envelopes, authorizes them, routes each message to its
// contract, and keeps the ledger store in step with CometBFT (FinalizeBlock
// applies in memory, Commit persists, Info reports height and app hash for
// the handshake).
//
// The state machine is deterministic: it reads no clock but the block time,
// iterates no Go map into state or events, and writes state from one
// goroutine only. It may import contracts, permission, ledger, wire,
// movement, checkpoint and gmcrypto of jinlian. After each executed
// transaction it folds the movements its events report into the accounts'
// completeness commitments (completeness.go, package movement).
package app

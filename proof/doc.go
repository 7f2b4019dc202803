// Package proof builds and verifies proof bundles: JSON files a bank hands
// a counterparty, which prove a fact about the chain without trusting the
// node that served them (docs/proofs.md).
//
// A bundle proves, at one height H: the value of keys of sub-ledgers or
// their absence (kind "state"), that a transaction is in block H with a
// result code (kind "tx"), or only the height's SM2 quorum certificate
// (kind "qc"). Every bundle carries the chain of CometBFT light blocks from
// a trusted point up to block H+1, whose header holds the app hash after
// H; the SM2 quorum certificate of H with each signer's registration
// proven in the state of H; and the proof of the fact under that app hash.
// Verify checks it offline, from a trusted genesis or (height, hash), with
// CometBFT's light-client rules, SM2/SM3 and ICS-23; a guomi-only auditor
// can check the certificate and the fact with SM2/SM3 alone (Trust.Guomi).
// The envelope (format, kind) leaves room for further kinds (a per-account
// completeness commitment).
//
// CheckAnchor adds one online step to a verified bundle: that its height is
// a checkpoint the chain's CheckpointAnchor contract on Ethereum anchored,
// with its app hash (plain JSON-RPC, no go-ethereum in the binary).
//
// Build reads a node over CometBFT's RPC. The package sits above app (its
// query paths, VerifyQC), checkpoint, permission, ledger, wire and gmcrypto; it never
// imports api, consensus, node or cmd.
package proof

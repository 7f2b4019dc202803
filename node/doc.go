// Package node composes one jinlian node from its configuration, as
// CometBFT's node.NewNode does for CometBFT: Start opens the ledger
// (ledger), builds the state machine over it (app) with the node's SM2
// and checkpoint keys, starts the CometBFT node that drives it
// (consensus, with the peer filter asking the app's node registry), and,
// as the configuration asks, the client API (api), the regulator service
// of an observer (regulator) and the checkpoint prover and relayer. Every
// dependency is built here and injected; nothing below imports this
// package. Stop takes the node down in the reverse order.
//
// The prover and relayer link gnark and go-ethereum, which a node does not
// need: they are composed in package node/anchoring, which the
// jinlian-anchor binary runs, and Start runs and supervises that binary
// (StartAnchorProcess) when checkpoint.prover is on. A development build
// injects node/anchoring in process instead (Options.StartAnchoring).
// This package imports neither gnark nor go-ethereum.
//
// The files of a node's home that belong to no single package below are
// named here too: the SM2 node key (SM2KeyFile), the ledger (LedgerDir)
// and the regulator's index and rules; node/anchoring names the prover's
// (anchor.json).
//
// The demo consortium of `jinlian localnet` is package node/localnet,
// which a production node does not need.
package node

// Package node composes one jinlian node from its configuration, as
// CometBFT's node.NewNode does for CometBFT: Start opens the ledger
// (ledger), builds the state machine over it (app) with the node's SM2
// and checkpoint keys, starts the CometBFT node that drives it
// (consensus, with the peer filter asking the app's node registry), and,
// as the configuration asks, the client API (api), the regulator service
// of an observer (regulator) and the checkpoint prover and relayer
// (consensus/prover, consensus/prover/relay). Every dependency is built
// here and injected; nothing below imports this package. Stop takes the
// node down in the reverse order.
//
// The files of a node's home that belong to no single package below are
// named here too: the SM2 node key (SM2KeyFile), the ledger (LedgerDir),
// the regulator's index and rules, and anchor.json (AnchorInfoFile).
//
// The demo consortium of `jinlian localnet` is package node/localnet,
// which a production node does not need.
package node

// Package consensus embeds a CometBFT v0.38 node in the jinlian process.
//
// It owns everything between an abci.Application and the network: the home
// layout (CometBFT's own: <home>/config/{config.toml,genesis.json,node_key.json,
// priv_validator_key.json}, <home>/data/...), key and genesis generation for a
// local network (WriteNetwork, LoadNetwork) or for one node of a real network
// (InitHome), and the node's lifecycle (StartNode, Node.Stop) with a local ABCI
// client. Later it also owns the peer-filter hook, validator updates,
// vote-extension signatures and checkpoint assembly.
//
// Node.Stop exists because CometBFT's own Node.OnStop leaves tx_index.db open
// and lets reactor goroutines read the block store after it has closed it:
// this package hands the node DB wrappers whose Close does nothing, stops the
// node, and then closes the real DBs itself, so a node can be stopped and
// started again on the same home in one process.
//
// It also covers what CometBFT leaves to the operator (docs/operations.md):
// a supervisor redials lost persistent peers however long they were away
// (supervise.go), a consensus state machine that stopped is reported as a
// HaltError (health.go), and heights an unclean stop left out of the tx
// index are indexed again at start (txindex.go).
//
// It takes any abci.Application and must not import the jinlian app; per
// DESIGN.md it may import app, permission, ledger, gmcrypto and nodecfg, and
// api (StartJinlian serves the node's HTTP API when api.listen is set), and
// it must not be imported by any of them.
package consensus

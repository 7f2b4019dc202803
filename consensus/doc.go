// Package consensus embeds a CometBFT v0.38 node in the jinlian process.
//
// It owns everything between an abci.Application and the network: the home
// layout (CometBFT's own: <home>/config/{config.toml,genesis.json,node_key.json,
// priv_validator_key.json}, <home>/data/...), key and genesis generation for a
// local network (WriteNetwork, LoadNetwork) or for one node of a real network
// (InitHome), and the node's lifecycle (StartNode, Node.Stop) with a local ABCI
// client, the peer-filter hook and the evictions governance asks for.
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
// It also composes a jinlian node today (StartJinlian: ledger, app, API;
// StartAnchoring: prover and relayer; the demo localnet), which is why it
// imports api, the checkpoint core and prover, contracts and permission
// beyond the design's app and nodecfg: internal/layers lists each of these
// imports as waiting for the node/ composition package (issue 17 part 4).
// Nothing below it imports it.
package consensus

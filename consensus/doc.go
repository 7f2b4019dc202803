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
// started again on the same home in one process. It opens those DBs too:
// goleveldb with larger memtable, table and level sizes than goleveldb's
// defaults, which rewrite a growing history less often (db.go, ADR 0024).
//
// It also covers what CometBFT leaves to the operator (docs/operations.md):
// a supervisor redials lost persistent peers however long they were away
// (supervise.go), a consensus state machine that stopped is reported as a
// HaltError (health.go), and heights an unclean stop left out of the tx
// index are indexed again at start (txindex.go). A disk that nearly fills
// stops the node before Badger's memory-mapped writes would crash it
// (disk.go), and the RPC's connection limit follows the open-file limit
// (rpcconns.go).
//
// It embeds CometBFT only: the ABCI application it drives is handed to
// StartNode. Package node composes a jinlian node (ledger, app, this
// package's CometBFT node, API, regulator, prover) and package
// node/localnet the demo consortium. Its only import of ours is recon:
// statements read CometBFT's block store and tx index through
// Node.Statements.
package consensus

// Package regulator is the observer side of jinlian: it follows the
// committed blocks of a node (any BlockSource: CometBFT's in-process local
// client, or its HTTP client), indexes every payment movement in its own
// Badger database (by account, sub-ledger, asset, time and amount, plus the
// history of every balance key), runs the compliance rules over each block in
// block time, persists and streams the alerts they raise, builds signed
// compliance reports, decrypts confidential payloads with the regulator's
// escrow key and keeps a hash-chained, SM2-signed audit log of the requests
// to its HTTP API.
//
// Indexing is deterministic: a block's index entries, rule state and alerts
// are written before the last indexed height, in one Badger transaction or,
// for a block larger than one, in chunks behind a redo log (commit.go), so a
// restarted observer resumes exactly where it stopped, never holds part of
// a block nor indexes one twice, and ends with the same index as a fresh
// replay from genesis.
// Acknowledgements and the audit log are the only non-deterministic data;
// they live in a second Badger database beside the index (OperatorDir), so
// that deleting the index to rebuild it under new rules keeps them.
//
// With a PostgreSQL database (Config.SQLConn) the service loads what it
// indexed into its own tables (psql.go) after indexing and apart from it,
// with a cursor committed in the same SQL transaction as the rows: the
// database being down delays those rows, never the index or the alerts.
//
// It may import wire (transactions and typed events), ledger, permission and
// gmcrypto of jinlian; never consensus (cmd/jinlian wires it to a node).
package regulator

// Package e2e holds jinlian's end-to-end tests: real CometBFT validators
// running the jinlian app, in this process (TestFourValidators) or as a
// `jinlian localnet` child process that is killed with SIGKILL under load
// (TestCrashRecovery). Tests talk to nodes only through CometBFT RPC clients
// (local or HTTP) and the app's ABCI query paths, the way a client would.
//
// TestWarmAndColdNodesAgree runs one `jinlian start` process per validator
// of a localnet home, so each has its own certificate and signature caches
// (warmed by its own CheckTx), drives payments, a certificate revocation, a
// refused issue, a regulator's hold and a double spend that is refused
// inside a block, kills and restarts one validator, then starts the
// localnet's registered observer for the first time: a cold node that
// block-syncs and re-executes every block. Each process's own app hash
// (/block_results) and every transaction result must agree at every
// height; the test names the first height where they do not.
//
// TestContractsThroughCLI runs the banks' contracts on a four-validator
// localnet through the jinlian binary only, as a bank's operator would:
// a sub-ledger and an asset by governance, a custody account under dual
// control, a receivable down a supply chain and discounted to a bank, PvP
// trades settled and refunded, each refusal checked for its registered
// error and for moving nothing, then `jinlian debug invariants` on every
// node and the app hashes compared.
//
// The package has no non-test code; it may import any jinlian package.
package e2e

// Package e2e holds jinlian's end-to-end tests: real CometBFT validators
// running the jinlian app, in this process (TestFourValidators) or as a
// `jinlian localnet` child process that is killed with SIGKILL under load
// (TestCrashRecovery). Tests talk to nodes only through CometBFT RPC clients
// (local or HTTP) and the app's ABCI query paths, the way a client would.
//
// The package has no non-test code; it may import any jinlian package.
package e2e

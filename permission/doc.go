// Package permission owns who may do what: organisations, the identities
// registered to them and their roles. State lives in the system ledger
// (SystemLedger) of the ledger store.
//
// This is the foundation's registry (genesis-defined organisations and
// identities); certificates, governance and node admission build on it.
// It may import ledger and gmcrypto of jinlian, nothing above them.
package permission

// Package movement defines what a movement of an account is, and the
// completeness commitment over an account's movements that lets its holder
// prove that a list of movements is all of them.
//
// A movement is one change (or, for a transfer to oneself, one touch) of
// the balance of one account of one asset on one sub-ledger, as the typed
// events of a committed transaction report it (FromEvents): a transfer's
// debit and credit, an issue's credit, a burn's and a redemption's debit, a
// rejected redemption's return. The app folds every movement into the
// account's Commitment as it executes the transaction, and keeps it in the
// sub-ledger's state next to the balance (package payments owns the key);
// a node lists the movements of a height range from its block results
// (package recon); Verify checks a list against the commitments at both
// ends of the range:
//
//	chain' = SM3("jinlian/movement/v1" ‖ chain ‖ Encode(movement))
//	count' = count + 1,  balance' = the movement's balance after it
//
// docs/reconciliation.md ("Completeness commitments") gives the exact
// encoding for a counterparty that recomputes it with SM3 alone;
// docs/adr/0014-completeness-commitment.md why it is a hash chain per
// (account, asset).
//
// It imports wire, proto/txpb and gmcrypto of jinlian, and CometBFT's ABCI
// types; it reads no state and does no I/O. It must not import ledger, the
// contracts, app, recon or anything above them.
package movement

// Package custody is the custody-account contract: accounts on a
// sub-ledger whose funds leave only with the approvals of M of their N
// signers (dual control, 双人双锁), optionally after a time lock and within
// a daily limit per asset. A signer proposes a payment (or a change of the
// signer set), which counts as its approval; other signers approve, once
// each; the approval that reaches M executes it when the account has no
// time lock, and otherwise anyone may execute it once the lock has run out.
// Until then any signer may veto it. A proposal expires ExpiryBlocks after
// it was made. See docs/custody.md.
//
// The account's funds are balances in the payments contract, moved through
// the Bank this package declares; who may take part (signers are member
// identities of the ledger) comes through the Registry it declares. The
// app's guard (Env.MaySend) applies holds and sanctions to every payment
// out of a custody account.
//
// An account's address is the first 20 bytes of
// SM3("jinlian/custody/v1" ‖ 0x00 ‖ ledger ‖ 0x00 ‖ creating tx id (32 bytes)):
// tx ids never repeat, so neither do addresses, and the client knows the
// address before the transaction commits (AccountAddress).
//
// State layout inside a sub-ledger's tree (all big-endian):
//
//	cu/a/<account 20>                      → account record
//	cu/p/<account 20><id 8>                → pending proposal record
//	cu/d/<account 20><len(symbol)><symbol> → UTC day of the block time (8) ‖ paid that day (8)
//
// Executed, vetoed, expired and superseded proposals are deleted; their
// history is the events (custody_proposed, custody_approved,
// custody_executed, custody_closed) and ids are never reused.
//
// It imports ledger, gmcrypto, proto/txpb and wire of jinlian; it reads no
// clock but the block time it is handed and iterates no Go map.
package custody

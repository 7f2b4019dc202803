// Package pvp is the payment-versus-payment contract for cross-border
// settlement: two banks agree a trade of leg A (an asset on one sub-ledger,
// paid by the proposer) against leg B (an asset on another sub-ledger, or
// the same one, paid by the counterparty). Each side pays its own leg into
// an escrow the contract holds on that leg's ledger; the funding that
// completes the trade (or, before a value height, a later pvp_settle) pays
// both escrows out in the same transaction: leg A to the counterparty's
// receiver, leg B to the proposer's receiver. From the expiry height on the
// trade can no longer settle and anyone may refund its funded legs; a party
// may cancel (refund) it any time before it settles. See docs/pvp.md.
//
// The messages travel on the _system channel, since a trade spans two
// ledgers: the contract checks each party's membership of the ledger it
// pays on, and writes to both legs' ledgers through ledger.KV.
//
// A trade's id is the id of the transaction that proposed it. A leg's
// escrow address is the first 20 bytes of
// SM3("jinlian/pvp/v1" ‖ 0x00 ‖ leg ledger ‖ 0x00 ‖ trade id (32 bytes)).
// An escrow is a payee of its ledger only while the contract funds it
// (IsEscrow), so no one else can pay into it: its balance is exactly its
// funded, unsettled leg.
//
// State layout (all big-endian):
//
//	_system: pv/t/<trade id 32>   → trade record (kept after it closes)
//	leg ledger: pv/e/<escrow 20>  → trade id, only within a funding
//
// Funds move through the Bank this package declares (payments.Move); who
// may act comes through the Registry it declares; the app's guard
// (Env.MaySend) applies holds and sanctions to every payment out of an
// escrow. It imports ledger, gmcrypto, internal/errs, proto/txpb and wire
// of jinlian; it reads no clock and iterates no Go map.
package pvp

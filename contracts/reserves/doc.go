// Package reserves is the proof-of-reserves contract: per asset of every
// sub-ledger, at every reserves height, a Merkle-sum tree over the
// (account, balance) pairs of the asset's positive balances, sorted by
// account, whose root, total and supply are committed in the sub-ledger's
// own state, so that the app hash of that height (signed by the SM2 quorum
// certificate and, at checkpoint heights, anchored on Ethereum) covers
// them. A holder gets its leaf and sibling path (Keeper.Prove, a Bundle)
// and checks offline (Verify) that its balance is included, that no sum
// on the path was made negative or shifted between siblings, and that the
// record is in the app hash. See docs/reserves.md.
//
//	leaf = SM3(0x00 ‖ account (20) ‖ balance (8))
//	node = SM3(0x01 ‖ left hash ‖ left sum (8) ‖ right hash ‖ right sum (8)), sum = left + right, checked
//	empty tree: SM3(""), sum 0; an odd node at the end of a level is promoted
//
// It is its own package, not part of payments, because it only reads
// what payments owns (through the Bank it declares) and writes records no
// payment reads; it has no messages. The app calls Keeper.Commit at the
// end of the block of every reserves height (params.reserves_interval).
//
// State layout inside each sub-ledger's tree (all big-endian):
//
//	rv/<len(symbol)><symbol> → Record (CBOR): height, root, total,
//	                           accounts, issued, burned, pending redemptions
//
// Only the latest record of an asset is in the current state; the record
// of an earlier reserves height is read at that height (IAVL versions).
// Invariant: total + pending redemptions == issued − burned, and the
// record is what the balances at its height give.
//
// Each record is announced by an EventReserves among the block's events.
//
// It imports ledger, gmcrypto, wire, proto/txpb and internal/errs of jinlian; it reads no
// clock and iterates no Go map.
package reserves

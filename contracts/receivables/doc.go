// Package receivables is the supply-chain finance contract: a supplier
// (the payee) requests a receivable against a core enterprise (the payer,
// an identity of another member organisation) for the invoice whose SM3
// hash it names; the payer confirms it. Its holders then split it into
// parts, transfer parts down the supply chain (多级穿透), pledge them to a
// creditor, or discount them to a bank, which pays the agreed price and
// takes the part in the same transaction (delivery versus payment). From
// the due height or due time (block time) on, the payer settles: each
// payment is shared among the holders of all parts pro rata to what each
// part has outstanding, in one step; a receivable past due and not fully
// paid is marked overdue (by a settlement or a mark-overdue message: the
// chain reads no clock). See docs/receivables.md.
//
// A receivable's id is the id of the transaction that requested it. Its
// parts are numbered from 1 (part 1 is the whole face value at
// confirmation); a split retires a part and adds new numbers, never
// reused. An invoice hash is indexed from the request on, so it can be
// registered once only (no double financing); a rejected request frees it.
//
// State layout inside a sub-ledger's tree (all big-endian):
//
//	rc/r/<receivable id 32> → receivable record, with its parts
//	rc/i/<invoice hash 32>  → receivable id (32)
//
// Funds move through the Bank this package declares (payments.Move); who
// may take part comes through the Registry it declares; the app's guard
// (Env.MaySend) applies holds and sanctions to every payment. It imports
// ledger, gmcrypto, internal/errs, proto/txpb and wire of jinlian; it reads
// no clock but the block time it is handed and iterates no Go map.
package receivables

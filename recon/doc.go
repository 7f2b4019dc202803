// Package recon is what a bank's reconciliation team reads from its own
// node: statements of an organisation's movements in a business day
// (Build), the day cut in a configured time zone (FindDay), and their CSV
// form (WriteCSV); an account's movements over a height range, every one
// of them, as the completeness commitments check them (AccountMovements,
// package movement); and the reconciliation of the bank's internal ledger
// file against a statement: the file read through a column mapping in
// UTF-8 or GB18030 (ParseMapping, ParseInternal, CheckDay), the matching
// (Match: breaks, positions, day totals, a pure function of its inputs)
// and the result signed field by field with SM2 (Sign, Verify). The
// matching core does no I/O: the CLI (jinlian recon run) fetches and
// reads. docs/reconciliation.md is the user's guide.
//
// A day is found by binary search over block header times (CometBFT's
// block time strictly increases with height), and its movements in the
// node's movement index where the Chain has one (OrgIndex: every
// movement by organisation, rows encoded by AppendIndexedRow), else by
// the node's CometBFT tx index (jinlian_tx.org and <event>.to_org, which
// even a validator's lean index keeps), decoded with wire.ParseEvent.
// Package consensus supplies the Chain over the node's block store,
// movement index and indexer; package api serves statements as
// GET /v1/statement.
//
// It imports wire, movement, gmcrypto and the generated proto of jinlian, and
// CometBFT's types; it must not import app, consensus, api or anything
// above them.
package recon

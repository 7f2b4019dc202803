// Package ledger owns jinlian's state: one IAVL tree per sub-ledger (named
// ledgers such as "payments", plus the app's "_system" ledger), all kept in
// one Badger database under per-ledger key prefixes.
//
// FinalizeBlock writes go to the working trees in memory (Store implements
// KV; a Cache per transaction buffers writes so a failing transaction
// changes nothing). Commit saves every tree as one IAVL version equal to the
// block height, then writes a synced commit record; Open loads every tree
// at the last recorded height, so a crash between the two is harmless.
// Views read committed versions concurrently with block execution.
//
// Get returns a copy its caller may change. Peek reads the same value
// without the copy, for a caller that decodes it at once; a Cache's Write
// hands its buffered copies to the ReadCache and Store below it, which keep
// them as given. A transaction's Cache and a block's ReadCache are borrowed
// (BorrowCache, BorrowReadCache) and released, so that their maps keep
// their room from one transaction and block to the next.
//
// Reads of the latest committed state (the working set's reads of keys the
// block has not written, Views of the latest height) go to the flat index
// (flat.go): every key's value at the last commit, one Badger record per
// key beside the trees, written with each Commit and rebuilt from the trees
// at Open when a crash left it behind the commit record. Iteration and
// Views of older heights walk the trees.
//
// Values of Options.ValueThreshold bytes or more (the trees' nodes) are
// kept in Badger's value log, the LSM tree holding pointers to them, so
// that compaction rewrites keys and pointers (ADR 0031). Every value read
// from the log is checked against its checksum (valueOf), and the store
// collects the log in the background (valuelog.go).
//
// BulkLoad (bulk.go) keeps a large genesis out of the working trees: its
// records are written to Badger as flat-index records as they come, and
// the first Commit imports the ledgers that hold them through IAVL's
// importer, as balanced trees.
//
// A View proves a committed key/value (ProveMembership: an ICS-23
// existence proof in the ledger's IAVL tree) and gives the ledger roots
// whose AppHash is the height's app hash, so a record can be tied to an
// app hash offline (VerifyMembership, RootOf; proof.go); Prove adds
// ICS-23 non-existence proofs for keys not set, and VerifyInAppHash is the
// one check of a key (or its absence) under an app hash.
//
// The app hash is an SM3 Merkle root over the sorted (ledger name, IAVL root)
// pairs; see AppHash and docs/adr/0001-app-hash.md. IAVL itself hashes with
// SHA-256, which it hard-codes.
//
// Snapshot writes a committed height (every tree's IAVL export, the aside
// index, the commit record) as SM3-hashed chunks; Restore imports them into
// an empty store and refuses them unless they hash to the trusted app hash.
// Snapshots keeps them as files for CometBFT's state sync.
//
// The package does no I/O beyond its Badger database and the snapshot
// directory it is given, reads no clock (the value log's collection runs on
// a timer and changes no value), and never iterates a Go map to produce
// state or ordering. Of jinlian's
// packages it may import only gmcrypto.
package ledger

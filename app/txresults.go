package app

import (
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"

	abci "github.com/cometbft/cometbft/abci/types"
)

// setTxResults writes the results commitment of the block at height
// (wire.TxResultsRecord; docs/adr/0013-tx-results-commitment.md): an SM3
// Merkle root over every transaction of the block with its result code,
// in state, so that the app hash of height, and the SM2 quorum
// certificate over it, commit to them. One SM3 of each transaction and
// one per tree node; no map, no clock.
func setTxResults(kv ledger.KV, height int64, txs [][]byte, results []*abci.ExecTxResult) error {
	leaves := make([][gmcrypto.HashSize]byte, len(txs))
	for i, tx := range txs {
		leaves[i] = wire.TxResultLeaf(uint32(i), tx, results[i].Code)
	}
	rec := wire.TxResultsRecord{Height: height, Count: uint32(len(txs)), Root: wire.TxResultsRoot(leaves)}
	return kv.Set(permission.SystemLedger, wire.TxResultsKey, rec.Encode())
}

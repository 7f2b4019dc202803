package app

import (
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"

	abci "github.com/cometbft/cometbft/abci/types"
)

// TxResultsUpgrade is the scheduled upgrade (docs/upgrades.md) that turns
// the results commitment on for a chain started before it: its migration
// writes the empty record, after which every block writes its own. A chain
// started by this binary has it from genesis (InitChain). Without the
// record a block writes none, so a chain of an older release keeps its app
// hashes until governance schedules the upgrade.
const TxResultsUpgrade = "tx-results-commitment"

func init() { RegisterMigration(TxResultsUpgrade, startTxResults) }

// startTxResults writes the empty record of height 0.
func startTxResults(kv ledger.KV) error {
	return kv.Set(permission.SystemLedger, wire.TxResultsKey, wire.TxResultsRecord{Root: wire.TxResultsRoot(nil)}.Encode())
}

// setTxResults writes the results commitment of the block at height
// (wire.TxResultsRecord; docs/adr/0013-tx-results-commitment.md): an SM3
// Merkle root over every transaction of the block with its result code,
// in state, so that the app hash of height, and the SM2 quorum
// certificate over it, commit to them. One SM3 of each transaction and
// one per tree node; no map, no clock.
func setTxResults(kv ledger.KV, height int64, txs [][]byte, results []*abci.ExecTxResult) error {
	if on, err := kv.Has(permission.SystemLedger, wire.TxResultsKey); err != nil || !on {
		return err
	}
	leaves := make([][gmcrypto.HashSize]byte, len(txs))
	for i, tx := range txs {
		leaves[i] = wire.TxResultLeaf(uint32(i), tx, results[i].Code)
	}
	rec := wire.TxResultsRecord{Height: height, Count: uint32(len(txs)), Root: wire.TxResultsRoot(leaves)}
	return kv.Set(permission.SystemLedger, wire.TxResultsKey, rec.Encode())
}

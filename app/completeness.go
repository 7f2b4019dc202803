package app

import (
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/wire"
)

// recordMovements folds the movements that an executed transaction's
// events report (movement.FromEvents, the same decoder a node's lister
// uses on the block results) into each account's completeness
// commitment, in event order: one SM3 and one record per touched account
// per movement (docs/adr/0014-completeness-commitment.md).
func (a *App) recordMovements(kv ledger.KV, tx *wire.Tx, height int64, txIndex uint32, events []abci.Event) error {
	ms, err := movement.FromEvents(height, txIndex, tx.ID, tx.Sender.String(), events)
	if err != nil {
		return fmt.Errorf("movements of tx %s: %w", tx.ID, err)
	}
	for _, m := range ms {
		if err := a.payments.RecordMovement(kv, m); err != nil {
			return err
		}
	}
	return nil
}

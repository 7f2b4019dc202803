package movement

import (
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// movementTypes are the event types that report movements; FromEvents
// parses only these.
var movementTypes = map[string]bool{
	wire.EventType(&txpb.EventTransfer{}):          true,
	wire.EventType(&txpb.EventIssue{}):             true,
	wire.EventType(&txpb.EventBurn{}):              true,
	wire.EventType(&txpb.EventRedeem{}):            true,
	wire.EventType(&txpb.EventRedemptionSettled{}): true,
}

// FromEvents lists the movements that the events of one executed
// transaction report, in event order and, within a transfer, debit before
// credit: the transaction at position txIndex of height's block, with
// jinlian id txID, sent by sender (the jinlian_tx event's id and sender).
// It is the one definition of a movement: the app folds exactly these
// into the commitments, and a node lists exactly these (recon), so a
// list built from a node's block results reproduces the commitment.
func FromEvents(height int64, txIndex uint32, txID, sender string, events []abci.Event) ([]Movement, error) {
	var out []Movement
	for i, ev := range events {
		if !movementTypes[ev.Type] {
			continue
		}
		msg, _, err := wire.ParseEvent(ev)
		if err != nil {
			return nil, fmt.Errorf("height %d tx %d event %d: %w", height, txIndex, i, err)
		}
		at := Movement{Height: height, TxIndex: txIndex, TxID: txID, Event: uint32(i)}
		add := func(kind, dir, ledger, asset, account, cp string, amount, after, redemption uint64, memo string) {
			m := at
			m.Kind, m.Direction, m.Ledger, m.Asset, m.Account, m.Counterparty = kind, dir, ledger, asset, account, cp
			m.Amount, m.BalanceAfter, m.Redemption, m.Memo = amount, after, redemption, memo
			out = append(out, m)
		}
		switch e := msg.(type) {
		case *txpb.EventTransfer:
			add(KindTransfer, Debit, e.Ledger, e.Asset, e.From, e.To, e.Amount, e.FromBalance, 0, e.Memo)
			add(KindTransfer, Credit, e.Ledger, e.Asset, e.To, e.From, e.Amount, e.ToBalance, 0, e.Memo)
		case *txpb.EventIssue:
			add(KindIssue, Credit, e.Ledger, e.Asset, e.To, e.From, e.Amount, e.ToBalance, 0, e.Memo)
		case *txpb.EventBurn:
			add(KindBurn, Debit, e.Ledger, e.Asset, e.From, "", e.Amount, e.FromBalance, 0, e.Memo)
		case *txpb.EventRedeem:
			add(KindRedeem, Debit, e.Ledger, e.Asset, e.From, "", e.Amount, e.FromBalance, e.Id, e.Reference)
		case *txpb.EventRedemptionSettled:
			if e.Rejected {
				add(KindRedemptionSettled, Credit, e.Ledger, e.Asset, e.To, sender, e.Amount, e.ToBalance, e.Id, e.Reason)
			}
		}
	}
	return out, nil
}

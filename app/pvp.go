package app

import (
	"encoding/hex"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// pvpEnv is the block a pvp message executes in, with the guard on every
// movement of a leg: holds on the payer (funder or escrow) for the leg's
// ledger and asset at this height, and sanctions on the payer and the
// payee, as for a transfer the payer sent itself.
func (a *App) pvpEnv(height int64) pvp.Env {
	return pvp.Env{Height: height, MaySend: func(kv ledger.KV, ledgerName, asset string, from, to gmcrypto.Address) error {
		if err := permission.CheckHolds(kv, ledgerName, asset, from.String(), height); err != nil {
			return err
		}
		return a.checkSanctions(kv, from.String(), to.String())
	}}
}

// pvpSender checks the sender of a pvp message (which travels on the
// _system channel: the contract checks membership of each leg's ledger):
// not sanctioned, nor are the others named.
func (a *App) pvpSender(kv ledger.KV, tx *wire.Tx, named ...[]byte) error {
	accounts := []string{tx.Sender.String()}
	for _, b := range named {
		if len(b) > 0 {
			accounts = append(accounts, hex.EncodeToString(b))
		}
	}
	return a.checkSanctions(kv, accounts...)
}

func (a *App) pvpPropose(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetPvpPropose()
	if err := a.pvpSender(kv, tx, m.Counterparty, m.ReceiverA, m.ReceiverB); err != nil {
		return nil, err
	}
	if m.LegA != nil && m.LegA.Ledger != "" && m.LegA.Ledger != permission.SystemLedger {
		if err := permission.CheckHolds(kv, m.LegA.Ledger, m.LegA.Asset, tx.Sender.String(), height); err != nil {
			return nil, err
		}
	}
	return a.pvp.Propose(kv, a.pvpEnv(height), tx.Sender, tx.ID, m)
}

func (a *App) pvpFund(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	if err := a.pvpSender(kv, tx); err != nil {
		return nil, err
	}
	return a.pvp.Fund(kv, a.pvpEnv(height), tx.Sender, tx.Msg.GetPvpFund())
}

func (a *App) pvpSettle(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	if err := a.pvpSender(kv, tx); err != nil {
		return nil, err
	}
	return a.pvp.Settle(kv, a.pvpEnv(height), tx.Sender, tx.Msg.GetPvpSettle())
}

func (a *App) pvpRefund(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	if err := a.pvpSender(kv, tx); err != nil {
		return nil, err
	}
	return a.pvp.Refund(kv, a.pvpEnv(height), tx.Sender, tx.Msg.GetPvpRefund())
}

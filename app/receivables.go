package app

import (
	"encoding/hex"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// receivableEnv is the block a receivables message executes in, with the
// guard on every payment (a discount's price, a settlement's payouts):
// holds on the payer for the asset at this height, and sanctions on the
// payer and the payee, as for a transfer the payer sent itself.
func (a *App) receivableEnv(tx *wire.Tx, at time.Time, height int64) receivables.Env {
	return receivables.Env{Height: height, Time: at, MaySend: func(kv ledger.KV, asset string, from, to gmcrypto.Address) error {
		if err := permission.CheckHolds(kv, tx.Ledger, asset, from.String(), height); err != nil {
			return err
		}
		return a.checkSanctions(kv, from.String(), to.String())
	}}
}

// receivableSender checks the sender of any receivables message: a member
// of the ledger, not held (for asset, or "" for holds on the whole
// account), not sanctioned, nor are the others named (payer, recipient,
// pledgee, bank).
func (a *App) receivableSender(kv ledger.KV, tx *wire.Tx, asset string, height int64, named ...[]byte) error {
	if err := a.mayTransact(kv, tx, asset, height); err != nil {
		return err
	}
	accounts := []string{tx.Sender.String()}
	for _, b := range named {
		if len(b) > 0 {
			accounts = append(accounts, hex.EncodeToString(b))
		}
	}
	return a.checkSanctions(kv, accounts...)
}

func (a *App) receivableRegister(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetReceivableRegister()
	if err := a.receivableSender(kv, tx, m.Asset, height, m.Payer); err != nil {
		return nil, err
	}
	return a.recv.Register(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.ID, m)
}

func (a *App) receivableConfirm(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.Confirm(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableConfirm())
}

func (a *App) receivableSplit(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.Split(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableSplit())
}

func (a *App) receivableTransfer(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetReceivableTransfer()
	if err := a.receivableSender(kv, tx, "", height, m.To); err != nil {
		return nil, err
	}
	return a.recv.Transfer(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) receivablePledge(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetReceivablePledge()
	if err := a.receivableSender(kv, tx, "", height, m.Pledgee); err != nil {
		return nil, err
	}
	return a.recv.Pledge(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) receivableUnpledge(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.Unpledge(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableUnpledge())
}

func (a *App) receivableDiscountOffer(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetReceivableDiscountOffer()
	if err := a.receivableSender(kv, tx, "", height, m.Bank); err != nil {
		return nil, err
	}
	return a.recv.DiscountOffer(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) receivableDiscountAccept(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.DiscountAccept(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableDiscountAccept())
}

func (a *App) receivableSettle(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.Settle(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableSettle())
}

func (a *App) receivableMarkOverdue(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	if err := a.receivableSender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.recv.MarkOverdue(kv, a.receivableEnv(tx, at, height), tx.Ledger, tx.Sender, tx.Msg.GetReceivableMarkOverdue())
}

package app

import (
	"encoding/hex"
	"errors"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// authorizer is the permission registry as the contracts see it
// (payments.Authorizer, custody.Registry), with one addition: a custody
// account is a payee of its sub-ledger, and so is a PvP escrow while the
// pvp contract funds it (and only then: nobody else can pay into it). It is no identity (nobody holds
// its key, so it must not be able to sign, hold roles or be registered to
// an organisation whose removal would take it along), but money paid to it
// is not stranded: its signers move it. The registry is asked first, so an
// ordinary payment costs no custody lookup.
type authorizer struct{ permission.Keeper }

// A custody account has no organisation of its own: its org is "" (its
// signers' banks are in the account).
func (authorizer) RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error) {
	org, err := permission.RequirePayee(kv, addr, ledgerName)
	if errors.Is(err, permission.ErrUnknownPayee) {
		if ok, cerr := custody.IsAccount(kv, ledgerName, addr); cerr != nil || ok {
			return "", cerr
		}
		if ok, cerr := pvp.IsEscrow(kv, ledgerName, addr); cerr != nil || ok {
			return "", cerr
		}
	}
	return org, err
}

// custodyEnv is the block a custody message executes in, with the guard
// on every payment out of a custody account: holds on the account (and
// asset, and ledger) at this height, and sanctions on the account and the
// recipient, as for a transfer the account sent itself.
func (a *App) custodyEnv(tx *wire.Tx, at time.Time, height int64) custody.Env {
	return custody.Env{Height: height, Time: at, MaySend: func(kv ledger.KV, asset string, from, to gmcrypto.Address) error {
		if err := permission.CheckHolds(kv, tx.Ledger, asset, from.String(), height); err != nil {
			return err
		}
		return a.checkSanctions(kv, from.String(), to.String())
	}}
}

// custodySender checks the sender of any custody message: a member of the
// ledger, not held (for asset, or "" for holds on the whole account), not
// sanctioned, nor are the others named (signers, the account, a recipient).
func (a *App) custodySender(kv ledger.KV, tx *wire.Tx, asset string, height int64, named ...[]byte) error {
	if err := a.mayTransact(kv, tx, asset, height); err != nil {
		return err
	}
	accounts := []string{tx.Sender.String()}
	for _, b := range named {
		accounts = append(accounts, hex.EncodeToString(b))
	}
	return a.checkSanctions(kv, accounts...)
}

func (a *App) custodyCreate(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodyCreate()
	if err := a.custodySender(kv, tx, "", height, m.Signers...); err != nil {
		return nil, err
	}
	return a.custody.Create(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, tx.ID, m)
}

func (a *App) custodyPropose(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodyPropose()
	if err := a.custodySender(kv, tx, m.Asset, height, m.Account, m.To); err != nil {
		return nil, err
	}
	// A held account proposes nothing, as a held account transfers nothing;
	// proposals made before the hold execute only once it is lifted.
	if err := permission.CheckHolds(kv, tx.Ledger, m.Asset, hex.EncodeToString(m.Account), height); err != nil {
		return nil, err
	}
	return a.custody.Propose(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) custodySetSigners(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodySetSigners()
	if err := a.custodySender(kv, tx, "", height, append([][]byte{m.Account}, m.Signers...)...); err != nil {
		return nil, err
	}
	return a.custody.SetSigners(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) custodyApprove(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodyApprove()
	if err := a.custodySender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.custody.Approve(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) custodyVeto(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodyVeto()
	if err := a.custodySender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.custody.Veto(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

func (a *App) custodyExecute(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetCustodyExecute()
	if err := a.custodySender(kv, tx, "", height); err != nil {
		return nil, err
	}
	return a.custody.Execute(kv, a.custodyEnv(tx, at, height), tx.Ledger, tx.Sender, m)
}

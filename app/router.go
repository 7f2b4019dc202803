package app

import (
	"encoding/hex"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// handler authorizes one message for its sender by the message's registry
// policy (wire.MessageSpec.Policy) and executes it.
type handler func(a *App, kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error)

// handlers is the app's half of the message registry: one handler per
// wire.Messages entry, by name. init refuses a registry entry without a
// handler and a handler without an entry.
var handlers = map[string]handler{
	"issue":    (*App).issue,
	"transfer": (*App).transfer,
	"burn":     (*App).burn,
	"redeem":   (*App).redeem,
	"settle_redemption": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
		m := tx.Msg.GetSettleRedemption()
		if err := permission.CheckHolds(kv, tx.Ledger, m.Asset, tx.Sender.String(), height); err != nil {
			return nil, err
		}
		return a.payments.SettleRedemption(kv, tx.Ledger, tx.Sender, m.Asset, m.Id, m.Reject, m.Reason)
	},
	"revoke_certificate": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, _ int64) ([]abci.Event, error) {
		return a.revoke(kv, tx, tx.Msg.GetRevokeCertificate())
	},
	"register_identity": func(a *App, kv ledger.KV, tx *wire.Tx, at time.Time, _ int64) ([]abci.Event, error) {
		return a.registerIdentity(kv, tx, tx.Msg.GetRegisterIdentity(), at)
	},
	"set_sanction": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
		return a.setSanction(kv, tx, tx.Msg.GetSetSanction(), height)
	},
	"register_escrow_key": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, _ int64) ([]abci.Event, error) {
		return a.registerEscrowKey(kv, tx, tx.Msg.GetRegisterEscrowKey())
	},
	"set_aml_threshold": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, _ int64) ([]abci.Event, error) {
		return a.setAMLThreshold(kv, tx, tx.Msg.GetSetAmlThreshold())
	},
	"register_checkpoint_key": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
		return a.registerCheckpointKey(kv, tx, tx.Msg.GetRegisterCheckpointKey(), height)
	},
	"propose": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
		return a.propose(kv, tx, tx.Msg.GetPropose(), height)
	},
	"vote": func(a *App, kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
		return a.vote(kv, tx, tx.Msg.GetVote(), height)
	},
	"custody_create":      (*App).custodyCreate,
	"custody_propose":     (*App).custodyPropose,
	"custody_approve":     (*App).custodyApprove,
	"custody_veto":        (*App).custodyVeto,
	"custody_execute":     (*App).custodyExecute,
	"custody_set_signers": (*App).custodySetSigners,
	"pvp_propose":         (*App).pvpPropose,
	"pvp_fund":            (*App).pvpFund,
	"pvp_settle":          (*App).pvpSettle,
	"pvp_refund":          (*App).pvpRefund,

	"receivable_register":        (*App).receivableRegister,
	"receivable_confirm":         (*App).receivableConfirm,
	"receivable_split":           (*App).receivableSplit,
	"receivable_transfer":        (*App).receivableTransfer,
	"receivable_pledge":          (*App).receivablePledge,
	"receivable_unpledge":        (*App).receivableUnpledge,
	"receivable_discount_offer":  (*App).receivableDiscountOffer,
	"receivable_discount_accept": (*App).receivableDiscountAccept,
	"receivable_settle":          (*App).receivableSettle,
	"receivable_mark_overdue":    (*App).receivableMarkOverdue,
}

func init() {
	if err := checkHandlers(wire.Messages(), handlers); err != nil {
		panic(err)
	}
}

// checkHandlers requires exactly one handler per registry entry.
func checkHandlers(specs []wire.MessageSpec, hs map[string]handler) error {
	for _, s := range specs {
		if hs[s.Name] == nil {
			return fmt.Errorf("app: message %q of the wire registry has no handler", s.Name)
		}
	}
	if len(hs) != len(specs) {
		return fmt.Errorf("app: %d handlers for %d registry messages: a handler names no registry entry", len(hs), len(specs))
	}
	return nil
}

// route checks the message's channel and hands it to its handler.
func (a *App) route(kv ledger.KV, tx *wire.Tx, at time.Time, height int64) ([]abci.Event, error) {
	spec := tx.Spec // looked up once, by wire.DecodeTx
	if spec == nil {
		return nil, wire.ErrUnknownMessage.Wrapf("tx %s: message type %T", tx.ID, tx.Msg.Body)
	}
	if spec.System != (tx.Ledger == permission.SystemLedger) {
		if spec.System {
			return nil, wire.ErrUnknownMessage.Wrapf("tx %s: %s goes on the %s channel, not %q", tx.ID, spec.Name, permission.SystemLedger, tx.Ledger)
		}
		return nil, ErrUnknownLedger.Wrapf("%q: %s messages go on a sub-ledger", tx.Ledger, spec.Name)
	}
	return handlers[spec.Name](a, kv, tx, at, height)
}

func (a *App) issue(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetIssue()
	if err := permission.CheckHolds(kv, tx.Ledger, m.Asset, tx.Sender.String(), height); err != nil {
		return nil, err
	}
	if err := a.checkSanctions(kv, tx.Sender.String(), hex.EncodeToString(m.To)); err != nil {
		return nil, err
	}
	return a.payments.Issue(kv, tx.Ledger, tx.Sender, m.Asset, m.To, m.Amount, m.Memo)
}

func (a *App) transfer(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetTransfer()
	if err := a.mayTransact(kv, tx, m.Asset, height); err != nil {
		return nil, err
	}
	if err := a.checkSanctions(kv, tx.Sender.String(), hex.EncodeToString(m.To)); err != nil {
		return nil, err
	}
	if to, err := gmcrypto.AddressFromBytes(m.To); err == nil {
		if err := checkConfidential(kv, m.Confidential, tx.Sender, to); err != nil {
			return nil, err
		}
	}
	return a.payments.Transfer(kv, tx.Ledger, tx.Sender, m.Asset, m.To, m.Amount, m.Memo)
}

func (a *App) burn(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetBurn()
	if err := a.mayTransact(kv, tx, m.Asset, height); err != nil {
		return nil, err
	}
	if err := a.checkSanctions(kv, tx.Sender.String()); err != nil {
		return nil, err
	}
	return a.payments.Burn(kv, tx.Ledger, tx.Sender, m.Asset, m.Amount, m.Memo)
}

func (a *App) redeem(kv ledger.KV, tx *wire.Tx, _ time.Time, height int64) ([]abci.Event, error) {
	m := tx.Msg.GetRedeem()
	if err := a.mayTransact(kv, tx, m.Asset, height); err != nil {
		return nil, err
	}
	if err := a.checkSanctions(kv, tx.Sender.String()); err != nil {
		return nil, err
	}
	return a.payments.Redeem(kv, tx.Ledger, tx.Sender, m.Asset, m.Amount, m.Reference, height)
}

package pvp

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const codespace = "pvp"

// SystemLedger is where trades are kept (permission.SystemLedger).
const SystemLedger = "_system"

// Registered errors (docs/pvp.md lists them with what causes each).
var (
	ErrInvalidTrade  = errs.Register(codespace, 2, "invalid trade")
	ErrSameSide      = errs.Register(codespace, 3, "both legs on the same side")
	ErrInvalidAmount = errs.Register(codespace, 4, "invalid amount")
	ErrInvalidExpiry = errs.Register(codespace, 5, "invalid expiry")
	ErrUnknownTrade  = errs.Register(codespace, 6, "unknown trade")
	ErrWrongParty    = errs.Register(codespace, 7, "not the party of this leg")
	ErrAlreadyFunded = errs.Register(codespace, 8, "leg already funded")
	ErrClosed        = errs.Register(codespace, 9, "trade already closed")
	ErrExpired       = errs.Register(codespace, 10, "trade expired")
	ErrNotReady      = errs.Register(codespace, 11, "trade not ready to settle")
	ErrNotExpired    = errs.Register(codespace, 12, "trade not expired")
	ErrUnknownLedger = errs.Register(codespace, 13, "unknown ledger")
)

// Bounds.
const (
	MaxExpiryBlocks = 10_000_000
	MaxMemoLen      = 256
	// MaxAmount bounds a leg: amounts above it are refused as overflowing
	// (they could not be held by a signed 64-bit total).
	MaxAmount = math.MaxInt64
)

// Statuses of a trade.
const (
	StatusOpen     = "open"
	StatusSettled  = "settled"
	StatusRefunded = "refunded"
)

// Leg names.
const (
	LegA = "A"
	LegB = "B"
)

// Leg is one leg of a trade.
type Leg struct {
	Ledger string `json:"ledger"`
	Asset  string `json:"asset"`
	Amount uint64 `json:"amount,string"`
	Escrow string `json:"escrow"`
	Funded bool   `json:"funded"`
}

// Trade is a payment-versus-payment trade.
type Trade struct {
	ID           string `json:"id"`
	Proposer     string `json:"proposer"`     // pays leg A
	Counterparty string `json:"counterparty"` // pays leg B
	A            Leg    `json:"leg_a"`
	B            Leg    `json:"leg_b"`
	// Rate is B's amount per unit of A's (units as held, 10 decimals).
	Rate         string `json:"rate"`
	ReceiverA    string `json:"receiver_a"` // receives leg B on B's ledger
	ReceiverB    string `json:"receiver_b"` // receives leg A on A's ledger
	ValueHeight  int64  `json:"value_height,omitempty"`
	ExpiryHeight int64  `json:"expiry_height"`
	Memo         string `json:"memo,omitempty"`
	Height       int64  `json:"height"`
	Status       string `json:"status"`
	ClosedHeight int64  `json:"closed_height,omitempty"`
	ClosedBy     string `json:"closed_by,omitempty"`
}

// Involves reports whether addr (lowercase hex) is a party or receiver.
func (t Trade) Involves(addr string) bool {
	return addr == t.Proposer || addr == t.Counterparty || addr == t.ReceiverA || addr == t.ReceiverB
}

// OnLedger reports whether a leg of t is on ledgerName.
func (t Trade) OnLedger(ledgerName string) bool {
	return t.A.Ledger == ledgerName || t.B.Ledger == ledgerName
}

// Bank is what pvp needs from the payments contract.
type Bank interface {
	// RequireAsset succeeds when sym is an asset of ledgerName.
	RequireAsset(kv ledger.Reader, ledgerName, sym string) error
	// Balance is addr's balance of sym on ledgerName (the invariants).
	Balance(kv ledger.Reader, ledgerName, sym string, addr gmcrypto.Address) (uint64, error)
	// Move moves amount of sym between accounts, checking the amount,
	// the asset, the recipient (a payee) and the balance.
	Move(kv ledger.KV, ledgerName string, from gmcrypto.Address, sym string, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error)
}

// Registry is what pvp needs from the permission registry.
type Registry interface {
	// RequireMember: addr may transact on ledgerName.
	RequireMember(kv ledger.KV, addr gmcrypto.Address, ledgerName string) error
	// RequirePayee: addr may be paid on ledgerName; it returns addr's
	// organisation.
	RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error)
}

// Env is the block a message executes in, and the app's guard on every
// payment: into an escrow (from the funder) and out of one.
type Env struct {
	Height int64
	// MaySend is asked before every movement, with the leg's ledger and
	// asset; nil allows.
	MaySend func(kv ledger.KV, ledgerName, asset string, from, to gmcrypto.Address) error
}

// Keeper executes pvp messages.
type Keeper struct {
	bank  Bank
	reg   Registry
	quiet bool
}

// NewKeeper returns a keeper moving funds through bank and asking reg.
func NewKeeper(bank Bank, reg Registry) Keeper { return Keeper{bank: bank, reg: reg} }

// Quiet returns a keeper reporting no events of its own (hand it a quiet
// bank too), for mempool checks.
func (k Keeper) Quiet() Keeper { k.quiet = true; return k }

func (k Keeper) event(m protoreflect.ProtoMessage) []abci.Event {
	if k.quiet {
		return nil
	}
	return []abci.Event{wire.Event(m)}
}

func parseID(s string) ([]byte, error) {
	id, ok := wire.ParseTxID(s)
	if !ok {
		return nil, ErrUnknownTrade.Wrapf("trade %q: want %s", s, wire.TxIDForm)
	}
	return id, nil
}

// EscrowAddress is the escrow of trade tradeID's leg on ledgerName.
func EscrowAddress(ledgerName, tradeID string) (gmcrypto.Address, error) {
	var a gmcrypto.Address
	id, err := parseID(tradeID)
	if err != nil {
		return a, err
	}
	h := gmcrypto.SM3([]byte("jinlian/pvp/v1"), []byte{0}, []byte(ledgerName), []byte{0}, id)
	copy(a[:], h[:gmcrypto.AddressSize])
	return a, nil
}

func tradeKey(id []byte) []byte           { return append([]byte("pv/t/"), id...) }
func escrowKey(a gmcrypto.Address) []byte { return append([]byte("pv/e/"), a[:]...) }

// IsEscrow reports whether addr is an escrow being funded on ledgerName:
// the app's authorizer makes it a payee for that movement only.
func IsEscrow(kv ledger.Reader, ledgerName string, addr gmcrypto.Address) (bool, error) {
	b, err := kv.Get(ledgerName, escrowKey(addr))
	return b != nil, err
}

// Rate is b/a with 10 decimals.
func Rate(a, b uint64) string {
	if a == 0 {
		return ""
	}
	return new(big.Rat).SetFrac(new(big.Int).SetUint64(b), new(big.Int).SetUint64(a)).FloatString(10)
}

// GetTrade loads a trade.
func (k Keeper) GetTrade(kv ledger.Reader, id string) (Trade, error) {
	var t Trade
	raw, err := parseID(id)
	if err != nil {
		return t, err
	}
	b, err := kv.Get(SystemLedger, tradeKey(raw))
	if err != nil {
		return t, err
	}
	if b == nil {
		return t, ErrUnknownTrade.Wrapf("no trade %s", id)
	}
	return t, ledger.Decode(b, &t)
}

func (k Keeper) setTrade(kv ledger.KV, t Trade) error {
	raw, err := parseID(t.ID)
	if err != nil {
		return err
	}
	b, err := ledger.Encode(t)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, tradeKey(raw), b)
}

// Trades lists every trade in id order.
func (k Keeper) Trades(kv ledger.Reader) ([]Trade, error) {
	out := []Trade{}
	prefix := []byte("pv/t/")
	end := []byte("pv/t0") // '/'+1
	var derr error
	err := kv.Iterate(SystemLedger, prefix, end, func(_, v []byte) bool {
		var t Trade
		if derr = ledger.Decode(v, &t); derr != nil {
			return false
		}
		out = append(out, t)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

func addrOr(b []byte, def gmcrypto.Address, what string) (gmcrypto.Address, error) {
	if len(b) == 0 {
		return def, nil
	}
	a, err := gmcrypto.AddressFromBytes(b)
	if err != nil {
		return a, ErrInvalidTrade.Wrapf("%s: %v", what, err)
	}
	return a, nil
}

func (k Keeper) checkLeg(kv ledger.KV, name string, l *txpb.PvpLeg) error {
	if l == nil || l.Ledger == "" || l.Ledger == SystemLedger {
		return ErrInvalidTrade.Wrapf("leg %s: want a sub-ledger, an asset and an amount", name)
	}
	if l.Amount == 0 {
		return ErrInvalidAmount.Wrapf("leg %s: amount must be positive", name)
	}
	if l.Amount > MaxAmount {
		return ErrInvalidAmount.Wrapf("leg %s: amount %d overflows (at most %d)", name, l.Amount, uint64(MaxAmount))
	}
	if _, err := kv.Get(l.Ledger, []byte("pv/")); errors.Is(err, ledger.ErrUnknownLedger) {
		return ErrUnknownLedger.Wrapf("leg %s: no sub-ledger %q", name, l.Ledger)
	} else if err != nil {
		return err
	}
	return nil
}

// Propose records a trade proposed by sender with the transaction txID.
// The checks come before any write, so a refusal writes nothing.
func (k Keeper) Propose(kv ledger.KV, env Env, sender gmcrypto.Address, txID string, m *txpb.PvpPropose) ([]abci.Event, error) {
	if err := k.checkLeg(kv, LegA, m.LegA); err != nil {
		return nil, err
	}
	if err := k.checkLeg(kv, LegB, m.LegB); err != nil {
		return nil, err
	}
	if len(m.Memo) > MaxMemoLen {
		return nil, ErrInvalidTrade.Wrapf("memo of %d bytes, at most %d", len(m.Memo), MaxMemoLen)
	}
	cp, err := gmcrypto.AddressFromBytes(m.Counterparty)
	if err != nil {
		return nil, ErrInvalidTrade.Wrapf("counterparty: %v", err)
	}
	if cp == sender {
		return nil, ErrSameSide.Wrapf("%s proposes a trade with itself", sender)
	}
	if m.LegA.Ledger == m.LegB.Ledger && m.LegA.Asset == m.LegB.Asset {
		return nil, ErrSameSide.Wrapf("both legs are %s on ledger %s", m.LegA.Asset, m.LegA.Ledger)
	}
	recvA, err := addrOr(m.ReceiverA, sender, "receiver A")
	if err != nil {
		return nil, err
	}
	recvB, err := addrOr(m.ReceiverB, cp, "receiver B")
	if err != nil {
		return nil, err
	}
	if m.ExpiryHeight <= env.Height || m.ExpiryHeight-env.Height > MaxExpiryBlocks {
		return nil, ErrInvalidExpiry.Wrapf("expiry height %d at height %d: want later, within %d blocks", m.ExpiryHeight, env.Height, MaxExpiryBlocks)
	}
	if m.ValueHeight < 0 || m.ValueHeight >= m.ExpiryHeight {
		return nil, ErrInvalidExpiry.Wrapf("value height %d: want 0 or before the expiry height %d", m.ValueHeight, m.ExpiryHeight)
	}
	if err := k.reg.RequireMember(kv, sender, m.LegA.Ledger); err != nil {
		return nil, fmt.Errorf("proposer pays leg A: %w", err)
	}
	if err := k.reg.RequireMember(kv, cp, m.LegB.Ledger); err != nil {
		return nil, fmt.Errorf("counterparty pays leg B: %w", err)
	}
	if err := k.bank.RequireAsset(kv, m.LegA.Ledger, m.LegA.Asset); err != nil {
		return nil, fmt.Errorf("leg A: %w", err)
	}
	if err := k.bank.RequireAsset(kv, m.LegB.Ledger, m.LegB.Asset); err != nil {
		return nil, fmt.Errorf("leg B: %w", err)
	}
	orgA, err := k.reg.RequirePayee(kv, recvA, m.LegB.Ledger)
	if err != nil {
		return nil, fmt.Errorf("receiver A of leg B: %w", err)
	}
	orgB, err := k.reg.RequirePayee(kv, recvB, m.LegA.Ledger)
	if err != nil {
		return nil, fmt.Errorf("receiver B of leg A: %w", err)
	}
	if orgA != "" && orgA == orgB {
		return nil, ErrSameSide.Wrapf("both receivers belong to %s", orgA)
	}
	escA, err := EscrowAddress(m.LegA.Ledger, txID)
	if err != nil {
		return nil, err
	}
	escB, err := EscrowAddress(m.LegB.Ledger, txID)
	if err != nil {
		return nil, err
	}
	if _, err := k.GetTrade(kv, txID); err == nil {
		return nil, ErrInvalidTrade.Wrapf("trade %s exists", txID)
	}
	t := Trade{ID: txID, Proposer: sender.String(), Counterparty: cp.String(),
		A:    Leg{Ledger: m.LegA.Ledger, Asset: m.LegA.Asset, Amount: m.LegA.Amount, Escrow: escA.String()},
		B:    Leg{Ledger: m.LegB.Ledger, Asset: m.LegB.Asset, Amount: m.LegB.Amount, Escrow: escB.String()},
		Rate: Rate(m.LegA.Amount, m.LegB.Amount), ReceiverA: recvA.String(), ReceiverB: recvB.String(),
		ValueHeight: m.ValueHeight, ExpiryHeight: m.ExpiryHeight, Memo: m.Memo, Height: env.Height, Status: StatusOpen}
	if err := k.setTrade(kv, t); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventPvpProposed{Trade: t.ID, LedgerA: t.A.Ledger, AssetA: t.A.Asset, AmountA: t.A.Amount,
		LedgerB: t.B.Ledger, AssetB: t.B.Asset, AmountB: t.B.Amount, Rate: t.Rate, Proposer: t.Proposer,
		Counterparty: t.Counterparty, ReceiverA: t.ReceiverA, ReceiverB: t.ReceiverB, ValueHeight: t.ValueHeight,
		ExpiryHeight: t.ExpiryHeight, Memo: t.Memo}), nil
}

func (k Keeper) openTrade(kv ledger.Reader, id string, height int64) (Trade, error) {
	t, err := k.GetTrade(kv, id)
	if err != nil {
		return t, err
	}
	if t.Status != StatusOpen {
		return t, ErrClosed.Wrapf("trade %s is %s since height %d", id, t.Status, t.ClosedHeight)
	}
	if height >= t.ExpiryHeight {
		return t, ErrExpired.Wrapf("trade %s expired at height %d: refund it (pvp_refund)", id, t.ExpiryHeight)
	}
	return t, nil
}

func mustAddr(s string) gmcrypto.Address {
	a, err := gmcrypto.ParseAddress(s)
	if err != nil {
		panic(fmt.Sprintf("pvp: stored address %q: %v", s, err))
	}
	return a
}

func (k Keeper) move(kv ledger.KV, env Env, l Leg, from, to gmcrypto.Address, memo string) ([]abci.Event, error) {
	if env.MaySend != nil {
		if err := env.MaySend(kv, l.Ledger, l.Asset, from, to); err != nil {
			return nil, err
		}
	}
	return k.bank.Move(kv, l.Ledger, from, l.Asset, to, l.Amount, memo)
}

// Fund pays leg (A by the proposer, B by the counterparty) into its
// escrow; the funding that completes the trade settles it when the value
// height has come.
func (k Keeper) Fund(kv ledger.KV, env Env, sender gmcrypto.Address, m *txpb.PvpFund) ([]abci.Event, error) {
	t, err := k.openTrade(kv, m.Trade, env.Height)
	if err != nil {
		return nil, err
	}
	var l *Leg
	var party string
	switch m.Leg {
	case LegA:
		l, party = &t.A, t.Proposer
	case LegB:
		l, party = &t.B, t.Counterparty
	default:
		return nil, ErrInvalidTrade.Wrapf("leg %q: want A or B", m.Leg)
	}
	if sender.String() != party {
		return nil, ErrWrongParty.Wrapf("leg %s of trade %s is paid by %s, not %s", m.Leg, t.ID, party, sender)
	}
	if l.Funded {
		return nil, ErrAlreadyFunded.Wrapf("leg %s of trade %s is funded", m.Leg, t.ID)
	}
	if err := k.reg.RequireMember(kv, sender, l.Ledger); err != nil {
		return nil, fmt.Errorf("fund leg %s: %w", m.Leg, err)
	}
	esc := mustAddr(l.Escrow)
	// The escrow is a payee for this movement only.
	if err := kv.Set(l.Ledger, escrowKey(esc), []byte(t.ID)); err != nil {
		return nil, err
	}
	events, err := k.move(kv, env, *l, sender, esc, "pvp "+t.ID+" fund "+m.Leg)
	if err != nil {
		return nil, err
	}
	if err := kv.Delete(l.Ledger, escrowKey(esc)); err != nil {
		return nil, err
	}
	l.Funded = true
	if err := k.setTrade(kv, t); err != nil {
		return nil, err
	}
	events = append(events, k.event(&txpb.EventPvpFunded{Trade: t.ID, LedgerA: t.A.Ledger, AssetA: t.A.Asset, AmountA: t.A.Amount,
		LedgerB: t.B.Ledger, AssetB: t.B.Asset, AmountB: t.B.Amount, Rate: t.Rate, Leg: m.Leg, Funder: sender.String(), Escrow: l.Escrow})...)
	if t.A.Funded && t.B.Funded && env.Height >= t.ValueHeight {
		ev, err := k.settle(kv, env, t, sender)
		if err != nil {
			return nil, err
		}
		events = append(events, ev...)
	}
	return events, nil
}

// Settle settles a fully funded trade from its value height on.
func (k Keeper) Settle(kv ledger.KV, env Env, sender gmcrypto.Address, m *txpb.PvpSettle) ([]abci.Event, error) {
	t, err := k.openTrade(kv, m.Trade, env.Height)
	if err != nil {
		return nil, err
	}
	if !t.A.Funded || !t.B.Funded {
		return nil, ErrNotReady.Wrapf("trade %s: leg A funded %t, leg B funded %t", t.ID, t.A.Funded, t.B.Funded)
	}
	if env.Height < t.ValueHeight {
		return nil, ErrNotReady.Wrapf("trade %s settles from height %d", t.ID, t.ValueHeight)
	}
	return k.settle(kv, env, t, sender)
}

// settle pays both escrows out: all or nothing (a failing movement fails
// the transaction, whose writes are discarded).
func (k Keeper) settle(kv ledger.KV, env Env, t Trade, by gmcrypto.Address) ([]abci.Event, error) {
	evA, err := k.move(kv, env, t.A, mustAddr(t.A.Escrow), mustAddr(t.ReceiverB), "pvp "+t.ID+" settle A")
	if err != nil {
		return nil, fmt.Errorf("settle leg A: %w", err)
	}
	evB, err := k.move(kv, env, t.B, mustAddr(t.B.Escrow), mustAddr(t.ReceiverA), "pvp "+t.ID+" settle B")
	if err != nil {
		return nil, fmt.Errorf("settle leg B: %w", err)
	}
	t.Status, t.ClosedHeight, t.ClosedBy = StatusSettled, env.Height, by.String()
	if err := k.setTrade(kv, t); err != nil {
		return nil, err
	}
	events := append(evA, evB...)
	return append(events, k.event(&txpb.EventPvpSettled{Trade: t.ID, LedgerA: t.A.Ledger, AssetA: t.A.Asset, AmountA: t.A.Amount,
		LedgerB: t.B.Ledger, AssetB: t.B.Asset, AmountB: t.B.Amount, Rate: t.Rate, Proposer: t.Proposer,
		Counterparty: t.Counterparty, ReceiverA: t.ReceiverA, ReceiverB: t.ReceiverB, By: by.String()})...), nil
}

// Refund closes an open trade and returns its funded legs to their
// funders: a party any time, anyone from the expiry height on.
func (k Keeper) Refund(kv ledger.KV, env Env, sender gmcrypto.Address, m *txpb.PvpRefund) ([]abci.Event, error) {
	t, err := k.GetTrade(kv, m.Trade)
	if err != nil {
		return nil, err
	}
	if t.Status != StatusOpen {
		return nil, ErrClosed.Wrapf("trade %s is %s since height %d", t.ID, t.Status, t.ClosedHeight)
	}
	if len(m.Reason) > MaxMemoLen {
		return nil, ErrInvalidTrade.Wrapf("reason of %d bytes, at most %d", len(m.Reason), MaxMemoLen)
	}
	reason := "expired"
	if env.Height < t.ExpiryHeight {
		if s := sender.String(); s != t.Proposer && s != t.Counterparty {
			return nil, ErrNotExpired.Wrapf("trade %s expires at height %d; before, only its parties may cancel it", t.ID, t.ExpiryHeight)
		}
		reason = "cancelled"
	}
	if m.Reason != "" {
		reason += ": " + m.Reason
	}
	var events []abci.Event
	ev := &txpb.EventPvpRefunded{Trade: t.ID, LedgerA: t.A.Ledger, AssetA: t.A.Asset, AmountA: t.A.Amount,
		LedgerB: t.B.Ledger, AssetB: t.B.Asset, AmountB: t.B.Amount, Rate: t.Rate, By: sender.String(), Reason: reason}
	for _, l := range []struct {
		leg    *Leg
		funder string
		out    *uint64
	}{{&t.A, t.Proposer, &ev.RefundedA}, {&t.B, t.Counterparty, &ev.RefundedB}} {
		if !l.leg.Funded {
			continue
		}
		mv, err := k.move(kv, env, *l.leg, mustAddr(l.leg.Escrow), mustAddr(l.funder), "pvp "+t.ID+" refund")
		if err != nil {
			return nil, fmt.Errorf("refund: %w", err)
		}
		events = append(events, mv...)
		*l.out = l.leg.Amount
	}
	t.Status, t.ClosedHeight, t.ClosedBy = StatusRefunded, env.Height, sender.String()
	if err := k.setTrade(kv, t); err != nil {
		return nil, err
	}
	return append(events, k.event(ev)...), nil
}

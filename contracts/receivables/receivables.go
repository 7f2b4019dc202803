package receivables

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const codespace = "receivables"

// Registered errors (docs/receivables.md lists them with what causes each).
var (
	ErrInvalidReceivable = errs.Register(codespace, 2, "invalid receivable")
	ErrInvalidAmount     = errs.Register(codespace, 3, "invalid amount")
	ErrInvalidDue        = errs.Register(codespace, 4, "invalid due date")
	ErrDuplicateInvoice  = errs.Register(codespace, 5, "invoice already registered")
	ErrUnknownReceivable = errs.Register(codespace, 6, "unknown receivable")
	ErrUnknownPart       = errs.Register(codespace, 7, "unknown part")
	ErrWrongParty        = errs.Register(codespace, 8, "wrong party")
	ErrSameParty         = errs.Register(codespace, 9, "payer and payee are one party")
	ErrNotConfirmed      = errs.Register(codespace, 10, "receivable not confirmed")
	ErrAlreadyConfirmed  = errs.Register(codespace, 11, "receivable already answered")
	ErrClosed            = errs.Register(codespace, 12, "receivable closed")
	ErrBadSplit          = errs.Register(codespace, 13, "split amounts do not sum to the part")
	ErrTooManyParts      = errs.Register(codespace, 14, "too many parts")
	ErrPartPaid          = errs.Register(codespace, 15, "part partly paid")
	ErrPledged           = errs.Register(codespace, 16, "part is pledged")
	ErrNotPledged        = errs.Register(codespace, 17, "part is not pledged")
	ErrNoOffer           = errs.Register(codespace, 18, "no such discount offer")
	ErrOfferExpired      = errs.Register(codespace, 19, "discount offer expired")
	ErrNotDue            = errs.Register(codespace, 20, "receivable not due")
	ErrAlreadySettled    = errs.Register(codespace, 21, "receivable already settled")
	ErrOverpayment       = errs.Register(codespace, 22, "payment exceeds what is outstanding")
	ErrAlreadyOverdue    = errs.Register(codespace, 23, "receivable already overdue")
	ErrInsufficientFunds = errs.Register(codespace, 24, "payer cannot pay")
)

// Bounds.
const (
	// MaxParts bounds a receivable's live parts (a settlement pays each).
	MaxParts = 64
	// MaxAmount bounds a face value: amounts above it are refused as
	// overflowing (they could not be held by a signed 64-bit total).
	MaxAmount       = math.MaxInt64
	MaxDueBlocks    = 100_000_000
	MaxDueSeconds   = 20 * 366 * 24 * 3600
	MaxOfferBlocks  = 10_000_000
	MaxMemoLen      = 256
	InvoiceHashSize = gmcrypto.HashSize
)

// Statuses of a receivable.
const (
	StatusRequested = "requested" // awaiting the payer's confirmation
	StatusActive    = "active"    // confirmed, not past due or not yet seen past due
	StatusOverdue   = "overdue"   // seen past due with an amount outstanding
	StatusSettled   = "settled"   // paid in full
	StatusRejected  = "rejected"  // the payer rejected the request
)

// Offer is a holder's discount offer of a part to a bank.
type Offer struct {
	Bank         string `json:"bank"`
	Price        uint64 `json:"price,string"`
	ExpiryHeight int64  `json:"expiry_height"`
}

// Part is one part of a receivable.
type Part struct {
	ID     uint32 `json:"id"`
	Parent uint32 `json:"parent,omitempty"` // the part it was split from; 0 for part 1
	Holder string `json:"holder"`
	Amount uint64 `json:"amount,string"`
	// Paid is what settlements paid this part's holders so far.
	Paid    uint64 `json:"paid,string"`
	Pledgee string `json:"pledgee,omitempty"`
	Offer   *Offer `json:"offer,omitempty"`
}

// Outstanding is what the part is still owed.
func (p Part) Outstanding() uint64 { return p.Amount - p.Paid }

// Receivable is a receivable with its parts.
type Receivable struct {
	ID          string `json:"id"`
	Ledger      string `json:"ledger"`
	Payee       string `json:"payee"`
	Payer       string `json:"payer"`
	Asset       string `json:"asset"`
	FaceValue   uint64 `json:"face_value,string"`
	DueHeight   int64  `json:"due_height,omitempty"`
	DueTime     int64  `json:"due_time,omitempty"` // Unix seconds of block time
	InvoiceHash string `json:"invoice_hash"`
	Memo        string `json:"memo,omitempty"`
	Status      string `json:"status"`
	Height      int64  `json:"height"` // requested at
	// AnsweredHeight is when the payer confirmed or rejected it.
	AnsweredHeight int64  `json:"answered_height,omitempty"`
	Reason         string `json:"reason,omitempty"` // the payer's reason for rejecting it
	// Paid is what settlements paid in all.
	Paid          uint64 `json:"paid,string"`
	OverdueHeight int64  `json:"overdue_height,omitempty"`
	SettledHeight int64  `json:"settled_height,omitempty"`
	// Parts are the live parts, by id; empty until confirmed.
	Parts []Part `json:"parts"`
	// NextPart is the id the next part gets.
	NextPart uint32 `json:"next_part"`
}

// Outstanding is what the payer still owes.
func (r Receivable) Outstanding() uint64 { return r.FaceValue - r.Paid }

// HeldBy reports whether addr (lowercase hex) holds a part.
func (r Receivable) HeldBy(addr string) bool {
	return slices.ContainsFunc(r.Parts, func(p Part) bool { return p.Holder == addr })
}

// Involves reports whether addr is its payee, payer, a holder, a pledgee
// or a bank a part is offered to.
func (r Receivable) Involves(addr string) bool {
	if addr == r.Payee || addr == r.Payer {
		return true
	}
	return slices.ContainsFunc(r.Parts, func(p Part) bool {
		return p.Holder == addr || p.Pledgee == addr || (p.Offer != nil && p.Offer.Bank == addr)
	})
}

// Due reports whether the receivable is payable at height and block time at.
func (r Receivable) Due(height int64, at time.Time) bool {
	if r.DueHeight > 0 {
		return height >= r.DueHeight
	}
	return at.Unix() >= r.DueTime
}

// PastDue reports whether the due height or time has passed (strictly).
func (r Receivable) PastDue(height int64, at time.Time) bool {
	if r.DueHeight > 0 {
		return height > r.DueHeight
	}
	return at.Unix() > r.DueTime
}

func (r *Receivable) part(id uint32) (*Part, error) {
	i, ok := slices.BinarySearchFunc(r.Parts, id, func(p Part, id uint32) int {
		return int(int64(p.ID) - int64(id))
	})
	if !ok {
		return nil, ErrUnknownPart.Wrapf("receivable %s has no part %d", r.ID, id)
	}
	return &r.Parts[i], nil
}

// Bank is what receivables needs from the payments contract.
type Bank interface {
	// RequireAsset succeeds when sym is an asset of ledgerName.
	RequireAsset(kv ledger.Reader, ledgerName, sym string) error
	// Balance is addr's balance of sym on ledgerName.
	Balance(kv ledger.Reader, ledgerName, sym string, addr gmcrypto.Address) (uint64, error)
	// Move moves amount of sym between accounts, checking the amount,
	// the asset, the recipient (a payee) and the balance.
	Move(kv ledger.KV, ledgerName string, from gmcrypto.Address, sym string, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error)
}

// Registry is what receivables needs from the permission registry.
type Registry interface {
	// RequireMember: addr may transact on ledgerName.
	RequireMember(kv ledger.KV, addr gmcrypto.Address, ledgerName string) error
	// RequirePayee: addr may be paid on ledgerName; it returns addr's
	// organisation.
	RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error)
}

// Env is the block a message executes in, and the app's guard on every
// payment (a discount's price, a settlement's payouts).
type Env struct {
	Height int64
	// Time is the block time: a due time is compared with it.
	Time time.Time
	// MaySend is asked before every payment; nil allows.
	MaySend func(kv ledger.KV, asset string, from, to gmcrypto.Address) error
}

// Keeper executes receivables messages on the sub-ledger stores it is handed.
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
		return nil, ErrUnknownReceivable.Wrapf("receivable %q: want %s", s, wire.TxIDForm)
	}
	return id, nil
}

func receivableKey(id []byte) []byte { return append([]byte("rc/r/"), id...) }
func invoiceKey(h []byte) []byte     { return append([]byte("rc/i/"), h...) }

// GetReceivable loads a receivable of ledgerName.
func (k Keeper) GetReceivable(kv ledger.Reader, ledgerName, id string) (Receivable, error) {
	var r Receivable
	raw, err := parseID(id)
	if err != nil {
		return r, err
	}
	b, err := kv.Get(ledgerName, receivableKey(raw))
	if err != nil {
		return r, err
	}
	if b == nil {
		return r, ErrUnknownReceivable.Wrapf("no receivable %s on ledger %s", id, ledgerName)
	}
	return r, ledger.Decode(b, &r)
}

func (k Keeper) setReceivable(kv ledger.KV, r Receivable) error {
	raw, err := parseID(r.ID)
	if err != nil {
		return err
	}
	b, err := ledger.Encode(r)
	if err != nil {
		return err
	}
	return kv.Set(r.Ledger, receivableKey(raw), b)
}

// InvoiceOwner is the id of the receivable that holds invoice hash h on
// ledgerName ("" when none does).
func (k Keeper) InvoiceOwner(kv ledger.Reader, ledgerName string, h []byte) (string, error) {
	b, err := kv.Get(ledgerName, invoiceKey(h))
	if err != nil || b == nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Receivables lists every receivable of ledgerName in id order.
func (k Keeper) Receivables(kv ledger.Reader, ledgerName string) ([]Receivable, error) {
	out := []Receivable{}
	var derr error
	err := kv.Iterate(ledgerName, []byte("rc/r/"), []byte("rc/r0"), func(_, v []byte) bool {
		var r Receivable
		if derr = ledger.Decode(v, &r); derr != nil {
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

func parseAddr(b []byte, what string) (gmcrypto.Address, error) {
	a, err := gmcrypto.AddressFromBytes(b)
	if err != nil {
		return a, ErrInvalidReceivable.Wrapf("%s: %v", what, err)
	}
	return a, nil
}

func mustAddr(s string) gmcrypto.Address {
	a, err := gmcrypto.ParseAddress(s)
	if err != nil {
		panic(fmt.Sprintf("receivables: stored address %q: %v", s, err))
	}
	return a
}

func checkMemo(what, s string) error {
	if len(s) > MaxMemoLen {
		return ErrInvalidReceivable.Wrapf("%s of %d bytes, at most %d", what, len(s), MaxMemoLen)
	}
	return nil
}

// Register records the payee sender's request for a receivable against
// the payer, with the transaction txID. The checks come before any write,
// so a refusal writes nothing.
func (k Keeper) Register(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, txID string, m *txpb.ReceivableRegister) ([]abci.Event, error) {
	payer, err := parseAddr(m.Payer, "payer")
	if err != nil {
		return nil, err
	}
	if payer == sender {
		return nil, ErrSameParty.Wrapf("%s requests a receivable against itself", sender)
	}
	if m.FaceValue == 0 {
		return nil, ErrInvalidAmount.Wrapf("face value must be positive")
	}
	if m.FaceValue > MaxAmount {
		return nil, ErrInvalidAmount.Wrapf("face value %d overflows (at most %d)", m.FaceValue, uint64(MaxAmount))
	}
	if len(m.InvoiceHash) != InvoiceHashSize {
		return nil, ErrInvalidReceivable.Wrapf("invoice hash of %d bytes: want the %d-byte SM3 hash of the invoice", len(m.InvoiceHash), InvoiceHashSize)
	}
	if err := checkMemo("memo", m.Memo); err != nil {
		return nil, err
	}
	switch {
	case (m.DueHeight == 0) == (m.DueTime == 0):
		return nil, ErrInvalidDue.Wrapf("give exactly one of a due height and a due time")
	case m.DueHeight != 0 && (m.DueHeight <= env.Height || m.DueHeight-env.Height > MaxDueBlocks):
		return nil, ErrInvalidDue.Wrapf("due height %d at height %d: want later, within %d blocks", m.DueHeight, env.Height, MaxDueBlocks)
	case m.DueTime != 0 && (m.DueTime <= env.Time.Unix() || m.DueTime-env.Time.Unix() > MaxDueSeconds):
		return nil, ErrInvalidDue.Wrapf("due time %s at block time %s: want later, within 20 years",
			time.Unix(m.DueTime, 0).UTC().Format(time.RFC3339), env.Time.UTC().Format(time.RFC3339))
	}
	if err := k.bank.RequireAsset(kv, ledgerName, m.Asset); err != nil {
		return nil, err
	}
	payeeOrg, err := k.reg.RequirePayee(kv, sender, ledgerName)
	if err != nil {
		return nil, fmt.Errorf("payee: %w", err)
	}
	if err := k.reg.RequireMember(kv, payer, ledgerName); err != nil {
		return nil, fmt.Errorf("payer: %w", err)
	}
	payerOrg, err := k.reg.RequirePayee(kv, payer, ledgerName)
	if err != nil {
		return nil, fmt.Errorf("payer: %w", err)
	}
	if payerOrg == payeeOrg {
		return nil, ErrSameParty.Wrapf("payer and payee both belong to %s", payeeOrg)
	}
	if owner, err := k.InvoiceOwner(kv, ledgerName, m.InvoiceHash); err != nil {
		return nil, err
	} else if owner != "" {
		return nil, ErrDuplicateInvoice.Wrapf("invoice %x is registered by receivable %s", m.InvoiceHash, owner)
	}
	raw, err := parseID(txID)
	if err != nil {
		return nil, err
	}
	if _, err := k.GetReceivable(kv, ledgerName, txID); err == nil {
		return nil, ErrInvalidReceivable.Wrapf("receivable %s exists", txID)
	}
	r := Receivable{ID: txID, Ledger: ledgerName, Payee: sender.String(), Payer: payer.String(), Asset: m.Asset, FaceValue: m.FaceValue,
		DueHeight: m.DueHeight, DueTime: m.DueTime, InvoiceHash: hex.EncodeToString(m.InvoiceHash), Memo: m.Memo,
		Status: StatusRequested, Height: env.Height, Parts: []Part{}, NextPart: 1}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	if err := kv.Set(ledgerName, invoiceKey(m.InvoiceHash), raw); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventReceivableRequested{Ledger: ledgerName, Receivable: r.ID, Payee: r.Payee, Payer: r.Payer, Asset: r.Asset,
		FaceValue: r.FaceValue, DueHeight: r.DueHeight, DueTime: r.DueTime, InvoiceHash: r.InvoiceHash, Memo: r.Memo}), nil
}

// Confirm is the payer's answer to a request: the receivable becomes part
// 1 of its face value, held by the payee; or, rejected, it closes and
// frees its invoice hash.
func (k Keeper) Confirm(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableConfirm) ([]abci.Event, error) {
	r, err := k.GetReceivable(kv, ledgerName, m.Receivable)
	if err != nil {
		return nil, err
	}
	if sender.String() != r.Payer {
		return nil, ErrWrongParty.Wrapf("receivable %s is confirmed by its payer %s, not %s", r.ID, r.Payer, sender)
	}
	if r.Status != StatusRequested {
		return nil, ErrAlreadyConfirmed.Wrapf("receivable %s is %s", r.ID, r.Status)
	}
	if err := checkMemo("reason", m.Reason); err != nil {
		return nil, err
	}
	r.AnsweredHeight = env.Height
	if m.Reject {
		r.Status, r.Reason = StatusRejected, m.Reason
		h, err := hex.DecodeString(r.InvoiceHash)
		if err != nil {
			return nil, fmt.Errorf("receivable %s: stored invoice hash: %w", r.ID, err)
		}
		if err := kv.Delete(ledgerName, invoiceKey(h)); err != nil {
			return nil, err
		}
	} else {
		if err := k.reg.RequireMember(kv, mustAddr(r.Payee), ledgerName); err != nil {
			return nil, fmt.Errorf("payee: %w", err)
		}
		r.Status = StatusActive
		r.Parts = []Part{{ID: 1, Holder: r.Payee, Amount: r.FaceValue}}
		r.NextPart = 2
	}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventReceivableConfirmed{Ledger: ledgerName, Receivable: r.ID, Payer: r.Payer, Payee: r.Payee, Asset: r.Asset,
		FaceValue: r.FaceValue, Rejected: m.Reject, Reason: m.Reason}), nil
}

// live loads a confirmed receivable that is neither settled nor rejected.
func (k Keeper) live(kv ledger.Reader, ledgerName, id string) (Receivable, error) {
	r, err := k.GetReceivable(kv, ledgerName, id)
	if err != nil {
		return r, err
	}
	switch r.Status {
	case StatusRequested:
		return r, ErrNotConfirmed.Wrapf("receivable %s awaits its payer's confirmation", r.ID)
	case StatusSettled:
		return r, ErrClosed.Wrapf("receivable %s was settled at height %d", r.ID, r.SettledHeight)
	case StatusRejected:
		return r, ErrClosed.Wrapf("receivable %s was rejected at height %d", r.ID, r.AnsweredHeight)
	}
	return r, nil
}

// heldPart loads a live receivable and a part sender holds and may move
// (not pledged).
func (k Keeper) heldPart(kv ledger.Reader, ledgerName, id string, partID uint32, sender gmcrypto.Address, what string) (Receivable, *Part, error) {
	r, err := k.live(kv, ledgerName, id)
	if err != nil {
		return r, nil, err
	}
	p, err := r.part(partID)
	if err != nil {
		return r, nil, err
	}
	if p.Holder != sender.String() {
		return r, nil, ErrWrongParty.Wrapf("part %d of receivable %s is held by %s: %s may not %s it", p.ID, r.ID, p.Holder, sender, what)
	}
	if p.Pledgee != "" {
		return r, nil, ErrPledged.Wrapf("part %d of receivable %s is pledged to %s: it cannot %s until released", p.ID, r.ID, p.Pledgee, what)
	}
	return r, p, nil
}

// Split splits a part the sender holds into parts of m.Amounts, which sum
// to its amount; the sender holds them all.
func (k Keeper) Split(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableSplit) ([]abci.Event, error) {
	r, p, err := k.heldPart(kv, ledgerName, m.Receivable, m.Part, sender, "split")
	if err != nil {
		return nil, err
	}
	if p.Paid != 0 {
		return nil, ErrPartPaid.Wrapf("part %d of receivable %s was paid %d already: only an unpaid part splits", p.ID, r.ID, p.Paid)
	}
	if len(m.Amounts) < 2 {
		return nil, ErrBadSplit.Wrapf("split part %d into %d parts: want at least 2", p.ID, len(m.Amounts))
	}
	if n := len(r.Parts) - 1 + len(m.Amounts); n > MaxParts {
		return nil, ErrTooManyParts.Wrapf("receivable %s would have %d parts, at most %d", r.ID, n, MaxParts)
	}
	var sum uint64
	for i, a := range m.Amounts {
		if a == 0 {
			return nil, ErrBadSplit.Wrapf("amount %d of the split is zero", i+1)
		}
		if a > p.Amount || sum > p.Amount-a {
			return nil, ErrBadSplit.Wrapf("the split's amounts exceed part %d's %d", p.ID, p.Amount)
		}
		sum += a
	}
	if sum != p.Amount {
		return nil, ErrBadSplit.Wrapf("the split's amounts sum to %d, part %d is %d", sum, p.ID, p.Amount)
	}
	parent := *p
	r.Parts = slices.DeleteFunc(r.Parts, func(q Part) bool { return q.ID == parent.ID })
	var desc []string
	for _, a := range m.Amounts {
		r.Parts = append(r.Parts, Part{ID: r.NextPart, Parent: parent.ID, Holder: parent.Holder, Amount: a})
		desc = append(desc, fmt.Sprintf("%d:%d", r.NextPart, a))
		r.NextPart++
	}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventReceivableSplit{Ledger: ledgerName, Receivable: r.ID, Part: parent.ID, Holder: parent.Holder,
		Amount: parent.Amount, Parts: strings.Join(desc, ",")}), nil
}

// handOver checks what Transfer and Pledge share: the counterparty (role)
// is a well-formed address, not the sender, and a member of the ledger;
// the memo fits; the sender holds the part and may act on it (verb).
func (k Keeper) handOver(kv ledger.KV, ledgerName string, sender gmcrypto.Address, counterparty []byte, role, memo, id string, partID uint32, verb string) (Receivable, *Part, gmcrypto.Address, error) {
	to, err := parseAddr(counterparty, role)
	if err != nil {
		return Receivable{}, nil, to, err
	}
	if err := checkMemo("memo", memo); err != nil {
		return Receivable{}, nil, to, err
	}
	r, p, err := k.heldPart(kv, ledgerName, id, partID, sender, verb)
	if err != nil {
		return r, nil, to, err
	}
	if to == sender {
		return r, nil, to, ErrInvalidReceivable.Wrapf("%s: %s names itself as the %s of part %d", verb, sender, role, p.ID)
	}
	if err := k.reg.RequireMember(kv, to, ledgerName); err != nil {
		return r, nil, to, fmt.Errorf("%s: %w", role, err)
	}
	return r, p, to, nil
}

// Transfer hands a part the sender holds to another member of the ledger.
func (k Keeper) Transfer(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableTransfer) ([]abci.Event, error) {
	r, p, to, err := k.handOver(kv, ledgerName, sender, m.To, "recipient", m.Memo, m.Receivable, m.Part, "transfer")
	if err != nil {
		return nil, err
	}
	p.Holder, p.Offer = to.String(), nil
	ev := &txpb.EventReceivableTransferred{Ledger: ledgerName, Receivable: r.ID, Part: p.ID, From: sender.String(), To: p.Holder,
		Amount: p.Amount, Memo: m.Memo}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(ev), nil
}

// Pledge pledges a part the sender holds to a creditor.
func (k Keeper) Pledge(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivablePledge) ([]abci.Event, error) {
	r, p, pledgee, err := k.handOver(kv, ledgerName, sender, m.Pledgee, "pledgee", m.Memo, m.Receivable, m.Part, "pledge")
	if err != nil {
		return nil, err
	}
	p.Pledgee, p.Offer = pledgee.String(), nil
	ev := &txpb.EventReceivablePledged{Ledger: ledgerName, Receivable: r.ID, Part: p.ID, Holder: p.Holder, Pledgee: p.Pledgee,
		Amount: p.Amount, Memo: m.Memo}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(ev), nil
}

// Unpledge releases a pledge: the pledgee only.
func (k Keeper) Unpledge(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableUnpledge) ([]abci.Event, error) {
	r, err := k.live(kv, ledgerName, m.Receivable)
	if err != nil {
		return nil, err
	}
	p, err := r.part(m.Part)
	if err != nil {
		return nil, err
	}
	if p.Pledgee == "" {
		return nil, ErrNotPledged.Wrapf("part %d of receivable %s", p.ID, r.ID)
	}
	if p.Pledgee != sender.String() {
		return nil, ErrWrongParty.Wrapf("part %d of receivable %s is pledged to %s: only it releases the pledge, not %s", p.ID, r.ID, p.Pledgee, sender)
	}
	ev := &txpb.EventReceivableUnpledged{Ledger: ledgerName, Receivable: r.ID, Part: p.ID, Holder: p.Holder, Pledgee: p.Pledgee}
	p.Pledgee = ""
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(ev), nil
}

// DiscountOffer offers a part the sender holds to a bank at a price; it
// replaces an earlier offer of the part.
func (k Keeper) DiscountOffer(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableDiscountOffer) ([]abci.Event, error) {
	bank, err := parseAddr(m.Bank, "bank")
	if err != nil {
		return nil, err
	}
	r, p, err := k.heldPart(kv, ledgerName, m.Receivable, m.Part, sender, "offer")
	if err != nil {
		return nil, err
	}
	if bank == sender {
		return nil, ErrInvalidReceivable.Wrapf("%s offers part %d to itself", sender, p.ID)
	}
	if m.Price == 0 || m.Price > p.Outstanding() {
		return nil, ErrInvalidAmount.Wrapf("price %d for part %d: want positive, at most its outstanding %d", m.Price, p.ID, p.Outstanding())
	}
	if m.ExpiryHeight <= env.Height || m.ExpiryHeight-env.Height > MaxOfferBlocks {
		return nil, ErrOfferExpired.Wrapf("offer expiry height %d at height %d: want later, within %d blocks", m.ExpiryHeight, env.Height, MaxOfferBlocks)
	}
	if err := k.reg.RequireMember(kv, bank, ledgerName); err != nil {
		return nil, fmt.Errorf("bank: %w", err)
	}
	p.Offer = &Offer{Bank: bank.String(), Price: m.Price, ExpiryHeight: m.ExpiryHeight}
	ev := &txpb.EventReceivableDiscountOffered{Ledger: ledgerName, Receivable: r.ID, Part: p.ID, Holder: p.Holder, Bank: p.Offer.Bank,
		Asset: r.Asset, Amount: p.Outstanding(), Price: m.Price, ExpiryHeight: m.ExpiryHeight}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return k.event(ev), nil
}

func (k Keeper) pay(kv ledger.KV, env Env, r Receivable, from, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error) {
	if env.MaySend != nil {
		if err := env.MaySend(kv, r.Asset, from, to); err != nil {
			return nil, err
		}
	}
	return k.bank.Move(kv, r.Ledger, from, r.Asset, to, amount, memo)
}

func (k Keeper) requireFunds(kv ledger.Reader, r Receivable, who gmcrypto.Address, amount uint64) error {
	bal, err := k.bank.Balance(kv, r.Ledger, r.Asset, who)
	if err != nil {
		return err
	}
	if bal < amount {
		return ErrInsufficientFunds.Wrapf("%s holds %d %s on ledger %s, needs %d", who, bal, r.Asset, r.Ledger, amount)
	}
	return nil
}

// DiscountAccept is the bank's acceptance of the offer made to it: in
// one transaction the bank pays the price to the holder and becomes the
// part's holder.
func (k Keeper) DiscountAccept(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableDiscountAccept) ([]abci.Event, error) {
	r, err := k.live(kv, ledgerName, m.Receivable)
	if err != nil {
		return nil, err
	}
	p, err := r.part(m.Part)
	if err != nil {
		return nil, err
	}
	if p.Offer == nil || p.Offer.Bank != sender.String() {
		return nil, ErrNoOffer.Wrapf("part %d of receivable %s is not offered to %s", p.ID, r.ID, sender)
	}
	if p.Offer.Price != m.Price {
		return nil, ErrNoOffer.Wrapf("part %d of receivable %s is offered at %d, not %d", p.ID, r.ID, p.Offer.Price, m.Price)
	}
	if env.Height >= p.Offer.ExpiryHeight {
		return nil, ErrOfferExpired.Wrapf("the offer of part %d of receivable %s lapsed at height %d", p.ID, r.ID, p.Offer.ExpiryHeight)
	}
	if p.Pledgee != "" { // a pledge clears the offer; kept as a guard
		return nil, ErrPledged.Wrapf("part %d of receivable %s is pledged to %s", p.ID, r.ID, p.Pledgee)
	}
	if err := k.requireFunds(kv, r, sender, m.Price); err != nil {
		return nil, err
	}
	holder := mustAddr(p.Holder)
	events, err := k.pay(kv, env, r, sender, holder, m.Price, fmt.Sprintf("receivable %s part %d discount", r.ID, p.ID))
	if err != nil {
		return nil, fmt.Errorf("discount: %w", err)
	}
	ev := &txpb.EventReceivableDiscounted{Ledger: ledgerName, Receivable: r.ID, Part: p.ID, From: p.Holder, Bank: sender.String(),
		Asset: r.Asset, Amount: p.Outstanding(), Price: m.Price}
	p.Holder, p.Offer = sender.String(), nil
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return append(events, k.event(ev)...), nil
}

// Shares splits amount over parts pro rata to what each has outstanding:
// each share is the floor of amount × outstanding / total outstanding, and
// the units left over go one each to the parts with the largest remainders
// (ties to the lower part id). No share exceeds its part's outstanding
// when amount is at most the total. The result is in parts' order.
func Shares(parts []Part, amount uint64) []uint64 {
	out := make([]uint64, len(parts))
	var total uint64
	for _, p := range parts {
		total += p.Outstanding()
	}
	if total == 0 || amount == 0 {
		return out
	}
	a, t := new(big.Int).SetUint64(amount), new(big.Int).SetUint64(total)
	rems := make([]uint64, len(parts))
	var given uint64
	for i, p := range parts {
		q, m := new(big.Int).QuoRem(new(big.Int).Mul(a, new(big.Int).SetUint64(p.Outstanding())), t, new(big.Int))
		out[i], rems[i] = q.Uint64(), m.Uint64()
		given += out[i]
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		switch {
		case rems[x] > rems[y]:
			return -1
		case rems[x] < rems[y]:
			return 1
		}
		return 0
	})
	for _, i := range order[:amount-given] {
		out[i]++
	}
	return out
}

func (k Keeper) markOverdue(r *Receivable, env Env, by gmcrypto.Address) []abci.Event {
	r.Status, r.OverdueHeight = StatusOverdue, env.Height
	return k.event(&txpb.EventReceivableOverdue{Ledger: r.Ledger, Receivable: r.ID, Payer: r.Payer, Asset: r.Asset,
		Outstanding: r.Outstanding(), DueHeight: r.DueHeight, DueTime: r.DueTime, By: by.String()})
}

// Settle is a payment by the payer from the due date on: amount is shared
// among the holders of all parts pro rata to what each part has
// outstanding, in this one transaction; it withdraws the discount offers
// of the parts it pays. A payment that leaves an amount outstanding makes
// the receivable overdue; the one that pays the last unit settles it.
func (k Keeper) Settle(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableSettle) ([]abci.Event, error) {
	r, err := k.GetReceivable(kv, ledgerName, m.Receivable)
	if err != nil {
		return nil, err
	}
	if sender.String() != r.Payer {
		return nil, ErrWrongParty.Wrapf("receivable %s is paid by its payer %s, not %s", r.ID, r.Payer, sender)
	}
	switch r.Status {
	case StatusSettled:
		return nil, ErrAlreadySettled.Wrapf("receivable %s was paid in full at height %d", r.ID, r.SettledHeight)
	case StatusRequested:
		return nil, ErrNotConfirmed.Wrapf("receivable %s awaits its payer's confirmation", r.ID)
	case StatusRejected:
		return nil, ErrClosed.Wrapf("receivable %s was rejected at height %d", r.ID, r.AnsweredHeight)
	}
	if !r.Due(env.Height, env.Time) {
		return nil, ErrNotDue.Wrapf("receivable %s is due %s", r.ID, dueString(r))
	}
	if m.Amount == 0 {
		return nil, ErrInvalidAmount.Wrapf("payment must be positive")
	}
	if m.Amount > r.Outstanding() {
		return nil, ErrOverpayment.Wrapf("receivable %s has %d outstanding, payment %d", r.ID, r.Outstanding(), m.Amount)
	}
	if err := k.requireFunds(kv, r, sender, m.Amount); err != nil {
		return nil, err
	}
	shares := Shares(r.Parts, m.Amount)
	var events []abci.Event
	var payouts []string
	for i := range r.Parts {
		p := &r.Parts[i]
		if shares[i] == 0 {
			continue
		}
		mv, err := k.pay(kv, env, r, sender, mustAddr(p.Holder), shares[i], fmt.Sprintf("receivable %s part %d settlement", r.ID, p.ID))
		if err != nil {
			return nil, fmt.Errorf("settle part %d: %w", p.ID, err)
		}
		events = append(events, mv...)
		// The part the offer priced is no longer the part: its price would
		// now buy less. The holder offers again if it wishes.
		p.Paid, p.Offer = p.Paid+shares[i], nil
		payouts = append(payouts, strconv.FormatUint(uint64(p.ID), 10)+":"+p.Holder+":"+strconv.FormatUint(shares[i], 10))
	}
	r.Paid += m.Amount
	if r.Outstanding() == 0 {
		r.Status, r.SettledHeight = StatusSettled, env.Height
	}
	events = append(events, k.event(&txpb.EventReceivableSettled{Ledger: ledgerName, Receivable: r.ID, Payer: r.Payer, Asset: r.Asset,
		Amount: m.Amount, Paid: r.Paid, Outstanding: r.Outstanding(), Status: r.Status, Payouts: strings.Join(payouts, ",")})...)
	if r.Status == StatusActive && r.Outstanding() > 0 {
		events = append(events, k.markOverdue(&r, env, sender)...)
	}
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return events, nil
}

// MarkOverdue records that a receivable is past due with an amount
// outstanding: anyone.
func (k Keeper) MarkOverdue(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.ReceivableMarkOverdue) ([]abci.Event, error) {
	r, err := k.live(kv, ledgerName, m.Receivable)
	if err != nil {
		return nil, err
	}
	if r.Status == StatusOverdue {
		return nil, ErrAlreadyOverdue.Wrapf("receivable %s is overdue since height %d", r.ID, r.OverdueHeight)
	}
	if !r.PastDue(env.Height, env.Time) {
		return nil, ErrNotDue.Wrapf("receivable %s is due %s: not past due", r.ID, dueString(r))
	}
	events := k.markOverdue(&r, env, sender)
	if err := k.setReceivable(kv, r); err != nil {
		return nil, err
	}
	return events, nil
}

func dueString(r Receivable) string {
	if r.DueHeight > 0 {
		return fmt.Sprintf("at height %d", r.DueHeight)
	}
	return "at " + time.Unix(r.DueTime, 0).UTC().Format(time.RFC3339)
}

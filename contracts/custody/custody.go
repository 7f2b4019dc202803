package custody

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
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

const codespace = "custody"

// Registered errors (docs/custody.md lists them with what causes each).
var (
	ErrUnknownAccount   = errs.Register(codespace, 2, "unknown custody account")
	ErrInvalidAccount   = errs.Register(codespace, 3, "invalid custody account")
	ErrInvalidThreshold = errs.Register(codespace, 4, "invalid threshold")
	ErrDuplicateSigner  = errs.Register(codespace, 5, "duplicate signer")
	ErrUnknownSigner    = errs.Register(codespace, 6, "unknown signer")
	ErrNotSigner        = errs.Register(codespace, 7, "not a signer of the custody account")
	ErrInvalidProposal  = errs.Register(codespace, 8, "invalid proposal")
	ErrUnknownProposal  = errs.Register(codespace, 9, "unknown proposal")
	ErrAlreadyApproved  = errs.Register(codespace, 10, "already approved")
	ErrProposalExpired  = errs.Register(codespace, 11, "proposal expired")
	ErrNotApproved      = errs.Register(codespace, 12, "not enough approvals")
	ErrTimeLocked       = errs.Register(codespace, 13, "time-locked")
	ErrVetoTooLate      = errs.Register(codespace, 14, "veto too late")
	ErrDailyLimit       = errs.Register(codespace, 15, "daily limit exceeded")
	ErrTooManyProposals = errs.Register(codespace, 16, "too many pending proposals")
)

// Bounds of an account and its proposals. They bound the state one
// account holds and the work one message does (every message reads the
// account; a proposal reads the account's pending proposals).
const (
	MaxSigners          = 32
	MaxDailyLimits      = 32
	MaxPending          = 64
	DefaultExpiryBlocks = 1000
	MaxExpiryBlocks     = 10_000_000
	MaxMemoLen          = 256
)

// Proposal kinds.
const (
	KindTransfer   = "transfer"
	KindSetSigners = "set_signers"
)

// Statuses of a pending proposal at a height (Proposal.Status), and of a
// proposal closed without executing (custody_closed events).
const (
	StatusAwaiting   = "awaiting_approvals"
	StatusTimeLocked = "time_locked"
	StatusExecutable = "executable"
	StatusExpired    = "expired"
	StatusVetoed     = "vetoed"
	StatusSuperseded = "superseded"
)

// Limit bounds what an account pays of one asset per UTC day of the block time.
type Limit struct {
	Asset  string `json:"asset"`
	Amount uint64 `json:"amount,string"`
}

// Account is a custody account.
type Account struct {
	Address string `json:"address"`
	Ledger  string `json:"ledger"`
	// Signers are addresses of member identities of the ledger, sorted.
	Signers   []string `json:"signers"`
	Threshold uint32   `json:"threshold"`
	// TimelockBlocks is how many blocks a proposal waits after reaching
	// the threshold before it may execute; 0: it executes on that approval.
	TimelockBlocks uint64 `json:"timelock_blocks"`
	// ExpiryBlocks is how long a proposal lives, counted from the
	// height it was made.
	ExpiryBlocks  uint64  `json:"expiry_blocks"`
	DailyLimits   []Limit `json:"daily_limits,omitempty"` // sorted by asset
	Creator       string  `json:"creator"`
	CreatedHeight int64   `json:"created_height"`
	Memo          string  `json:"memo,omitempty"`
	// NextProposal is the id the account's next proposal gets (ids start at 1).
	NextProposal uint64 `json:"next_proposal,string"`
}

// IsSigner reports whether addr (lowercase hex) is one of the signers.
func (a Account) IsSigner(addr string) bool {
	_, ok := slices.BinarySearch(a.Signers, addr)
	return ok
}

// Limit returns the daily limit of asset, if the account has one.
func (a Account) Limit(asset string) (uint64, bool) {
	for _, l := range a.DailyLimits {
		if l.Asset == asset {
			return l.Amount, true
		}
	}
	return 0, false
}

// Proposal is a pending proposal of a custody account.
type Proposal struct {
	Account  string `json:"account"`
	ID       uint64 `json:"id,string"`
	Kind     string `json:"kind"`
	Proposer string `json:"proposer"`
	// A transfer's payment.
	Asset  string `json:"asset,omitempty"`
	To     string `json:"to,omitempty"`
	Amount uint64 `json:"amount,string,omitempty"`
	// A set_signers proposal's new signer set (sorted) and threshold.
	Signers   []string `json:"signers,omitempty"`
	Threshold uint32   `json:"threshold,omitempty"`
	Memo      string   `json:"memo,omitempty"`
	// Approvals are the signers that approved, in order, each once.
	Approvals []string `json:"approvals"`
	Height    int64    `json:"height"`
	// ReadyHeight is the height at which the approvals reached the
	// account's threshold; 0 before.
	ReadyHeight int64 `json:"ready_height,omitempty"`
	// ExpiryHeight: from this height on the proposal can no longer be
	// approved or executed.
	ExpiryHeight int64 `json:"expiry_height"`
}

// ExecutableHeight is the first height at which p may execute under a's
// time lock; 0 while it lacks approvals.
func (p Proposal) ExecutableHeight(a Account) int64 {
	if p.ReadyHeight == 0 {
		return 0
	}
	return p.ReadyHeight + int64(a.TimelockBlocks)
}

// Status is p's status for a transaction at height: awaiting approvals,
// time-locked, executable or expired.
func (p Proposal) Status(a Account, height int64) string {
	switch {
	case height >= p.ExpiryHeight:
		return StatusExpired
	case p.ReadyHeight == 0:
		return StatusAwaiting
	case height < p.ExecutableHeight(a):
		return StatusTimeLocked
	}
	return StatusExecutable
}

func (p Proposal) approvedBy(addr string) bool { return slices.Contains(p.Approvals, addr) }

// Bank is what custody needs from the payments contract, which holds the
// accounts' balances.
type Bank interface {
	// RequireAsset succeeds when sym is an asset of ledgerName.
	RequireAsset(kv ledger.Reader, ledgerName, sym string) error
	// Move moves amount of sym from one account to another, checking the
	// amount, the asset (known, not paused), the recipient (a payee of
	// the ledger) and the balance, and no rights of whoever sent the
	// message; it returns the movement's events.
	Move(kv ledger.KV, ledgerName string, from gmcrypto.Address, sym string, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error)
}

// Registry is what custody needs from the permission registry.
type Registry interface {
	// RequireMember: addr is a registered identity that may transact on
	// ledgerName (its organisation a member, the member role).
	RequireMember(kv ledger.KV, addr gmcrypto.Address, ledgerName string) error
	// RequirePayee: addr may be paid on ledgerName; it returns addr's
	// organisation.
	RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error)
}

// Env is the block a message executes in, and the app's guard on every
// payment out of a custody account.
type Env struct {
	Height int64
	// Time is the block time; daily limits count its UTC days.
	Time time.Time
	// MaySend is asked before funds leave a custody account, with the
	// account and the recipient (the app's holds and sanctions); nil
	// allows.
	MaySend func(kv ledger.KV, asset string, from, to gmcrypto.Address) error
}

// Day is the UTC day of a block time, counted from the Unix epoch.
func Day(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// Keeper executes custody messages on the sub-ledger stores it is handed.
type Keeper struct {
	bank  Bank
	reg   Registry
	quiet bool
}

// NewKeeper returns a keeper moving funds through bank and asking reg who
// may sign and be paid.
func NewKeeper(bank Bank, reg Registry) Keeper { return Keeper{bank: bank, reg: reg} }

// Quiet returns a keeper that executes the same but reports no events of
// its own (hand it a quiet bank too), for mempool checks.
func (k Keeper) Quiet() Keeper { k.quiet = true; return k }

func (k Keeper) event(m protoreflect.ProtoMessage) []abci.Event {
	if k.quiet {
		return nil
	}
	return []abci.Event{wire.Event(m)}
}

// AccountAddress is the address of the custody account that the
// transaction txID (64 hex digits) creates on ledgerName.
func AccountAddress(ledgerName, txID string) (gmcrypto.Address, error) {
	var a gmcrypto.Address
	id, err := hex.DecodeString(txID)
	if err != nil || len(id) != gmcrypto.HashSize {
		return a, fmt.Errorf("custody account of tx %q: want a tx id of %d hex digits", txID, 2*gmcrypto.HashSize)
	}
	h := gmcrypto.SM3([]byte("jinlian/custody/v1"), []byte{0}, []byte(ledgerName), []byte{0}, id)
	copy(a[:], h[:gmcrypto.AddressSize])
	return a, nil
}

func accountKey(a gmcrypto.Address) []byte { return append([]byte("cu/a/"), a[:]...) }

func proposalPrefix(a gmcrypto.Address) []byte { return append([]byte("cu/p/"), a[:]...) }

func proposalKey(a gmcrypto.Address, id uint64) []byte {
	return binary.BigEndian.AppendUint64(proposalPrefix(a), id)
}

func spentKey(a gmcrypto.Address, sym string) []byte {
	k := append([]byte("cu/d/"), a[:]...)
	k = append(k, byte(len(sym)))
	return append(k, sym...)
}

// IsAccount reports whether addr is a custody account of ledgerName.
func IsAccount(kv ledger.Reader, ledgerName string, addr gmcrypto.Address) (bool, error) {
	b, err := kv.Get(ledgerName, accountKey(addr))
	return b != nil, err
}

func parseAccount(b []byte) (gmcrypto.Address, error) {
	a, err := gmcrypto.AddressFromBytes(b)
	if err != nil {
		return a, ErrUnknownAccount.Wrapf("account: %v", err)
	}
	return a, nil
}

// GetAccount loads a custody account; ErrUnknownAccount names it if absent.
func (k Keeper) GetAccount(kv ledger.Reader, ledgerName string, addr gmcrypto.Address) (Account, error) {
	var a Account
	b, err := kv.Get(ledgerName, accountKey(addr))
	if err != nil {
		return a, err
	}
	if b == nil {
		return a, ErrUnknownAccount.Wrapf("no custody account %s on ledger %s", addr, ledgerName)
	}
	return a, ledger.Decode(b, &a)
}

func (k Keeper) setAccount(kv ledger.KV, a Account) error {
	addr, err := gmcrypto.ParseAddress(a.Address)
	if err != nil {
		return err
	}
	b, err := ledger.Encode(a)
	if err != nil {
		return err
	}
	return kv.Set(a.Ledger, accountKey(addr), b)
}

// Accounts lists a ledger's custody accounts in address order.
func (k Keeper) Accounts(kv ledger.Reader, ledgerName string) ([]Account, error) {
	return list[Account](kv, ledgerName, []byte("cu/a/"))
}

// Proposals lists an account's pending proposals in id order.
func (k Keeper) Proposals(kv ledger.Reader, ledgerName string, addr gmcrypto.Address) ([]Proposal, error) {
	return list[Proposal](kv, ledgerName, proposalPrefix(addr))
}

// GetProposal loads a pending proposal.
func (k Keeper) GetProposal(kv ledger.Reader, ledgerName string, addr gmcrypto.Address, id uint64) (Proposal, error) {
	var p Proposal
	b, err := kv.Get(ledgerName, proposalKey(addr, id))
	if err != nil {
		return p, err
	}
	if b == nil {
		return p, ErrUnknownProposal.Wrapf("custody account %s has no pending proposal %d (never made, or already executed, vetoed, expired or superseded)", addr, id)
	}
	return p, ledger.Decode(b, &p)
}

func (k Keeper) setProposal(kv ledger.KV, ledgerName string, addr gmcrypto.Address, p Proposal) error {
	b, err := ledger.Encode(p)
	if err != nil {
		return err
	}
	return kv.Set(ledgerName, proposalKey(addr, p.ID), b)
}

func list[T any](kv ledger.Reader, ledgerName string, prefix []byte) ([]T, error) {
	out := []T{}
	var derr error
	err := kv.Iterate(ledgerName, prefix, ledger.PrefixEnd(prefix), func(_, v []byte) bool {
		var t T
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

// Spent returns what addr paid of sym on the given day (0 for another day
// than the one recorded).
func (k Keeper) Spent(kv ledger.Reader, ledgerName string, addr gmcrypto.Address, sym string, day int64) (uint64, error) {
	b, err := kv.Get(ledgerName, spentKey(addr, sym))
	if err != nil || b == nil {
		return 0, err
	}
	if len(b) != 16 {
		return 0, fmt.Errorf("corrupt daily total of custody account %s, %s on ledger %s: %d bytes", addr, sym, ledgerName, len(b))
	}
	if int64(binary.BigEndian.Uint64(b)) != day {
		return 0, nil
	}
	return binary.BigEndian.Uint64(b[8:]), nil
}

func (k Keeper) setSpent(kv ledger.KV, ledgerName string, addr gmcrypto.Address, sym string, day int64, v uint64) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(day))
	return kv.Set(ledgerName, spentKey(addr, sym), binary.BigEndian.AppendUint64(b, v))
}

func checkMemo(what, s string) error {
	if len(s) > MaxMemoLen {
		return ErrInvalidProposal.Wrapf("%s of %d bytes, at most %d", what, len(s), MaxMemoLen)
	}
	return nil
}

// signerSet checks a signer set and threshold (create, set_signers) and
// returns the signers sorted: 1 to MaxSigners 20-byte addresses, each
// once, 1 ≤ threshold ≤ their number, each a member identity of the ledger.
func (k Keeper) signerSet(kv ledger.KV, ledgerName string, raw [][]byte, threshold uint32) ([]string, error) {
	if len(raw) == 0 || len(raw) > MaxSigners {
		return nil, ErrInvalidAccount.Wrapf("%d signers: want 1 to %d", len(raw), MaxSigners)
	}
	addrs := make([]gmcrypto.Address, len(raw))
	out := make([]string, len(raw))
	for i, b := range raw {
		a, err := gmcrypto.AddressFromBytes(b)
		if err != nil {
			return nil, ErrInvalidAccount.Wrapf("signer %d: %v", i+1, err)
		}
		if slices.Contains(out[:i], a.String()) {
			return nil, ErrDuplicateSigner.Wrapf("signer %s is listed twice: each signer counts once", a)
		}
		addrs[i], out[i] = a, a.String()
	}
	if threshold == 0 || int(threshold) > len(raw) {
		return nil, ErrInvalidThreshold.Wrapf("threshold %d of %d signers: want 1 ≤ threshold ≤ %d", threshold, len(raw), len(raw))
	}
	for _, a := range addrs {
		if err := k.reg.RequireMember(kv, a, ledgerName); err != nil {
			return nil, ErrUnknownSigner.Wrapf("signer %s cannot act on ledger %s: %v", a, ledgerName, err)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Create opens a custody account for creator with the transaction txID.
func (k Keeper) Create(kv ledger.KV, env Env, ledgerName string, creator gmcrypto.Address, txID string, m *txpb.CustodyCreate) ([]abci.Event, error) {
	if len(m.Memo) > MaxMemoLen {
		return nil, ErrInvalidAccount.Wrapf("memo of %d bytes, at most %d", len(m.Memo), MaxMemoLen)
	}
	expiry := m.ExpiryBlocks
	if expiry == 0 {
		expiry = DefaultExpiryBlocks
	}
	if expiry > MaxExpiryBlocks {
		return nil, ErrInvalidAccount.Wrapf("proposals expiring after %d blocks: at most %d", expiry, MaxExpiryBlocks)
	}
	if m.TimelockBlocks >= expiry {
		return nil, ErrInvalidAccount.Wrapf("a time lock of %d blocks and proposals expiring after %d: no proposal could ever execute (want time lock < expiry)", m.TimelockBlocks, expiry)
	}
	signers, err := k.signerSet(kv, ledgerName, m.Signers, m.Threshold)
	if err != nil {
		return nil, err
	}
	if len(m.DailyLimits) > MaxDailyLimits {
		return nil, ErrInvalidAccount.Wrapf("%d daily limits: at most %d", len(m.DailyLimits), MaxDailyLimits)
	}
	limits := make([]Limit, 0, len(m.DailyLimits))
	for _, l := range m.DailyLimits {
		if l.Amount == 0 {
			return nil, ErrInvalidAccount.Wrapf("daily limit of %s is 0: leave the asset out for no limit", l.Asset)
		}
		if slices.ContainsFunc(limits, func(o Limit) bool { return o.Asset == l.Asset }) {
			return nil, ErrInvalidAccount.Wrapf("two daily limits for %s", l.Asset)
		}
		if err := k.bank.RequireAsset(kv, ledgerName, l.Asset); err != nil {
			return nil, fmt.Errorf("daily limit: %w", err)
		}
		limits = append(limits, Limit{Asset: l.Asset, Amount: l.Amount})
	}
	slices.SortFunc(limits, func(a, b Limit) int { return strings.Compare(a.Asset, b.Asset) })
	addr, err := AccountAddress(ledgerName, txID)
	if err != nil {
		return nil, err
	}
	if ok, err := IsAccount(kv, ledgerName, addr); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrInvalidAccount.Wrapf("custody account %s already exists on ledger %s", addr, ledgerName)
	}
	a := Account{Address: addr.String(), Ledger: ledgerName, Signers: signers, Threshold: m.Threshold,
		TimelockBlocks: m.TimelockBlocks, ExpiryBlocks: expiry, DailyLimits: limits, Creator: creator.String(),
		CreatedHeight: env.Height, Memo: m.Memo, NextProposal: 1}
	if len(limits) == 0 {
		a.DailyLimits = nil
	}
	if err := k.setAccount(kv, a); err != nil {
		return nil, err
	}
	ls := make([]string, len(limits))
	for i, l := range limits {
		ls[i] = fmt.Sprintf("%s:%d", l.Asset, l.Amount)
	}
	return k.event(&txpb.EventCustodyCreated{Ledger: ledgerName, Account: a.Address, Creator: a.Creator,
		Signers: strings.Join(signers, ","), Threshold: a.Threshold, TimelockBlocks: a.TimelockBlocks,
		ExpiryBlocks: a.ExpiryBlocks, DailyLimits: strings.Join(ls, ",")}), nil
}

// signerAccount loads the account at raw for a message of sender, who must
// be one of its signers.
func (k Keeper) signerAccount(kv ledger.Reader, ledgerName string, raw []byte, sender gmcrypto.Address) (Account, gmcrypto.Address, error) {
	addr, err := parseAccount(raw)
	if err != nil {
		return Account{}, addr, err
	}
	a, err := k.GetAccount(kv, ledgerName, addr)
	if err != nil {
		return a, addr, err
	}
	if !a.IsSigner(sender.String()) {
		return a, addr, ErrNotSigner.Wrapf("%s is not a signer of custody account %s (signers: %s)", sender, addr, strings.Join(a.Signers, ", "))
	}
	return a, addr, nil
}

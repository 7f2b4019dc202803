package payments

import (
	"encoding/binary"
	"fmt"
	"math"
	"regexp"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const codespace = "payments"

// Registered errors.
var (
	ErrUnknownAsset      = errs.Register(codespace, 2, "unknown asset")
	ErrInvalidAmount     = errs.Register(codespace, 3, "invalid amount")
	ErrInsufficientFunds = errs.Register(codespace, 4, "insufficient funds")
	ErrOverflow          = errs.Register(codespace, 5, "amount overflow")
	ErrInvalidAsset      = errs.Register(codespace, 6, "invalid asset")
	ErrInvalidAddress    = errs.Register(codespace, 7, "invalid address")
	ErrSupplyCap         = errs.Register(codespace, 8, "supply cap reached")
	ErrAssetPaused       = errs.Register(codespace, 9, "asset paused")
	ErrNotRedeemable     = errs.Register(codespace, 10, "asset not redeemable")
	ErrUnknownRedemption = errs.Register(codespace, 11, "unknown redemption")
)

var symbolPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// Asset is a unit of account on one sub-ledger.
type Asset struct {
	Symbol   string `json:"symbol"`
	Issuer   string `json:"issuer"` // organisation id
	Decimals uint32 `json:"decimals"`
	// SupplyCap bounds what may be outstanding (issued − burned); 0: none.
	SupplyCap uint64 `json:"supply_cap,string,omitempty"`
	// Redeemable assets can be returned to the issuer (Redeem).
	Redeemable bool `json:"redeemable,omitempty"`
	// MetadataHash is the SM3 of the asset's terms (hex), if given.
	MetadataHash string `json:"metadata_hash,omitempty"`
	// Paused assets move nowhere: no issue, transfer, burn or redemption.
	Paused bool `json:"paused,omitempty"`
}

// Supply is what was issued and burned of an asset, and its redemption
// queue's total and next id.
type Supply struct {
	Issued uint64 `json:"issued,string"`
	Burned uint64 `json:"burned,string"`
	// Pending is the sum of queued redemptions: units that left their
	// holders' balances and are not yet burned.
	Pending uint64 `json:"pending,string"`
	// NextRedemption is the id the next redemption gets.
	NextRedemption uint64 `json:"next_redemption,string"`
}

// Outstanding is issued − burned.
func (s Supply) Outstanding() uint64 { return s.Issued - s.Burned }

// Authorizer is what payments needs from the permission registry.
type Authorizer interface {
	// RequireRole: addr holds role of organisation org within scope
	// ("<ledger>/<asset>" for issuers).
	RequireRole(kv ledger.KV, addr gmcrypto.Address, org, role, scope string) error
	// RequirePayee: addr may be credited on ledgerName (a registered
	// identity of a member organisation); issues and transfers to anyone
	// else are refused, so no payment strands money at an unknown address.
	// It returns the payee's organisation.
	RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (org string, err error)
	// OrgOf is addr's organisation, "" when addr is not (any longer) a
	// registered identity; events name it so that an organisation's
	// statement finds the movement (package recon).
	OrgOf(kv ledger.KV, addr gmcrypto.Address) (org string, err error)
}

// Keeper executes payments messages on the sub-ledger stores it is handed.
type Keeper struct {
	auth  Authorizer
	quiet bool
}

// NewKeeper returns a keeper that asks auth about issuer rights.
func NewKeeper(auth Authorizer) Keeper { return Keeper{auth: auth} }

// Quiet returns a keeper that executes the same but reports no events,
// for mempool checks, whose events nobody reads.
func (k Keeper) Quiet() Keeper { k.quiet = true; return k }

func assetKey(sym string) []byte  { return []byte("a/" + sym) }
func supplyKey(sym string) []byte { return []byte("s/" + sym) }

func balancePrefix(sym string) []byte {
	k := make([]byte, 0, len(BalanceKeysPrefix)+1+len(sym)+gmcrypto.AddressSize)
	k = append(append(k, BalanceKeysPrefix...), byte(len(sym)))
	return append(k, sym...)
}

// BalanceKeysPrefix starts every balance key of a sub-ledger's tree:
// b/<len(sym)><sym><address>.
var BalanceKeysPrefix = []byte("b/")

// ParseBalanceKey splits a balance key into its asset and account; ok is
// false for any other key.
func ParseBalanceKey(key []byte) (sym string, addr gmcrypto.Address, ok bool) {
	if len(key) < len(BalanceKeysPrefix)+1 || string(key[:len(BalanceKeysPrefix)]) != string(BalanceKeysPrefix) {
		return "", addr, false
	}
	n := int(key[len(BalanceKeysPrefix)])
	rest := key[len(BalanceKeysPrefix)+1:]
	if n == 0 || len(rest) != n+gmcrypto.AddressSize {
		return "", addr, false
	}
	copy(addr[:], rest[n:])
	return string(rest[:n]), addr, true
}

func balanceKey(sym string, addr gmcrypto.Address) []byte {
	return append(balancePrefix(sym), addr[:]...)
}

// ValidateAsset checks an asset's own fields.
func ValidateAsset(a Asset) error {
	switch {
	case !symbolPattern.MatchString(a.Symbol):
		return ErrInvalidAsset.Wrapf("symbol %q: want 1-32 of [A-Za-z0-9_.-], starting alphanumeric", a.Symbol)
	case a.Issuer == "":
		return ErrInvalidAsset.Wrapf("asset %s has no issuer organisation", a.Symbol)
	case a.Decimals > MaxDecimals:
		return ErrInvalidAsset.Wrapf("asset %s: %d decimals, at most %d", a.Symbol, a.Decimals, MaxDecimals)
	case a.MetadataHash != "" && !sm3Hex.MatchString(a.MetadataHash):
		return ErrInvalidAsset.Wrapf("asset %s: metadata hash %q is not 32 bytes of hex (SM3)", a.Symbol, a.MetadataHash)
	}
	return nil
}

// MaxDecimals bounds an asset's display decimals (10^18 still fits uint64).
const MaxDecimals = 18

var sm3Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CreateAsset registers an asset on a ledger (genesis and governance).
func (k Keeper) CreateAsset(kv ledger.KV, ledgerName string, a Asset) error {
	if err := ValidateAsset(a); err != nil {
		return fmt.Errorf("ledger %s: %w", ledgerName, err)
	}
	old, err := kv.Get(ledgerName, assetKey(a.Symbol))
	if err != nil {
		return err
	}
	if old != nil {
		return ErrInvalidAsset.Wrapf("asset %s already exists on ledger %s", a.Symbol, ledgerName)
	}
	b, err := ledger.Encode(a)
	if err != nil {
		return err
	}
	return kv.Set(ledgerName, assetKey(a.Symbol), b)
}

var assetRecords = memo.NewRecords[Asset](4096, ledger.Decode, nil)

// GetAsset loads an asset; ErrUnknownAsset names it if absent.
func (k Keeper) GetAsset(kv Reader, ledgerName, sym string) (Asset, error) {
	var a Asset
	b, err := ledger.Peek(kv, ledgerName, assetKey(sym))
	if err != nil {
		return a, err
	}
	if b == nil {
		return a, ErrUnknownAsset.Wrapf("%q on ledger %s", sym, ledgerName)
	}
	return a, assetRecords.Decode(b, &a)
}

// RequireAsset succeeds when sym is an asset of ledgerName.
func (k Keeper) RequireAsset(kv Reader, ledgerName, sym string) error {
	_, err := k.GetAsset(kv, ledgerName, sym)
	return err
}

// Assets lists a ledger's assets in symbol order.
func (k Keeper) Assets(kv Reader, ledgerName string) ([]Asset, error) {
	var out []Asset
	var derr error
	err := kv.Iterate(ledgerName, []byte("a/"), ledger.PrefixEnd([]byte("a/")), func(_, v []byte) bool {
		var a Asset
		if derr = ledger.Decode(v, &a); derr != nil {
			return false
		}
		out = append(out, a)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Balance returns addr's balance of sym (0 if none).
func (k Keeper) Balance(kv Reader, ledgerName, sym string, addr gmcrypto.Address) (uint64, error) {
	b, err := ledger.Peek(kv, ledgerName, balanceKey(sym, addr))
	if err != nil || b == nil {
		return 0, err
	}
	if len(b) != 8 && len(b) != balanceRecordSize {
		return 0, fmt.Errorf("corrupt balance of %s/%s/%s: %d bytes", ledgerName, sym, addr, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// setBalance writes addr's balance of sym, keeping the record's
// completeness commitment (commitment.go): an account that ever moved
// keeps its record at a zero balance; one that never did has none.
func (k Keeper) setBalance(kv ledger.KV, ledgerName, sym string, addr gmcrypto.Address, v uint64) error {
	key := balanceKey(sym, addr)
	old, err := ledger.Peek(kv, ledgerName, key)
	if err != nil {
		return err
	}
	if len(old) == balanceRecordSize {
		rec := binary.BigEndian.AppendUint64(make([]byte, 0, balanceRecordSize), v)
		return kv.Set(ledgerName, key, append(rec, old[8:]...))
	}
	if v == 0 {
		return kv.Delete(ledgerName, key)
	}
	return kv.Set(ledgerName, key, binary.BigEndian.AppendUint64(nil, v))
}

// GetSupply returns the supply record of sym.
func (k Keeper) GetSupply(kv Reader, ledgerName, sym string) (Supply, error) {
	b, err := kv.Get(ledgerName, supplyKey(sym))
	if err != nil || b == nil {
		return Supply{}, err
	}
	if len(b) != 16 && len(b) != 32 {
		return Supply{}, fmt.Errorf("corrupt supply of %s/%s: %d bytes", ledgerName, sym, len(b))
	}
	s := Supply{Issued: binary.BigEndian.Uint64(b), Burned: binary.BigEndian.Uint64(b[8:])}
	if len(b) == 32 {
		s.Pending, s.NextRedemption = binary.BigEndian.Uint64(b[16:]), binary.BigEndian.Uint64(b[24:])
	}
	return s, nil
}

// setSupply writes issued ‖ burned, and ‖ pending ‖ next redemption id
// once the asset has had a redemption.
func (k Keeper) setSupply(kv ledger.KV, ledgerName, sym string, s Supply) error {
	b := binary.BigEndian.AppendUint64(nil, s.Issued)
	b = binary.BigEndian.AppendUint64(b, s.Burned)
	if s.Pending != 0 || s.NextRedemption != 0 {
		b = binary.BigEndian.AppendUint64(b, s.Pending)
		b = binary.BigEndian.AppendUint64(b, s.NextRedemption)
	}
	return kv.Set(ledgerName, supplyKey(sym), b)
}

func checkAmount(amount uint64) error {
	if amount == 0 {
		return ErrInvalidAmount.Wrapf("amount must be positive")
	}
	return nil
}

func parseTo(to []byte) (gmcrypto.Address, error) {
	a, err := gmcrypto.AddressFromBytes(to)
	if err != nil {
		return a, ErrInvalidAddress.Wrapf("recipient: %v", err)
	}
	return a, nil
}

// movable loads an asset that may move: known and not paused.
func (k Keeper) movable(kv Reader, ledgerName, sym string) (Asset, error) {
	a, err := k.GetAsset(kv, ledgerName, sym)
	if err == nil && a.Paused {
		err = ErrAssetPaused.Wrapf("%s on ledger %s is paused by governance: it moves nowhere until unpaused", sym, ledgerName)
	}
	return a, err
}

// Mint credits amount of sym to addr and counts it as issued. It is the
// primitive behind Issue and genesis balances; it checks no rights.
func (k Keeper) Mint(kv ledger.KV, ledgerName, sym string, to gmcrypto.Address, amount uint64) error {
	_, err := k.mint(kv, ledgerName, sym, to, amount)
	return err
}

// mint is Mint returning the recipient's new balance.
func (k Keeper) mint(kv ledger.KV, ledgerName, sym string, to gmcrypto.Address, amount uint64) (uint64, error) {
	if err := checkAmount(amount); err != nil {
		return 0, err
	}
	asset, err := k.GetAsset(kv, ledgerName, sym)
	if err != nil {
		return 0, err
	}
	sup, err := k.GetSupply(kv, ledgerName, sym)
	if err != nil {
		return 0, err
	}
	if sup.Issued > math.MaxUint64-amount {
		return 0, ErrOverflow.Wrapf("issuing %d %s would overflow the issued total %d", amount, sym, sup.Issued)
	}
	if c := asset.SupplyCap; c != 0 && (sup.Outstanding() > c || amount > c-sup.Outstanding()) {
		return 0, ErrSupplyCap.Wrapf("issuing %d %s on ledger %s: %d outstanding, cap %d", amount, sym, ledgerName, sup.Outstanding(), c)
	}
	bal, err := k.Balance(kv, ledgerName, sym, to)
	if err != nil {
		return 0, err
	}
	// bal <= outstanding <= issued, so bal+amount cannot overflow once issued+amount does not.
	sup.Issued += amount
	if err := k.setSupply(kv, ledgerName, sym, sup); err != nil {
		return 0, err
	}
	return bal + amount, k.setBalance(kv, ledgerName, sym, to, bal+amount)
}

// Issue executes an issue message sent by sender.
func (k Keeper) Issue(kv ledger.KV, ledgerName string, sender gmcrypto.Address, sym string, to []byte, amount uint64, memo string) ([]abci.Event, error) {
	asset, err := k.movable(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	if err := k.auth.RequireRole(kv, sender, asset.Issuer, "issuer", ledgerName+"/"+sym); err != nil {
		return nil, fmt.Errorf("issue %s on ledger %s: %w", sym, ledgerName, err)
	}
	toAddr, err := parseTo(to)
	if err != nil {
		return nil, err
	}
	toOrg, err := k.auth.RequirePayee(kv, toAddr, ledgerName)
	if err != nil {
		return nil, fmt.Errorf("issue %s on ledger %s: %w", sym, ledgerName, err)
	}
	bal, err := k.mint(kv, ledgerName, sym, toAddr, amount)
	if err != nil {
		return nil, err
	}
	return k.event(&txpb.EventIssue{Ledger: ledgerName, Asset: sym, From: sender.String(), To: toAddr.String(), Amount: amount, ToBalance: bal,
		ToOrg: toOrg, Memo: memo}), nil
}

// Transfer moves amount of sym from sender to to.
func (k Keeper) Transfer(kv ledger.KV, ledgerName string, sender gmcrypto.Address, sym string, to []byte, amount uint64, memo string) ([]abci.Event, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	if _, err := k.movable(kv, ledgerName, sym); err != nil {
		return nil, err
	}
	toAddr, err := parseTo(to)
	if err != nil {
		return nil, err
	}
	return k.move(kv, ledgerName, sender, sym, toAddr, amount, memo)
}

// Move moves amount of sym from one account to another: the primitive
// behind Transfer, and what other contracts pay with (custody). It checks
// the amount, the asset (known, not paused), the recipient (a payee of the
// ledger) and the balance; it checks no rights of whoever asked for it.
func (k Keeper) Move(kv ledger.KV, ledgerName string, from gmcrypto.Address, sym string, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	if _, err := k.movable(kv, ledgerName, sym); err != nil {
		return nil, err
	}
	return k.move(kv, ledgerName, from, sym, to, amount, memo)
}

// move is Move after the amount and the asset were checked.
func (k Keeper) move(kv ledger.KV, ledgerName string, from gmcrypto.Address, sym string, to gmcrypto.Address, amount uint64, memo string) ([]abci.Event, error) {
	toOrg, err := k.auth.RequirePayee(kv, to, ledgerName)
	if err != nil {
		return nil, fmt.Errorf("transfer %s on ledger %s: %w", sym, ledgerName, err)
	}
	bal, err := k.Balance(kv, ledgerName, sym, from)
	if err != nil {
		return nil, err
	}
	if bal < amount {
		return nil, ErrInsufficientFunds.Wrapf("account %s holds %d %s on ledger %s, transfer needs %d", from, bal, sym, ledgerName, amount)
	}
	ev := &txpb.EventTransfer{Ledger: ledgerName, Asset: sym, From: from.String(), To: to.String(), Amount: amount,
		FromBalance: bal, ToBalance: bal, ToOrg: toOrg, Memo: memo}
	if to != from {
		dest, err := k.Balance(kv, ledgerName, sym, to)
		if err != nil {
			return nil, err
		}
		if dest > math.MaxUint64-amount {
			return nil, ErrOverflow.Wrapf("balance of %s would overflow", to)
		}
		if err := k.setBalance(kv, ledgerName, sym, from, bal-amount); err != nil {
			return nil, err
		}
		if err := k.setBalance(kv, ledgerName, sym, to, dest+amount); err != nil {
			return nil, err
		}
		ev.FromBalance, ev.ToBalance = bal-amount, dest+amount
	}
	return k.event(ev), nil
}

// Burn destroys amount of sym held by sender.
func (k Keeper) Burn(kv ledger.KV, ledgerName string, sender gmcrypto.Address, sym string, amount uint64, memo string) ([]abci.Event, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	if _, err := k.movable(kv, ledgerName, sym); err != nil {
		return nil, err
	}
	bal, err := k.Balance(kv, ledgerName, sym, sender)
	if err != nil {
		return nil, err
	}
	if bal < amount {
		return nil, ErrInsufficientFunds.Wrapf("account %s holds %d %s on ledger %s, burn needs %d", sender, bal, sym, ledgerName, amount)
	}
	sup, err := k.GetSupply(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	sup.Burned += amount
	if err := k.setSupply(kv, ledgerName, sym, sup); err != nil {
		return nil, err
	}
	if err := k.setBalance(kv, ledgerName, sym, sender, bal-amount); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventBurn{Ledger: ledgerName, Asset: sym, From: sender.String(), Amount: amount, FromBalance: bal - amount, Memo: memo}), nil
}

func (k Keeper) event(m protoreflect.ProtoMessage) []abci.Event {
	if k.quiet {
		return nil
	}
	return []abci.Event{wire.Event(m)}
}

// InvariantResult is the supply check of one asset.
type InvariantResult struct {
	Ledger      string `json:"ledger"`
	Asset       string `json:"asset"`
	SumBalances uint64 `json:"sum_balances,string"`
	Pending     uint64 `json:"pending_redemptions,string"`
	Issued      uint64 `json:"issued,string"`
	Burned      uint64 `json:"burned,string"`
	Holds       bool   `json:"holds"`
}

// CheckSupply verifies, for every asset of a ledger, sum of balances +
// pending redemptions == issued − burned, and that the pending total is the
// sum of the queue.
func (k Keeper) CheckSupply(kv Reader, ledgerName string) ([]InvariantResult, error) {
	assets, err := k.Assets(kv, ledgerName)
	if err != nil {
		return nil, err
	}
	out := make([]InvariantResult, 0, len(assets))
	for _, a := range assets {
		sup, err := k.GetSupply(kv, ledgerName, a.Symbol)
		if err != nil {
			return nil, err
		}
		var sum uint64
		overflow := false
		p := balancePrefix(a.Symbol)
		err = kv.Iterate(ledgerName, p, ledger.PrefixEnd(p), func(_, v []byte) bool {
			b := binary.BigEndian.Uint64(v) // the balance; a commitment may follow
			if sum > math.MaxUint64-b {
				overflow = true
				return false
			}
			sum += b
			return true
		})
		if err != nil {
			return nil, err
		}
		queue, err := k.Redemptions(kv, ledgerName, a.Symbol)
		if err != nil {
			return nil, err
		}
		var queued uint64
		for _, r := range queue {
			queued += r.Amount // each ≤ pending ≤ outstanding; a wrap shows as a mismatch
		}
		out = append(out, InvariantResult{
			Ledger: ledgerName, Asset: a.Symbol, SumBalances: sum, Pending: sup.Pending, Issued: sup.Issued, Burned: sup.Burned,
			Holds: !overflow && sup.Burned <= sup.Issued && queued == sup.Pending &&
				sum <= math.MaxUint64-sup.Pending && sum+sup.Pending == sup.Issued-sup.Burned,
		})
	}
	return out, nil
}

// Reader is ledger.Reader, named here for the signatures of this package.
type Reader = ledger.Reader

// IterateBalances calls fn with every non-zero balance of sym on
// ledgerName in ascending account order (the order of the balance keys),
// until fn returns false. Proofs of reserves build their tree from it.
func (k Keeper) IterateBalances(kv Reader, ledgerName, sym string, fn func(addr gmcrypto.Address, amount uint64) bool) error {
	p := balancePrefix(sym)
	var derr error
	err := kv.Iterate(ledgerName, p, ledger.PrefixEnd(p), func(key, v []byte) bool {
		if len(key) != len(p)+gmcrypto.AddressSize || len(v) != 8 && len(v) != balanceRecordSize {
			derr = fmt.Errorf("corrupt balance record %x of %s/%s", key, ledgerName, sym)
			return false
		}
		amount := binary.BigEndian.Uint64(v)
		if amount == 0 {
			return true // an account that moved keeps its record (and commitment) at zero
		}
		var addr gmcrypto.Address
		copy(addr[:], key[len(p):])
		return fn(addr, amount)
	})
	if err != nil {
		return err
	}
	return derr
}

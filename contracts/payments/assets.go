package payments

import (
	"encoding/binary"
	"fmt"
	"math"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// AssetUpdate is what an update-asset proposal changes; nil keeps a field.
type AssetUpdate struct {
	SupplyCap *uint64
	Paused    *bool
	Issuer    *string
}

// UpdateAsset changes an asset (governance). A cap below what is
// outstanding is refused: it would strand the holders' units.
func (k Keeper) UpdateAsset(kv ledger.KV, ledgerName, sym string, u AssetUpdate) (Asset, error) {
	a, err := k.GetAsset(kv, ledgerName, sym)
	if err != nil {
		return a, err
	}
	if u.SupplyCap != nil {
		sup, err := k.GetSupply(kv, ledgerName, sym)
		if err != nil {
			return a, err
		}
		if c := *u.SupplyCap; c != 0 && c < sup.Outstanding() {
			return a, ErrSupplyCap.Wrapf("cap %d for %s on ledger %s is below the %d outstanding", c, sym, ledgerName, sup.Outstanding())
		}
		a.SupplyCap = *u.SupplyCap
	}
	if u.Paused != nil {
		a.Paused = *u.Paused
	}
	if u.Issuer != nil {
		a.Issuer = *u.Issuer
	}
	if err := ValidateAsset(a); err != nil {
		return a, err
	}
	b, err := ledger.Encode(a)
	if err != nil {
		return a, err
	}
	return a, kv.Set(ledgerName, assetKey(sym), b)
}

// Redemption is a queued return of units to the issuer.
type Redemption struct {
	ID        uint64 `json:"id,string"`
	Holder    string `json:"holder"`
	Amount    uint64 `json:"amount,string"`
	Reference string `json:"reference,omitempty"`
	Height    int64  `json:"height"`
}

// MaxReferenceLen bounds a redemption's reference and a settlement's reason.
const MaxReferenceLen = 256

func redemptionPrefix(sym string) []byte {
	return append([]byte{'r', '/', byte(len(sym))}, sym...)
}

func redemptionKey(sym string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(redemptionPrefix(sym), id)
}

// Redeem moves amount of a redeemable asset from the holder's balance into
// the issuer's redemption queue.
func (k Keeper) Redeem(kv ledger.KV, ledgerName string, holder gmcrypto.Address, sym string, amount uint64, ref string, height int64) ([]abci.Event, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	if len(ref) > MaxReferenceLen {
		return nil, ErrInvalidAmount.Wrapf("reference of %d bytes, at most %d", len(ref), MaxReferenceLen)
	}
	a, err := k.movable(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	if !a.Redeemable {
		return nil, ErrNotRedeemable.Wrapf("%s on ledger %s cannot be returned to its issuer", sym, ledgerName)
	}
	bal, err := k.Balance(kv, ledgerName, sym, holder)
	if err != nil {
		return nil, err
	}
	if bal < amount {
		return nil, ErrInsufficientFunds.Wrapf("account %s holds %d %s on ledger %s, redemption needs %d", holder, bal, sym, ledgerName, amount)
	}
	sup, err := k.GetSupply(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	r := Redemption{ID: sup.NextRedemption, Holder: holder.String(), Amount: amount, Reference: ref, Height: height}
	sup.Pending += amount // ≤ outstanding, which cannot overflow
	if sup.NextRedemption == math.MaxUint64 {
		return nil, ErrOverflow.Wrapf("redemption ids of %s exhausted", sym)
	}
	sup.NextRedemption++
	b, err := ledger.Encode(r)
	if err != nil {
		return nil, err
	}
	if err := kv.Set(ledgerName, redemptionKey(sym, r.ID), b); err != nil {
		return nil, err
	}
	if err := k.setSupply(kv, ledgerName, sym, sup); err != nil {
		return nil, err
	}
	if err := k.setBalance(kv, ledgerName, sym, holder, bal-amount); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventRedeem{Ledger: ledgerName, Asset: sym, From: r.Holder, Amount: amount,
		FromBalance: bal - amount, Id: r.ID, Reference: ref}), nil
}

// GetRedemption loads a queued redemption.
func (k Keeper) GetRedemption(kv Reader, ledgerName, sym string, id uint64) (Redemption, error) {
	var r Redemption
	b, err := kv.Get(ledgerName, redemptionKey(sym, id))
	if err != nil {
		return r, err
	}
	if b == nil {
		return r, ErrUnknownRedemption.Wrapf("no redemption %d of %s pending on ledger %s", id, sym, ledgerName)
	}
	return r, ledger.Decode(b, &r)
}

// SettleRedemption closes a queued redemption for the issuer: burned, or
// with reject returned to the holder.
func (k Keeper) SettleRedemption(kv ledger.KV, ledgerName string, sender gmcrypto.Address, sym string, id uint64, reject bool, reason string) ([]abci.Event, error) {
	if len(reason) > MaxReferenceLen {
		return nil, ErrInvalidAmount.Wrapf("reason of %d bytes, at most %d", len(reason), MaxReferenceLen)
	}
	a, err := k.movable(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	if err := k.auth.RequireRole(kv, sender, a.Issuer, "issuer", ledgerName+"/"+sym); err != nil {
		return nil, fmt.Errorf("settle redemption %d of %s on ledger %s: %w", id, sym, ledgerName, err)
	}
	r, err := k.GetRedemption(kv, ledgerName, sym, id)
	if err != nil {
		return nil, err
	}
	holder, err := gmcrypto.ParseAddress(r.Holder)
	if err != nil {
		return nil, fmt.Errorf("redemption %d of %s: holder %q: %w", id, sym, r.Holder, err)
	}
	sup, err := k.GetSupply(kv, ledgerName, sym)
	if err != nil {
		return nil, err
	}
	bal, err := k.Balance(kv, ledgerName, sym, holder)
	if err != nil {
		return nil, err
	}
	sup.Pending -= r.Amount
	if reject {
		bal += r.Amount // bal + pending ≤ outstanding: no overflow
		if err := k.setBalance(kv, ledgerName, sym, holder, bal); err != nil {
			return nil, err
		}
	} else {
		sup.Burned += r.Amount
	}
	if err := k.setSupply(kv, ledgerName, sym, sup); err != nil {
		return nil, err
	}
	if err := kv.Delete(ledgerName, redemptionKey(sym, id)); err != nil {
		return nil, err
	}
	if k.quiet {
		return nil, nil
	}
	holderOrg, err := k.auth.OrgOf(kv, holder)
	if err != nil {
		return nil, err
	}
	return k.event(&txpb.EventRedemptionSettled{Ledger: ledgerName, Asset: sym, Id: id, To: r.Holder, Amount: r.Amount,
		Rejected: reject, ToBalance: bal, Reason: reason, ToOrg: holderOrg}), nil
}

// Redemptions lists an asset's queue in id order.
func (k Keeper) Redemptions(kv Reader, ledgerName, sym string) ([]Redemption, error) {
	out := []Redemption{}
	var derr error
	p := redemptionPrefix(sym)
	err := kv.Iterate(ledgerName, p, ledger.PrefixEnd(p), func(_, v []byte) bool {
		var r Redemption
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

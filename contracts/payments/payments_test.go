package payments

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

const testLedger = "payments"

// allowAll lets every sender issue; rights are permission's concern.
type allowAll struct{}

func (allowAll) RequireRole(ledger.KV, gmcrypto.Address, string, string, string) error { return nil }
func (allowAll) RequirePayee(ledger.KV, gmcrypto.Address, string) (string, error) {
	return "bankB", nil
}
func (allowAll) OrgOf(ledger.KV, gmcrypto.Address) (string, error) { return "bankB", nil }

func dump(t *rapid.T, kv ledger.KV) []byte {
	var out []byte
	if err := kv.Iterate(testLedger, nil, nil, func(k, v []byte) bool {
		out = append(append(append(out, k...), 0), v...)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSupplyInvariantProperty drives random issue, transfer, move, burn,
// redemption, settlement and asset-update operations, some invalid, and
// checks after each one that
//   - per asset, sum of balances + pending redemptions == issued − burned;
//   - a failed operation changes nothing;
//   - balances match a simple model.
func TestSupplyInvariantProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		store, err := ledger.Open("", ledger.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if err := store.CreateLedger(testLedger); err != nil {
			t.Fatal(err)
		}
		k := NewKeeper(allowAll{})
		assets := []string{"CNY", "USD"}
		for _, a := range []Asset{{Symbol: "CNY", Issuer: "bankA", Redeemable: true, SupplyCap: 5000}, {Symbol: "USD", Issuer: "bankA"}} {
			if err := k.CreateAsset(store, testLedger, a); err != nil {
				t.Fatal(err)
			}
		}
		type queued struct {
			holder gmcrypto.Address
			amount uint64
		}
		pending := map[uint64]queued{}
		nextID := map[string]uint64{}
		var accounts []gmcrypto.Address
		for i := range 4 {
			var a gmcrypto.Address
			a[0] = byte(i + 1)
			accounts = append(accounts, a)
		}
		model := map[string]uint64{}
		key := func(asset string, a gmcrypto.Address) string { return asset + a.String() }
		amount := rapid.OneOf(rapid.Uint64Range(0, 1000), rapid.Uint64Range(math.MaxUint64-1000, math.MaxUint64))

		for range rapid.IntRange(1, 60).Draw(t, "ops") {
			asset := rapid.SampledFrom(append(assets, "EUR")).Draw(t, "asset")
			from := rapid.SampledFrom(accounts).Draw(t, "from")
			to := rapid.SampledFrom(accounts).Draw(t, "to")
			amt := amount.Draw(t, "amount")
			op := rapid.IntRange(0, 7).Draw(t, "op")
			id := rapid.Uint64Range(0, 5).Draw(t, "redemption")
			var upd AssetUpdate

			before := dump(t, store)
			c := ledger.NewCache(store)
			switch op {
			case 0:
				_, err = k.Issue(c, testLedger, from, asset, to[:], amt, "")
			case 1:
				_, err = k.Transfer(c, testLedger, from, asset, to[:], amt, "")
			case 7:
				_, err = k.Move(c, testLedger, from, asset, to, amt, "")
			case 2:
				_, err = k.Burn(c, testLedger, from, asset, amt, "")
			case 3:
				_, err = k.Redeem(c, testLedger, from, asset, amt, "ref", 1)
			case 4, 5:
				_, err = k.SettleRedemption(c, testLedger, from, asset, id, op == 5, "")
			case 6:
				if rapid.Bool().Draw(t, "set cap") {
					capv := rapid.Uint64Range(0, 6000).Draw(t, "cap")
					upd.SupplyCap = &capv
				}
				paused := rapid.Bool().Draw(t, "paused")
				upd.Paused = &paused
				_, err = k.UpdateAsset(c, testLedger, asset, upd)
			}
			if err != nil {
				c.Discard()
				if !bytes.Equal(before, dump(t, store)) {
					t.Fatalf("failed op %d changed state: %v", op, err)
				}
				var known bool
				for _, e := range []error{ErrUnknownAsset, ErrInvalidAmount, ErrInsufficientFunds, ErrOverflow,
					ErrSupplyCap, ErrAssetPaused, ErrNotRedeemable, ErrUnknownRedemption} {
					known = known || errors.Is(err, e)
				}
				if !known {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			if err := c.Write(); err != nil {
				t.Fatal(err)
			}
			switch op {
			case 0:
				model[key(asset, to)] += amt
			case 1, 7:
				model[key(asset, from)] -= amt
				model[key(asset, to)] += amt
			case 2:
				model[key(asset, from)] -= amt
			case 3:
				model[key(asset, from)] -= amt
				pending[nextID[asset]] = queued{from, amt}
				nextID[asset]++
			case 4, 5:
				q, ok := pending[id]
				if !ok || asset != "CNY" {
					t.Fatalf("settled redemption %d of %s that the model does not have", id, asset)
				}
				if op == 5 {
					model[key(asset, q.holder)] += q.amount
				}
				delete(pending, id)
			}
			sup, _ := k.GetSupply(store, testLedger, "CNY")
			if a, _ := k.GetAsset(store, testLedger, "CNY"); a.SupplyCap != 0 && sup.Outstanding() > a.SupplyCap {
				t.Fatalf("outstanding %d above the cap %d", sup.Outstanding(), a.SupplyCap)
			}
			res, err := k.CheckSupply(store, testLedger)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if !r.Holds {
					t.Fatalf("invariant broken: %+v", r)
				}
			}
			for _, a := range assets {
				for _, acc := range accounts {
					got, _ := k.Balance(store, testLedger, a, acc)
					if got != model[key(a, acc)] {
						t.Fatalf("balance %s of %s = %d, model %d", a, acc, got, model[key(a, acc)])
					}
				}
			}
		}
	})
}

func TestParseBalanceKey(t *testing.T) {
	var a gmcrypto.Address
	a[0], a[19] = 0xab, 0xcd
	sym, addr, ok := ParseBalanceKey(balanceKey("CNY", a))
	if !ok || sym != "CNY" || addr != a {
		t.Fatalf("ParseBalanceKey(balanceKey(CNY, a)) = %q %s %v", sym, addr, ok)
	}
	for _, k := range [][]byte{nil, []byte("b/"), balancePrefix("CNY"), append(balanceKey("CNY", a), 0), []byte("s/CNY"), append([]byte("b/\x00"), a[:]...)} {
		if _, _, ok := ParseBalanceKey(k); ok {
			t.Errorf("ParseBalanceKey(%q) accepted", k)
		}
	}
}

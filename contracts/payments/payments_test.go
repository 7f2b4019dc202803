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
func (allowAll) RequirePayee(ledger.KV, gmcrypto.Address, string) error                { return nil }

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

// TestSupplyInvariantProperty drives random issue, transfer and burn
// operations, some invalid, and checks after each one that
//   - per asset, sum of balances == issued − burned;
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
		for _, a := range assets {
			if err := k.CreateAsset(store, testLedger, Asset{Symbol: a, Issuer: "bankA"}); err != nil {
				t.Fatal(err)
			}
		}
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
			op := rapid.IntRange(0, 2).Draw(t, "op")

			before := dump(t, store)
			c := ledger.NewCache(store)
			switch op {
			case 0:
				_, err = k.Issue(c, testLedger, from, asset, to[:], amt)
			case 1:
				_, err = k.Transfer(c, testLedger, from, asset, to[:], amt)
			case 2:
				_, err = k.Burn(c, testLedger, from, asset, amt)
			}
			if err != nil {
				c.Discard()
				if !bytes.Equal(before, dump(t, store)) {
					t.Fatalf("failed op %d changed state: %v", op, err)
				}
				var known bool
				for _, e := range []error{ErrUnknownAsset, ErrInvalidAmount, ErrInsufficientFunds, ErrOverflow} {
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
			case 1:
				model[key(asset, from)] -= amt
				model[key(asset, to)] += amt
			case 2:
				model[key(asset, from)] -= amt
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

package payments

import (
	"bytes"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/movement"
)

// Completeness commitments (package movement): one per (asset, account)
// that ever held or moved the asset, next to its balance, under a key of
// its own so that balance reads stay 8 bytes:
//
//	c/<len(symbol)><symbol><addr> → movement.Commitment (chain 32 ‖ count 8 ‖ balance 8)

func commitmentPrefix(sym string) []byte {
	k := make([]byte, 0, 3+len(sym)+gmcrypto.AddressSize)
	k = append(k, 'c', '/', byte(len(sym)))
	return append(k, sym...)
}

// CommitmentKey is the state key of addr's commitment of sym in its
// sub-ledger's tree: what a state proof of the commitment proves.
func CommitmentKey(sym string, addr gmcrypto.Address) []byte {
	return append(commitmentPrefix(sym), addr[:]...)
}

// Commitment returns addr's completeness commitment of sym on ledgerName
// (the zero Commitment when the account never held or moved it).
func (k Keeper) Commitment(kv Reader, ledgerName, sym string, addr gmcrypto.Address) (movement.Commitment, error) {
	b, err := kv.Get(ledgerName, CommitmentKey(sym, addr))
	if err != nil || b == nil {
		return movement.Commitment{}, err
	}
	c, err := movement.DecodeCommitment(b)
	if err != nil {
		return c, fmt.Errorf("commitment of %s/%s/%s: %w", ledgerName, sym, addr, err)
	}
	return c, nil
}

// RecordMovement folds m into its account's commitment. The app calls it
// for every movement of an executed transaction (movement.FromEvents),
// in order, before the transaction's writes are kept.
func (k Keeper) RecordMovement(kv ledger.KV, m movement.Movement) error {
	addr, err := gmcrypto.ParseAddress(m.Account)
	if err != nil {
		return fmt.Errorf("movement of height %d tx %s: %w", m.Height, m.TxID, err)
	}
	c, err := k.Commitment(kv, m.Ledger, m.Asset, addr)
	if err != nil {
		return err
	}
	if c, err = c.Next(m); err != nil {
		return fmt.Errorf("movement of height %d tx %s: %w", m.Height, m.TxID, err)
	}
	return kv.Set(m.Ledger, CommitmentKey(m.Asset, addr), c.Encode())
}

// OpenCommitment sets the commitment of an account funded in the genesis:
// no movement yet (count 0, zero chain), its genesis balance. Genesis
// calls it after minting the account's genesis balances.
func (k Keeper) OpenCommitment(kv ledger.KV, ledgerName, sym string, addr gmcrypto.Address) error {
	bal, err := k.Balance(kv, ledgerName, sym, addr)
	if err != nil {
		return err
	}
	c, err := k.Commitment(kv, ledgerName, sym, addr)
	if err != nil {
		return err
	}
	if c.Count != 0 {
		return fmt.Errorf("open commitment of %s/%s/%s: it has %d movements", ledgerName, sym, addr, c.Count)
	}
	c.Balance = bal
	return kv.Set(ledgerName, CommitmentKey(sym, addr), c.Encode())
}

// CommitmentResult is the completeness check of one asset: every account
// holding it has a commitment, and every commitment's balance is the
// account's balance, so no balance changed without a committed movement.
type CommitmentResult struct {
	Ledger    string `json:"ledger"`
	Asset     string `json:"asset"`
	Accounts  int    `json:"accounts"`         // commitments kept
	Movements uint64 `json:"movements,string"` // their counts summed
	// Mismatches counts accounts whose balance differs from their
	// commitment's, or that hold a balance and have none; First names
	// the first of them.
	Mismatches int    `json:"mismatches"`
	First      string `json:"first_mismatch,omitempty"`
	Holds      bool   `json:"holds"`
}

// CheckCommitments runs the completeness check over every asset of a
// ledger: the balance and commitment keys of an asset are both in account
// order, so one merge of the two sorted lists compares them.
func (k Keeper) CheckCommitments(kv Reader, ledgerName string) ([]CommitmentResult, error) {
	assets, err := k.Assets(kv, ledgerName)
	if err != nil {
		return nil, err
	}
	out := make([]CommitmentResult, 0, len(assets))
	for _, a := range assets {
		type entry struct {
			addr []byte
			bal  uint64
		}
		var bals []entry
		if err := k.IterateBalances(kv, ledgerName, a.Symbol, func(addr gmcrypto.Address, amount uint64) bool {
			bals = append(bals, entry{append([]byte(nil), addr[:]...), amount})
			return true
		}); err != nil {
			return nil, err
		}
		r := CommitmentResult{Ledger: ledgerName, Asset: a.Symbol}
		mismatch := func(addr []byte) {
			if r.Mismatches == 0 {
				r.First = fmt.Sprintf("%x", addr)
			}
			r.Mismatches++
		}
		p := commitmentPrefix(a.Symbol)
		i := 0
		var derr error
		err := kv.Iterate(ledgerName, p, prefixEnd(p), func(key, v []byte) bool {
			addr := key[len(p):]
			c, err := movement.DecodeCommitment(v)
			if err != nil || len(addr) != gmcrypto.AddressSize {
				derr = fmt.Errorf("commitment record %x of %s/%s: %v", key, ledgerName, a.Symbol, err)
				return false
			}
			r.Accounts++
			r.Movements += c.Count
			for ; i < len(bals) && bytes.Compare(bals[i].addr, addr) < 0; i++ {
				mismatch(bals[i].addr) // a balance without a commitment
			}
			var bal uint64
			if i < len(bals) && bytes.Equal(bals[i].addr, addr) {
				bal = bals[i].bal
				i++
			}
			if bal != c.Balance {
				mismatch(addr)
			}
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, err
		}
		for ; i < len(bals); i++ {
			mismatch(bals[i].addr)
		}
		r.Holds = r.Mismatches == 0
		out = append(out, r)
	}
	return out, nil
}

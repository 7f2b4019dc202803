package payments

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/movement"
)

// Completeness commitments (package movement) live in the balance record
// of each (asset, account) that moved or was funded in the genesis:
//
//	b/<len(symbol)><symbol><addr> → be64(balance) ‖ movement.Commitment
//	                                (chain 32 ‖ be64(count) ‖ be64(balance after the last movement))
//
// so that a movement costs its account one SM3 and no state key of its
// own: the record the transfer writes anyway carries it (docs/adr/0014).
// A record of 8 bytes is a balance without a commitment, which only a
// balance changed without a recorded movement leaves (CheckCommitments).

// balanceRecordSize is the length of a balance record with its commitment.
const balanceRecordSize = 8 + movement.CommitmentSize

// ErrBadBalanceRecord: a balance record (as a state proof delivers it)
// that does not decode.
var ErrBadBalanceRecord = errors.New("malformed balance record")

// BalanceKey is the state key of addr's balance record of sym in its
// sub-ledger's tree: what a state proof of the balance and its
// completeness commitment proves.
func BalanceKey(sym string, addr gmcrypto.Address) []byte { return balanceKey(sym, addr) }

// DecodeBalanceRecord reads a balance record: the balance and, when the
// record carries one, the completeness commitment (ok false for an 8-byte
// record). An absent record (nil) is a zero balance with no commitment.
func DecodeBalanceRecord(b []byte) (balance uint64, c movement.Commitment, ok bool, err error) {
	switch len(b) {
	case 0:
		if b == nil {
			return 0, c, false, nil
		}
	case 8:
		return binary.BigEndian.Uint64(b), c, false, nil
	case balanceRecordSize:
		c, err := movement.DecodeCommitment(b[8:])
		if err != nil {
			return 0, c, false, fmt.Errorf("%w: %v", ErrBadBalanceRecord, err)
		}
		return binary.BigEndian.Uint64(b), c, true, nil
	}
	return 0, c, false, fmt.Errorf("%w: %d bytes, want 8 or %d", ErrBadBalanceRecord, len(b), balanceRecordSize)
}

// Commitment returns addr's completeness commitment of sym on ledgerName
// (the zero Commitment when the account never held or moved it).
func (k Keeper) Commitment(kv Reader, ledgerName, sym string, addr gmcrypto.Address) (movement.Commitment, error) {
	b, err := ledger.Peek(kv, ledgerName, balanceKey(sym, addr))
	if err != nil {
		return movement.Commitment{}, err
	}
	_, c, _, err := DecodeBalanceRecord(b)
	if err != nil {
		return c, fmt.Errorf("balance record of %s/%s/%s: %w", ledgerName, sym, addr, err)
	}
	return c, nil
}

// RecordMovement folds m into its account's commitment. The app calls it
// for every movement of an executed transaction (movement.FromEvents),
// in order, before the transaction's writes are kept; the balance the
// contract wrote stays as it is.
func (k Keeper) RecordMovement(kv ledger.KV, m movement.Movement) error {
	addr, err := gmcrypto.ParseAddress(m.Account)
	if err != nil {
		return fmt.Errorf("movement of height %d tx %s: %w", m.Height, m.TxID, err)
	}
	key := balanceKey(m.Asset, addr)
	b, err := ledger.Peek(kv, m.Ledger, key)
	if err != nil {
		return err
	}
	bal, c, _, err := DecodeBalanceRecord(b)
	if err != nil {
		return fmt.Errorf("balance record of %s/%s/%s: %w", m.Ledger, m.Asset, addr, err)
	}
	if c, err = c.Next(m); err != nil {
		return fmt.Errorf("movement of height %d tx %s: %w", m.Height, m.TxID, err)
	}
	return kv.Set(m.Ledger, key, encodeBalanceRecord(bal, c))
}

func encodeBalanceRecord(bal uint64, c movement.Commitment) []byte {
	return c.AppendEncode(binary.BigEndian.AppendUint64(make([]byte, 0, balanceRecordSize), bal))
}

// OpenCommitment gives an account funded in the genesis its commitment:
// no movement yet (count 0, zero chain), its genesis balance. Genesis
// calls it after minting the account's genesis balances.
func (k Keeper) OpenCommitment(kv ledger.KV, ledgerName, sym string, addr gmcrypto.Address) error {
	key := balanceKey(sym, addr)
	b, err := kv.Get(ledgerName, key)
	if err != nil {
		return err
	}
	bal, c, _, err := DecodeBalanceRecord(b)
	if err != nil {
		return err
	}
	if c.Count != 0 {
		return fmt.Errorf("open commitment of %s/%s/%s: it has %d movements", ledgerName, sym, addr, c.Count)
	}
	c.Balance = bal
	return kv.Set(ledgerName, key, encodeBalanceRecord(bal, c))
}

// CommitmentResult is the completeness check of one asset: every balance
// record carries a commitment whose balance is the record's, so no
// balance changed without a committed movement.
type CommitmentResult struct {
	Ledger    string `json:"ledger"`
	Asset     string `json:"asset"`
	Accounts  int    `json:"accounts"`         // records with a commitment
	Movements uint64 `json:"movements,string"` // their counts summed
	// Mismatches counts records whose balance differs from their
	// commitment's, or that carry none; First names the first of them.
	Mismatches int    `json:"mismatches"`
	First      string `json:"first_mismatch,omitempty"`
	Holds      bool   `json:"holds"`
}

// CheckCommitments runs the completeness check over every asset of a
// ledger.
func (k Keeper) CheckCommitments(kv Reader, ledgerName string) ([]CommitmentResult, error) {
	assets, err := k.Assets(kv, ledgerName)
	if err != nil {
		return nil, err
	}
	out := make([]CommitmentResult, 0, len(assets))
	for _, a := range assets {
		r := CommitmentResult{Ledger: ledgerName, Asset: a.Symbol}
		p := balancePrefix(a.Symbol)
		var derr error
		err := kv.Iterate(ledgerName, p, ledger.PrefixEnd(p), func(key, v []byte) bool {
			bal, c, ok, err := DecodeBalanceRecord(v)
			if err != nil || len(key) != len(p)+gmcrypto.AddressSize {
				derr = fmt.Errorf("balance record %x of %s/%s: %v", key, ledgerName, a.Symbol, err)
				return false
			}
			if ok {
				r.Accounts++
				r.Movements += c.Count
			}
			if !ok || c.Balance != bal {
				if r.Mismatches == 0 {
					r.First = fmt.Sprintf("%x", key[len(p):])
				}
				r.Mismatches++
			}
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, err
		}
		r.Holds = r.Mismatches == 0
		out = append(out, r)
	}
	return out, nil
}

package movement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
)

// What Verify finds wrong with a list of movements. Each names one way a
// list can differ from what the chain committed; Verify wraps it with the
// movement's position.
var (
	// ErrForeign: a movement of another account, asset or sub-ledger.
	ErrForeign = errors.New("movement of another account")
	// ErrOutOfRange: a movement outside the heights the list covers.
	ErrOutOfRange = errors.New("movement outside the height range")
	// ErrOrder: movements not in chain order (height, transaction,
	// event), or one listed twice.
	ErrOrder = errors.New("movements out of chain order")
	// ErrCount: the list has more or fewer movements than the commitments
	// count between its ends (one dropped or added).
	ErrCount = errors.New("movement count differs from the commitments")
	// ErrBalance: a movement's balance after it does not follow from the
	// balance before it and its amount, or the last one is not the
	// committed balance.
	ErrBalance = errors.New("balances do not follow the movements")
	// ErrChain: the list does not reproduce the committed chain (a
	// movement altered, replaced or reordered within its position).
	ErrChain = errors.New("movements do not reproduce the committed chain")
	// ErrRange: the heights or commitments given as the ends are not a
	// range (from after to, a count that went down).
	ErrRange = errors.New("invalid range")
)

// Verify checks that ms is every movement of acct at heights fromHeight..
// toHeight (both included), in chain order, given the account's committed
// commitment after fromHeight−1 (from) and after toHeight (to): trusted
// values, such as state proofs against the app hashes of those heights
// deliver. A nil error means the list is complete and unaltered (up to an
// SM3 collision): a movement absent from it did not happen in the range.
func Verify(acct Account, fromHeight, toHeight int64, from, to Commitment, ms []Movement) error {
	switch {
	case fromHeight < 1 || toHeight < fromHeight:
		return fmt.Errorf("%w: heights %d..%d", ErrRange, fromHeight, toHeight)
	case to.Count < from.Count:
		return fmt.Errorf("%w: count %d at height %d is below %d at height %d", ErrRange, to.Count, toHeight, from.Count, fromHeight-1)
	}
	for i, m := range ms {
		if m.Of() != acct {
			return fmt.Errorf("%w: movement %d (height %d) is of %s, the list is of %s", ErrForeign, i, m.Height, m.Of(), acct)
		}
		if m.Height < fromHeight || m.Height > toHeight {
			return fmt.Errorf("%w: movement %d is at height %d, the list covers %d..%d", ErrOutOfRange, i, m.Height, fromHeight, toHeight)
		}
		if i > 0 && !follows(ms[i-1], m) {
			p := ms[i-1]
			return fmt.Errorf("%w: movement %d (height %d tx %d event %d %s) does not follow movement %d (height %d tx %d event %d %s)",
				ErrOrder, i, m.Height, m.TxIndex, m.Event, m.Direction, i-1, p.Height, p.TxIndex, p.Event, p.Direction)
		}
	}
	if want := to.Count - from.Count; uint64(len(ms)) != want {
		return fmt.Errorf("%w: %d listed, %d committed between height %d (count %d) and height %d (count %d)",
			ErrCount, len(ms), want, fromHeight-1, from.Count, toHeight, to.Count)
	}
	bal := from.Balance
	for i, m := range ms {
		want, ok := balanceAfter(bal, m)
		if !ok || m.BalanceAfter != want {
			return fmt.Errorf("%w: movement %d (height %d, %s %d) leaves %d after %d; it says %d", ErrBalance, i, m.Height, m.Direction, m.Amount, want, bal, m.BalanceAfter)
		}
		bal = want
	}
	if bal != to.Balance {
		return fmt.Errorf("%w: the movements end at balance %d, the commitment at height %d holds %d", ErrBalance, bal, toHeight, to.Balance)
	}
	got, err := Replay(from, ms)
	if err != nil {
		return err
	}
	if got.Chain != to.Chain {
		return fmt.Errorf("%w: the list gives %x, height %d committed %x", ErrChain, got.Chain, toHeight, to.Chain)
	}
	return nil
}

// follows: b comes after a in chain order. Only a transfer to oneself has
// two movements at one position: its debit, then its credit.
func follows(a, b Movement) bool {
	if c := cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.TxIndex, b.TxIndex), cmp.Compare(a.Event, b.Event)); c != 0 {
		return c < 0
	}
	return a.selfTransfer() && b.selfTransfer() && a.Direction == Debit && b.Direction == Credit
}

// balanceAfter is what m leaves of bal; false when it cannot happen.
func balanceAfter(bal uint64, m Movement) (uint64, bool) {
	switch {
	case m.selfTransfer():
		return bal, m.Amount <= bal
	case m.Direction == Debit:
		return bal - m.Amount, m.Amount <= bal
	case m.Direction == Credit:
		return bal + m.Amount, bal <= math.MaxUint64-m.Amount
	}
	return bal, false
}

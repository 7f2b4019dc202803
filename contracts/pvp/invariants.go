package pvp

import (
	"fmt"

	"github.com/jinlian-ledger/jinlian/ledger"
)

// InvariantResult is the check of one trade.
type InvariantResult struct {
	Trade  string `json:"trade"`
	Status string `json:"status"`
	Holds  bool   `json:"holds"`
	// Problem names the first broken rule, if any.
	Problem string `json:"problem,omitempty"`
}

// CheckTrades verifies, for every trade, that no state has one leg moved
// and the other not:
//   - an open trade's escrows hold exactly its funded legs (a funded leg's
//     amount, an unfunded leg's 0); an open trade without a value height
//     is never fully funded (the second funding settles it);
//   - a settled trade had both legs funded and both escrows are empty;
//   - a refunded trade's escrows are empty;
//   - no escrow is left a payee (pv/e/ keys live within a funding only).
//
// The payments supply invariant covers the balances themselves.
func (k Keeper) CheckTrades(kv ledger.Reader) ([]InvariantResult, error) {
	trades, err := k.Trades(kv)
	if err != nil {
		return nil, err
	}
	out := make([]InvariantResult, 0, len(trades))
	for _, t := range trades {
		r := InvariantResult{Trade: t.ID, Status: t.Status}
		r.Problem, err = k.tradeProblem(kv, t)
		if err != nil {
			return nil, err
		}
		r.Holds = r.Problem == ""
		out = append(out, r)
	}
	return out, nil
}

func (k Keeper) tradeProblem(kv ledger.Reader, t Trade) (string, error) {
	for _, l := range []Leg{t.A, t.B} {
		esc, err := EscrowAddress(l.Ledger, t.ID)
		if err != nil || esc.String() != l.Escrow {
			return fmt.Sprintf("escrow %s of ledger %s is not the trade's", l.Escrow, l.Ledger), nil
		}
		bal, err := k.bank.Balance(kv, l.Ledger, l.Asset, esc)
		if err != nil {
			return "", err
		}
		want := uint64(0)
		if t.Status == StatusOpen && l.Funded {
			want = l.Amount
		}
		if bal != want {
			return fmt.Sprintf("escrow %s holds %d %s on %s, want %d (status %s, funded %t)", l.Escrow, bal, l.Asset, l.Ledger, want, t.Status, l.Funded), nil
		}
		if ok, err := IsEscrow(kv, l.Ledger, esc); err != nil {
			return "", err
		} else if ok {
			return fmt.Sprintf("escrow %s is left a payee of %s", l.Escrow, l.Ledger), nil
		}
	}
	switch t.Status {
	case StatusSettled:
		if !t.A.Funded || !t.B.Funded {
			return "settled with a leg unfunded", nil
		}
	case StatusOpen:
		if t.A.Funded && t.B.Funded && t.ValueHeight == 0 {
			return "fully funded but not settled", nil
		}
	case StatusRefunded:
	default:
		return fmt.Sprintf("status %q", t.Status), nil
	}
	return "", nil
}

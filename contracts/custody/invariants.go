package custody

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// InvariantResult is the check of one custody account.
type InvariantResult struct {
	Ledger  string `json:"ledger"`
	Account string `json:"account"`
	Pending int    `json:"pending_proposals"`
	Holds   bool   `json:"holds"`
	// Problem names the first broken rule, if any.
	Problem string `json:"problem,omitempty"`
}

// CheckAccounts verifies, for every custody account of a ledger, that
//   - its signers are 1 to MaxSigners distinct addresses, sorted, and
//     1 ≤ threshold ≤ their number; time lock < expiry ≤ MaxExpiryBlocks;
//   - it has at most MaxPending pending proposals, each with an id below
//     the account's next id, approved by at least one and only by distinct
//     current signers, marked ready exactly when it has threshold
//     approvals, and never ready on an account without a time lock (such
//     a proposal executes on the approval that makes it ready);
//   - what it paid today of an asset with a daily limit is within it.
//
// The payments supply invariant covers the accounts' balances.
func (k Keeper) CheckAccounts(kv ledger.Reader, ledgerName string) ([]InvariantResult, error) {
	accounts, err := k.Accounts(kv, ledgerName)
	if err != nil {
		return nil, err
	}
	out := make([]InvariantResult, 0, len(accounts))
	for _, a := range accounts {
		addr, err := gmcrypto.ParseAddress(a.Address)
		if err != nil {
			return nil, fmt.Errorf("custody account %q on ledger %s: %w", a.Address, ledgerName, err)
		}
		ps, err := k.Proposals(kv, ledgerName, addr)
		if err != nil {
			return nil, err
		}
		r := InvariantResult{Ledger: ledgerName, Account: a.Address, Pending: len(ps)}
		r.Problem = k.accountProblem(kv, a, addr, ps)
		r.Holds = r.Problem == ""
		out = append(out, r)
	}
	return out, nil
}

func (k Keeper) accountProblem(kv ledger.Reader, a Account, addr gmcrypto.Address, ps []Proposal) string {
	n := len(a.Signers)
	switch {
	case n == 0 || n > MaxSigners:
		return fmt.Sprintf("%d signers", n)
	case !slices.IsSorted(a.Signers) || len(slices.Compact(slices.Clone(a.Signers))) != n:
		return "signers not sorted and distinct"
	case a.Threshold == 0 || int(a.Threshold) > n:
		return fmt.Sprintf("threshold %d of %d signers", a.Threshold, n)
	case a.TimelockBlocks >= a.ExpiryBlocks || a.ExpiryBlocks > MaxExpiryBlocks:
		return fmt.Sprintf("time lock %d, expiry %d", a.TimelockBlocks, a.ExpiryBlocks)
	case len(ps) > MaxPending:
		return fmt.Sprintf("%d pending proposals", len(ps))
	}
	for _, s := range a.Signers {
		if _, err := gmcrypto.ParseAddress(s); err != nil {
			return fmt.Sprintf("signer %q: %v", s, err)
		}
	}
	for _, p := range ps {
		approvals := len(p.Approvals)
		switch {
		case p.Account != a.Address || p.ID == 0 || p.ID >= a.NextProposal:
			return fmt.Sprintf("proposal %d (account %s) out of place (next id %d)", p.ID, p.Account, a.NextProposal)
		case approvals == 0:
			return fmt.Sprintf("proposal %d has no approval", p.ID)
		case len(slices.Compact(slices.Sorted(slices.Values(p.Approvals)))) != approvals:
			return fmt.Sprintf("proposal %d counts a signer twice", p.ID)
		case (p.ReadyHeight != 0) != (approvals >= int(a.Threshold)):
			return fmt.Sprintf("proposal %d: %d of %d approvals, ready at height %d", p.ID, approvals, a.Threshold, p.ReadyHeight)
		case p.ReadyHeight != 0 && a.TimelockBlocks == 0:
			return fmt.Sprintf("proposal %d is approved on an account without a time lock but did not execute", p.ID)
		}
		for _, s := range p.Approvals {
			if !a.IsSigner(s) {
				return fmt.Sprintf("proposal %d approved by %s, not a signer", p.ID, s)
			}
		}
	}
	for _, l := range a.DailyLimits {
		b, err := kv.Get(a.Ledger, spentKey(addr, l.Asset))
		if err != nil {
			return err.Error()
		}
		if b != nil && (len(b) != 16 || binary.BigEndian.Uint64(b[8:]) > l.Amount) {
			return fmt.Sprintf("paid %x of %s in a day, limit %d", b, l.Asset, l.Amount)
		}
	}
	return ""
}

package proof

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
)

// CompletenessReport is a proven list: Count movements of the account's
// asset at heights FromHeight..ToHeight, and nothing else moved it there.
type CompletenessReport struct {
	Ledger        string `json:"ledger"`
	Asset         string `json:"asset"`
	Account       string `json:"account"`
	FromHeight    int64  `json:"from_height"`
	ToHeight      int64  `json:"to_height"`
	Count         int    `json:"movements"`
	BalanceBefore uint64 `json:"balance_before,string"`
	BalanceAfter  uint64 `json:"balance_after,string"`
}

// verifyCompleteness checks a completeness bundle whose envelope (the
// state at to_height) Verify has checked: the state bundle of from−1
// against the same trust, that both prove the account's balance record,
// and that the movements carry one commitment to the other.
func verifyCompleteness(b *Bundle, t Trust) (CompletenessReport, error) {
	c := b.Completeness
	rep := CompletenessReport{Ledger: c.Ledger, Asset: c.Asset, Account: c.Account, FromHeight: c.FromHeight, ToHeight: c.ToHeight,
		Count: len(c.Movements)}
	addr, err := gmcrypto.ParseAddress(c.Account)
	if err != nil {
		return rep, malformed("completeness.account", "%v", err)
	}
	if c.Before != nil {
		if c.Before.ChainID != b.ChainID {
			return rep, fmt.Errorf("%w: completeness.before: chain_id %q, the bundle's is %q", ErrChain, c.Before.ChainID, b.ChainID)
		}
		if _, err := Verify(c.Before, t); err != nil {
			return rep, fmt.Errorf("completeness.before: %w", err)
		}
	}
	key := payments.BalanceKey(c.Asset, addr)
	record := func(field string, e Entry) (movement.Commitment, error) {
		if e.Ledger != c.Ledger || !bytes.Equal(e.Key, key) {
			return movement.Commitment{}, fmt.Errorf("%w: %s proves %s/%X, not the balance record of %s %s on %s",
				ErrCompleteness, field, e.Ledger, []byte(e.Key), c.Account, c.Asset, c.Ledger)
		}
		_, com, ok, err := payments.DecodeBalanceRecord(e.Value)
		if err != nil {
			return com, fmt.Errorf("%w: %s: %v", ErrCompleteness, field, err)
		}
		if e.Value != nil && !ok {
			return com, fmt.Errorf("%w: %s: the balance record carries no completeness commitment (written before commitments)", ErrCompleteness, field)
		}
		return com, nil
	}
	var before movement.Commitment
	if c.Before != nil {
		before, err = record("completeness.before.state.entries[0]", c.Before.State.Entries[0])
	} else {
		before, err = genesisCommitment(t, c.Ledger, c.Asset, addr)
	}
	if err != nil {
		return rep, err
	}
	after, err := record("state.entries[0]", b.State.Entries[0])
	if err != nil {
		return rep, err
	}
	acct := movement.Account{Ledger: c.Ledger, Asset: c.Asset, Address: addr.String()}
	if err := movement.Verify(acct, c.FromHeight, c.ToHeight, before, after, c.Movements); err != nil {
		return rep, fmt.Errorf("%w: completeness.movements: %w", ErrCompleteness, err)
	}
	rep.BalanceBefore, rep.BalanceAfter = before.Balance, after.Balance
	return rep, nil
}

// genesisCommitment is the commitment the genesis opens an account's
// record with (app's genesis: the opening balance, no movement), read from
// the trusted genesis: the state before height 1 has no quorum
// certificate, and the genesis file is what it was made from.
func genesisCommitment(t Trust, ledgerName, asset string, addr gmcrypto.Address) (movement.Commitment, error) {
	if t.Genesis == nil {
		return movement.Commitment{}, fmt.Errorf("%w: a completeness bundle from height 1 starts from the genesis's opening balances: trust the genesis file (--trust genesis.json)", ErrTrust)
	}
	g, err := app.DecodeGenesis(t.Genesis.AppState)
	if err != nil {
		return movement.Commitment{}, fmt.Errorf("%w: the trusted genesis's app_state: %v", ErrTrust, err)
	}
	var open movement.Commitment
	for _, l := range g.Ledgers {
		if l.Name != ledgerName {
			continue
		}
		for _, b := range l.Balances {
			if a, err := gmcrypto.ParseAddress(b.Account); err == nil && a == addr && b.Asset == asset {
				if open.Balance+b.Amount < open.Balance {
					return open, fmt.Errorf("%w: the genesis's opening balances of %s %s overflow", ErrTrust, addr, asset)
				}
				open.Balance += b.Amount
			}
		}
	}
	return open, nil
}

// Completeness builds a completeness bundle: the account's balance record
// proven at from−1 (from 1: none, the verifier reads the genesis) and at
// to (0: StateHeight), and ms, the movements the
// caller listed for the range (recon.AccountMovements, or the node's
// event feed). The bundle is not checked here: Verify finds a list that
// is not complete.
func (s Source) Completeness(ctx context.Context, ledgerName, asset string, account gmcrypto.Address, from, to int64, ms []movement.Movement) (*Bundle, error) {
	if to == 0 {
		var err error
		if to, err = s.StateHeight(ctx); err != nil {
			return nil, err
		}
	}
	if from < 1 || to < from {
		return nil, &ErrRange{From: from, To: to}
	}
	keys := []Key{{Ledger: ledgerName, Key: payments.BalanceKey(asset, account)}}
	after, err := s.State(ctx, to, keys)
	if err != nil {
		return nil, err
	}
	var before *Bundle
	if from > 1 {
		if before, err = s.State(ctx, from-1, keys); err != nil {
			return nil, err
		}
	}
	if ms == nil {
		ms = []movement.Movement{}
	}
	after.Kind = KindCompleteness
	after.Completeness = &Completeness{Ledger: ledgerName, Asset: asset, Account: account.String(), FromHeight: from, ToHeight: to,
		Before: before, Movements: ms}
	return after, nil
}

// ErrRange is a height range of an account's movements that is not one:
// want 1 ≤ From ≤ To.
type ErrRange struct{ From, To int64 }

func (e *ErrRange) Error() string {
	return fmt.Sprintf("heights %d..%d: want 1 ≤ from ≤ to", e.From, e.To)
}

// MovementLister lists an account's movements at heights from..to, as
// its caller may read them: api.Node.Movements with the caller's client
// (proof does not import api; the CLI and the console hand it in).
type MovementLister func(ctx context.Context, acct movement.Account, from, to int64) ([]movement.Movement, error)

// AccountMovements is an account's movements over a height range and,
// when asked, the completeness bundle proving the list.
type AccountMovements struct {
	Account    movement.Account
	FromHeight int64
	ToHeight   int64
	Movements  []movement.Movement
	Bundle     *Bundle // nil unless asked
}

// ListMovements is what `jinlian query movements [--prove]` and the web
// console's completeness download do: the range from..to (to 0: the
// latest height with a quorum certificate, StateHeight; an *ErrRange
// unless 1 ≤ from ≤ to), the account's movements there listed by list,
// and with prove their completeness bundle (Completeness).
func (s Source) ListMovements(ctx context.Context, acct movement.Account, from, to int64, list MovementLister, prove bool) (AccountMovements, error) {
	addr, err := gmcrypto.ParseAddress(acct.Address)
	if err != nil {
		return AccountMovements{}, fmt.Errorf("account %q: %w", acct.Address, err)
	}
	acct.Address = addr.String()
	if to == 0 {
		if to, err = s.StateHeight(ctx); err != nil {
			return AccountMovements{}, err
		}
	}
	if from < 1 || to < from {
		return AccountMovements{}, &ErrRange{From: from, To: to}
	}
	out := AccountMovements{Account: acct, FromHeight: from, ToHeight: to}
	if out.Movements, err = list(ctx, acct, from, to); err != nil {
		return out, err
	}
	if prove {
		if out.Bundle, err = s.Completeness(ctx, acct.Ledger, acct.Asset, addr, from, to, out.Movements); err != nil {
			return out, err
		}
	}
	return out, nil
}

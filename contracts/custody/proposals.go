package custody

import (
	"fmt"
	"math"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// Propose opens a payment out of a custody account for one of its signers
// and counts it as the signer's approval.
func (k Keeper) Propose(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.CustodyPropose) ([]abci.Event, error) {
	a, addr, err := k.signerAccount(kv, ledgerName, m.Account, sender)
	if err != nil {
		return nil, err
	}
	if m.Amount == 0 {
		return nil, ErrInvalidProposal.Wrapf("amount must be positive")
	}
	if err := checkMemo("memo", m.Memo); err != nil {
		return nil, err
	}
	to, err := gmcrypto.AddressFromBytes(m.To)
	if err != nil {
		return nil, ErrInvalidProposal.Wrapf("recipient: %v", err)
	}
	if to == addr {
		return nil, ErrInvalidProposal.Wrapf("custody account %s would pay itself", addr)
	}
	if err := k.bank.RequireAsset(kv, ledgerName, m.Asset); err != nil {
		return nil, err
	}
	if _, err := k.reg.RequirePayee(kv, to, ledgerName); err != nil {
		return nil, fmt.Errorf("custody proposal: %w", err)
	}
	if l, ok := a.Limit(m.Asset); ok && m.Amount > l {
		return nil, ErrDailyLimit.Wrapf("%d %s is above custody account %s's daily limit of %d: it could never execute", m.Amount, m.Asset, addr, l)
	}
	return k.open(kv, env, &a, addr, Proposal{Kind: KindTransfer, Proposer: sender.String(),
		Asset: m.Asset, To: to.String(), Amount: m.Amount, Memo: m.Memo})
}

// SetSigners opens a change of a custody account's signers and threshold
// for one of its signers, and counts it as the signer's approval.
func (k Keeper) SetSigners(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.CustodySetSigners) ([]abci.Event, error) {
	a, addr, err := k.signerAccount(kv, ledgerName, m.Account, sender)
	if err != nil {
		return nil, err
	}
	if err := checkMemo("memo", m.Memo); err != nil {
		return nil, err
	}
	signers, err := k.signerSet(kv, ledgerName, m.Signers, m.Threshold)
	if err != nil {
		return nil, err
	}
	if m.Threshold == a.Threshold && strings.Join(signers, ",") == strings.Join(a.Signers, ",") {
		return nil, ErrInvalidProposal.Wrapf("custody account %s already has these signers and threshold %d", addr, a.Threshold)
	}
	return k.open(kv, env, &a, addr, Proposal{Kind: KindSetSigners, Proposer: sender.String(),
		Signers: signers, Threshold: m.Threshold, Memo: m.Memo})
}

// open stores p as the account's next proposal, after removing the
// account's expired proposals, and approves it for its proposer.
func (k Keeper) open(kv ledger.KV, env Env, a *Account, addr gmcrypto.Address, p Proposal) ([]abci.Event, error) {
	pending, err := k.Proposals(kv, a.Ledger, addr)
	if err != nil {
		return nil, err
	}
	var events []abci.Event
	live := 0
	for _, q := range pending {
		if env.Height < q.ExpiryHeight {
			live++
			continue
		}
		if err := kv.Delete(a.Ledger, proposalKey(addr, q.ID)); err != nil {
			return nil, err
		}
		events = append(events, k.event(&txpb.EventCustodyClosed{Ledger: a.Ledger, Account: a.Address, Proposal: q.ID,
			Status: StatusExpired, Reason: fmt.Sprintf("expired at height %d", q.ExpiryHeight)})...)
	}
	if live >= MaxPending {
		return nil, ErrTooManyProposals.Wrapf("custody account %s has %d pending proposals, at most %d: approve, execute or veto some first", addr, live, MaxPending)
	}
	if a.NextProposal == math.MaxUint64 {
		return nil, ErrTooManyProposals.Wrapf("custody account %s has used every proposal id", addr)
	}
	p.Account, p.ID, p.Height = a.Address, a.NextProposal, env.Height
	p.ExpiryHeight = env.Height + int64(a.ExpiryBlocks)
	p.Approvals = []string{}
	a.NextProposal++
	if err := k.setAccount(kv, *a); err != nil {
		return nil, err
	}
	events = append(events, k.event(&txpb.EventCustodyProposed{Ledger: a.Ledger, Account: a.Address, Proposal: p.ID,
		Kind: p.Kind, Proposer: p.Proposer, Asset: p.Asset, To: p.To, Amount: p.Amount,
		Signers: strings.Join(p.Signers, ","), Threshold: p.Threshold, ExpiryHeight: p.ExpiryHeight, Memo: p.Memo})...)
	more, err := k.approve(kv, env, a, addr, p, p.Proposer)
	return append(events, more...), err
}

// Approve records a signer's approval of a pending proposal; the approval
// that reaches the threshold executes it when the account has no time lock.
func (k Keeper) Approve(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.CustodyApprove) ([]abci.Event, error) {
	a, addr, err := k.signerAccount(kv, ledgerName, m.Account, sender)
	if err != nil {
		return nil, err
	}
	p, err := k.GetProposal(kv, ledgerName, addr, m.Proposal)
	if err != nil {
		return nil, err
	}
	if env.Height >= p.ExpiryHeight {
		return nil, ErrProposalExpired.Wrapf("proposal %d of custody account %s expired at height %d", p.ID, addr, p.ExpiryHeight)
	}
	if p.approvedBy(sender.String()) {
		return nil, ErrAlreadyApproved.Wrapf("%s already approved proposal %d of custody account %s: each signer approves once (%d of %d approvals)",
			sender, p.ID, addr, len(p.Approvals), a.Threshold)
	}
	return k.approve(kv, env, &a, addr, p, sender.String())
}

// approve adds signer's approval to p, a proposal it has not approved, and
// stores p, or executes it when this approval reaches the threshold of an
// account without a time lock.
func (k Keeper) approve(kv ledger.KV, env Env, a *Account, addr gmcrypto.Address, p Proposal, signer string) ([]abci.Event, error) {
	p.Approvals = append(p.Approvals, signer)
	if p.ReadyHeight == 0 && len(p.Approvals) >= int(a.Threshold) {
		p.ReadyHeight = env.Height
	}
	events := k.event(&txpb.EventCustodyApproved{Ledger: a.Ledger, Account: a.Address, Proposal: p.ID, Signer: signer,
		Approvals: uint32(len(p.Approvals)), Threshold: a.Threshold, ExecutableHeight: p.ExecutableHeight(*a)})
	if p.ReadyHeight != 0 && a.TimelockBlocks == 0 {
		more, err := k.execute(kv, env, a, addr, p, signer)
		return append(events, more...), err
	}
	return events, k.setProposal(kv, a.Ledger, addr, p)
}

// Veto closes a pending proposal for one of the account's signers, until
// the proposal becomes executable.
func (k Keeper) Veto(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.CustodyVeto) ([]abci.Event, error) {
	a, addr, err := k.signerAccount(kv, ledgerName, m.Account, sender)
	if err != nil {
		return nil, err
	}
	if err := checkMemo("reason", m.Reason); err != nil {
		return nil, err
	}
	p, err := k.GetProposal(kv, ledgerName, addr, m.Proposal)
	if err != nil {
		return nil, err
	}
	if p.Status(a, env.Height) == StatusExecutable {
		return nil, ErrVetoTooLate.Wrapf("proposal %d of custody account %s has been executable since height %d, when its time lock ran out: a veto must come before",
			p.ID, addr, p.ExecutableHeight(a))
	}
	if err := kv.Delete(ledgerName, proposalKey(addr, p.ID)); err != nil {
		return nil, err
	}
	return k.event(&txpb.EventCustodyClosed{Ledger: ledgerName, Account: a.Address, Proposal: p.ID, Status: StatusVetoed,
		By: sender.String(), Reason: m.Reason}), nil
}

// Execute executes an approved proposal whose time lock has run out, for
// any sender.
func (k Keeper) Execute(kv ledger.KV, env Env, ledgerName string, sender gmcrypto.Address, m *txpb.CustodyExecute) ([]abci.Event, error) {
	addr, err := parseAccount(m.Account)
	if err != nil {
		return nil, err
	}
	a, err := k.GetAccount(kv, ledgerName, addr)
	if err != nil {
		return nil, err
	}
	p, err := k.GetProposal(kv, ledgerName, addr, m.Proposal)
	if err != nil {
		return nil, err
	}
	switch p.Status(a, env.Height) {
	case StatusExpired:
		return nil, ErrProposalExpired.Wrapf("proposal %d of custody account %s expired at height %d", p.ID, addr, p.ExpiryHeight)
	case StatusAwaiting:
		return nil, ErrNotApproved.Wrapf("proposal %d of custody account %s has %d of the %d approvals it needs", p.ID, addr, len(p.Approvals), a.Threshold)
	case StatusTimeLocked:
		return nil, ErrTimeLocked.Wrapf("proposal %d of custody account %s executes from height %d (time lock of %d blocks from height %d); this is height %d",
			p.ID, addr, p.ExecutableHeight(a), a.TimelockBlocks, p.ReadyHeight, env.Height)
	}
	return k.execute(kv, env, &a, addr, p, sender.String())
}

// execute carries out p, which has its approvals, for executor and closes
// it.
func (k Keeper) execute(kv ledger.KV, env Env, a *Account, addr gmcrypto.Address, p Proposal, executor string) ([]abci.Event, error) {
	var events []abci.Event
	switch p.Kind {
	case KindTransfer:
		to, err := gmcrypto.ParseAddress(p.To)
		if err != nil {
			return nil, fmt.Errorf("proposal %d of custody account %s: recipient: %w", p.ID, addr, err)
		}
		if env.MaySend != nil {
			if err := env.MaySend(kv, p.Asset, addr, to); err != nil {
				return nil, err
			}
		}
		if l, ok := a.Limit(p.Asset); ok {
			day := Day(env.Time)
			spent, err := k.Spent(kv, a.Ledger, addr, p.Asset, day)
			if err != nil {
				return nil, err
			}
			if spent > l || p.Amount > l-spent {
				return nil, ErrDailyLimit.Wrapf("custody account %s paid %d %s today (UTC day of the block time), limit %d: %d more does not fit; execute it another day",
					addr, spent, p.Asset, l, p.Amount)
			}
			if err := k.setSpent(kv, a.Ledger, addr, p.Asset, day, spent+p.Amount); err != nil {
				return nil, err
			}
		}
		ev, err := k.bank.Move(kv, a.Ledger, addr, p.Asset, to, p.Amount, p.Memo)
		if err != nil {
			return nil, fmt.Errorf("proposal %d of custody account %s: %w", p.ID, addr, err)
		}
		events = append(events, ev...)
	case KindSetSigners:
		raw := make([][]byte, len(p.Signers))
		for i, s := range p.Signers {
			a, err := gmcrypto.ParseAddress(s)
			if err != nil {
				return nil, fmt.Errorf("proposal %d of custody account %s: signer: %w", p.ID, addr, err)
			}
			raw[i] = a.Bytes()
		}
		// The signers were members when proposed; one may have left since.
		if _, err := k.signerSet(kv, a.Ledger, raw, p.Threshold); err != nil {
			return nil, err
		}
		others, err := k.Proposals(kv, a.Ledger, addr)
		if err != nil {
			return nil, err
		}
		for _, q := range others {
			if q.ID == p.ID {
				continue
			}
			if err := kv.Delete(a.Ledger, proposalKey(addr, q.ID)); err != nil {
				return nil, err
			}
			events = append(events, k.event(&txpb.EventCustodyClosed{Ledger: a.Ledger, Account: a.Address, Proposal: q.ID,
				Status: StatusSuperseded, By: executor, Reason: fmt.Sprintf("signers changed by proposal %d", p.ID)})...)
		}
		a.Signers, a.Threshold = p.Signers, p.Threshold
		if err := k.setAccount(kv, *a); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("proposal %d of custody account %s: unknown kind %q", p.ID, addr, p.Kind)
	}
	if err := kv.Delete(a.Ledger, proposalKey(addr, p.ID)); err != nil {
		return nil, err
	}
	return append(events, k.event(&txpb.EventCustodyExecuted{Ledger: a.Ledger, Account: a.Address, Proposal: p.ID, Kind: p.Kind,
		Approvers: strings.Join(p.Approvals, ","), Executor: executor, Asset: p.Asset, To: p.To, Amount: p.Amount,
		Signers: strings.Join(p.Signers, ","), Threshold: p.Threshold})...), nil
}

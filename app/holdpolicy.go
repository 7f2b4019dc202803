package app

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// The hold policy (docs/governance.md, "Holds"):
//
//   - the regulator's approval (a yes vote by a regulator identity) places
//     or lifts any hold;
//   - otherwise a hold on one account needs params.hold_approvals
//     organisations, and a hold on a whole asset or sub-ledger needs more
//     than params.hold_wide_threshold of the committee organisations;
//   - a hold the regulator approved is lifted only by the regulator or by
//     the wide threshold, so a held bank and a friend cannot undo it;
//   - the organisation whose account a hold freezes cannot approve lifting it;
//   - every hold expires, after params.hold_max_blocks at the latest.

// holdPasses reports whether a hold proposal's votes pass it; yes counts
// the organisations that voted yes, n the committee organisations.
func (a *App) holdPasses(kv ledger.KV, p *permission.Proposal, yes, n int64) (bool, error) {
	if regulatorApproved(p) {
		return true, nil
	}
	if a.params.HoldWideThreshold.met(yes, n) {
		return true, nil
	}
	wide, err := holdIsWide(kv, p)
	return !wide && yes >= a.params.HoldApprovals, err
}

// regulatorApproved reports whether a regulator identity voted yes.
func regulatorApproved(p *permission.Proposal) bool {
	return slices.ContainsFunc(p.Votes, func(v permission.VoteEntry) bool { return v.Yes && v.Regulator })
}

// holdIsWide reports whether a hold proposal needs the wide threshold: it
// places or lifts a hold on a whole asset or sub-ledger, or lifts a hold
// the regulator approved (or one that does not exist, which fails anyway).
func holdIsWide(kv ledger.KV, p *permission.Proposal) (bool, error) {
	var m txpb.Propose
	if err := proto.Unmarshal(p.Action, &m); err != nil {
		return true, err
	}
	switch act := m.Action.(type) {
	case *txpb.Propose_PlaceHold:
		return len(act.PlaceHold.Account) == 0, nil
	case *txpb.Propose_LiftHold:
		h, ok, err := permission.GetHold(kv, act.LiftHold.HoldId)
		return !ok || h.Account == "" || h.ByRegulator, err
	}
	return true, nil
}

// holdTarget checks what a place_hold names, at submission and at
// execution alike: a sub-ledger (not the system one), its asset if one is
// named, a well-formed account, an expiry within the parameters. It
// returns the account as text ("" = every account) and the expiry height.
func (a *App) holdTarget(kv ledger.KV, h *txpb.PlaceHold, height int64) (account string, expiry int64, err error) {
	if !a.store.HasLedger(h.Ledger) || h.Ledger == permission.SystemLedger {
		return "", 0, ErrUnknownLedger.Wrapf("%q", h.Ledger)
	}
	if h.Asset != "" {
		if _, err := a.payments.GetAsset(kv, h.Ledger, h.Asset); err != nil {
			return "", 0, err
		}
	}
	if len(h.Account) > 0 {
		addr, err := gmcrypto.AddressFromBytes(h.Account)
		if err != nil {
			return "", 0, permission.ErrInvalid.Wrapf("hold account: %v", err)
		}
		account = addr.String()
	}
	expiry, err = a.holdExpiry(h.ExpiryHeight, height)
	return account, expiry, err
}

// holdExpiry is the expiry height of a hold placed at height: the requested
// one, or the longest the parameters allow when none is requested.
func (a *App) holdExpiry(requested, height int64) (int64, error) {
	longest := height + a.params.HoldMaxBlocks
	switch {
	case requested == 0:
		return longest, nil
	case requested <= height:
		return 0, permission.ErrInvalid.Wrapf("hold expiry height %d is not after height %d", requested, height)
	case requested > longest:
		return 0, permission.ErrInvalid.Wrapf("hold expiry height %d is beyond height %d, the longest a hold may last (params.hold_max_blocks = %d)", requested, longest, a.params.HoldMaxBlocks)
	}
	return requested, nil
}

// checkLiftVoter refuses an approval to lift a hold by an organisation
// whose account the hold freezes: the identity's organisation, or, for a
// custody account, the organisation of any of its signers and of its
// creator (each could move or benefit from its funds).
func checkLiftVoter(kv ledger.KV, holdID uint64, org string) error {
	h, ok, err := permission.GetHold(kv, holdID)
	if err != nil || !ok || h.Account == "" {
		return err
	}
	addr, err := gmcrypto.ParseAddress(h.Account)
	if err != nil {
		return err
	}
	owners, err := accountOwners(kv, h.Ledger, addr)
	if err != nil {
		return err
	}
	if slices.Contains(owners, org) {
		return permission.ErrUnauthorized.Wrapf("organisation %s owns account %s, which hold %d freezes, and may not approve lifting it", org, h.Account, holdID)
	}
	return nil
}

// accountOwners are the organisations an account on ledgerName belongs
// to: an identity's organisation, or a custody account's signers' and
// creator's.
func accountOwners(kv ledger.KV, ledgerName string, addr gmcrypto.Address) ([]string, error) {
	if id, ok, err := permission.GetIdentity(kv, addr); err != nil || ok {
		return []string{id.Org}, err
	}
	if ok, err := custody.IsAccount(kv, ledgerName, addr); err != nil || !ok {
		return nil, err
	}
	acc, err := custody.Keeper{}.GetAccount(kv, ledgerName, addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range append(slices.Clone(acc.Signers), acc.Creator) {
		a, err := gmcrypto.ParseAddress(s)
		if err != nil {
			return nil, err
		}
		if id, ok, err := permission.GetIdentity(kv, a); err != nil {
			return nil, err
		} else if ok && !slices.Contains(out, id.Org) {
			out = append(out, id.Org)
		}
	}
	return out, nil
}

// checkProposal refuses at submission what would certainly fail at
// execution, so the committee does not vote on it: a hold on an unknown
// ledger or asset, a malformed account or an expiry beyond the longest, lifting a hold that is not in
// force or one's own, parameters out of range, a validator power CometBFT
// would refuse.
func (a *App) checkProposal(kv ledger.KV, m *txpb.Propose, org string, height int64) error {
	switch act := m.Action.(type) {
	case *txpb.Propose_PlaceHold:
		_, _, err := a.holdTarget(kv, act.PlaceHold, height)
		return err
	case *txpb.Propose_LiftHold:
		id := act.LiftHold.HoldId
		h, ok, err := permission.GetHold(kv, id)
		if err != nil {
			return err
		}
		if !ok || !h.Active(height) {
			return permission.ErrInvalid.Wrapf("hold %d is not in force", id)
		}
		return checkLiftVoter(kv, id, org)
	case *txpb.Propose_SetParams:
		_, err := a.params.with(act.SetParams)
		return err
	case *txpb.Propose_SetValidator:
		return checkValidatorPower(kv, act.SetValidator)
	case *txpb.Propose_SetLedgerMember:
		c := ledger.NewCache(kv)
		defer c.Discard()
		return a.setLedgerMember(c, act.SetLedgerMember)
	case *txpb.Propose_CreateAsset, *txpb.Propose_UpdateAsset:
		return checkAssetProposal(kv, m)
	case *txpb.Propose_ScheduleUpgrade:
		return checkScheduleUpgrade(kv, act.ScheduleUpgrade, height)
	case *txpb.Propose_CancelUpgrade:
		return checkCancelUpgrade(kv, act.CancelUpgrade)
	}
	return nil
}

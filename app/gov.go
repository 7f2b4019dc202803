package app

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func isHoldType(kind string) bool { return kind == "place_hold" || kind == "lift_hold" }

// voterRole checks who may propose and vote on kind: committee members, and
// for holds regulators too. It returns the sender's identity and whether
// its vote is the regulator's (a hold vote by a regulator identity).
func voterRole(kv ledger.KV, sender gmcrypto.Address, kind string) (permission.Identity, bool, error) {
	if isHoldType(kind) {
		if rid, err := permission.Require(kv, sender, permission.RoleRegulator, ""); err == nil {
			return rid, true, nil
		}
	}
	id, err := permission.Require(kv, sender, permission.RoleCommittee, "")
	return id, false, err
}

func (a *App) propose(kv ledger.KV, tx *wire.Tx, m *txpb.Propose, height int64) ([]abci.Event, error) {
	kind := wire.ProposalType(m)
	if kind == "" {
		return nil, wire.ErrUnknownMessage.Wrapf("proposal without an action")
	}
	id, regulator, err := voterRole(kv, tx.Sender, kind)
	if err != nil {
		return nil, fmt.Errorf("propose %s: %w", kind, err)
	}
	if err := a.checkProposal(kv, m, id.Org, height); err != nil {
		return nil, fmt.Errorf("propose %s: %w", kind, err)
	}
	action, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	p := permission.Proposal{
		Type: kind, Title: m.Title, Action: action, Proposer: tx.Sender.String(), ProposerOrg: id.Org,
		SubmitHeight: height, EndHeight: height + a.params.VotingPeriodBlocks, Status: permission.StatusVoting,
		Votes: []permission.VoteEntry{{Org: id.Org, Voter: tx.Sender.String(), Yes: true, Height: height, Regulator: regulator}},
	}
	if p.ID, err = permission.NewProposal(kv, p); err != nil {
		return nil, err
	}
	events := []abci.Event{proposalEvent(p)}
	more, err := a.tally(kv, &p, height)
	return append(events, more...), err
}

func (a *App) vote(kv ledger.KV, tx *wire.Tx, m *txpb.Vote, height int64) ([]abci.Event, error) {
	p, err := permission.GetProposal(kv, m.ProposalId)
	if err != nil {
		return nil, err
	}
	id, regulator, err := voterRole(kv, tx.Sender, p.Type)
	if err != nil {
		return nil, fmt.Errorf("vote on proposal %d: %w", p.ID, err)
	}
	if m.Yes && p.Type == "lift_hold" {
		var pm txpb.Propose
		if err := proto.Unmarshal(p.Action, &pm); err != nil {
			return nil, err
		}
		if err := checkLiftVoter(kv, pm.GetLiftHold().GetHoldId(), id.Org); err != nil {
			return nil, fmt.Errorf("vote on proposal %d: %w", p.ID, err)
		}
	}
	if p.Status != permission.StatusVoting {
		return nil, permission.ErrVotingClosed.Wrapf("proposal %d is %s", p.ID, p.Status)
	}
	if height > p.EndHeight {
		return nil, permission.ErrVotingClosed.Wrapf("proposal %d: voting period ended at height %d", p.ID, p.EndHeight)
	}
	for _, v := range p.Votes {
		if v.Org == id.Org {
			return nil, permission.ErrDoubleVote.Wrapf("organisation %s already voted on proposal %d (by %s at height %d)", id.Org, p.ID, v.Voter, v.Height)
		}
	}
	p.Votes = append(p.Votes, permission.VoteEntry{Org: id.Org, Voter: tx.Sender.String(), Yes: m.Yes, Height: height, Regulator: regulator})
	events := []abci.Event{wire.Event(&txpb.EventProposalVote{Proposal: p.ID, Org: id.Org, Yes: m.Yes})}
	more, err := a.tally(kv, &p, height)
	return append(events, more...), err
}

// tally decides a proposal after a vote: passed (and executed), rejected
// when it can no longer pass, or still voting.
func (a *App) tally(kv ledger.KV, p *permission.Proposal, height int64) ([]abci.Event, error) {
	n, err := permission.CommitteeOrgs(kv)
	if err != nil {
		return nil, err
	}
	yes, no := p.Tally()
	var pass, hopeless bool
	if isHoldType(p.Type) {
		// The regulator can approve until the period ends: a hold
		// proposal is never hopeless before that.
		if pass, err = a.holdPasses(kv, p, int64(yes), n); err != nil {
			return nil, err
		}
	} else {
		f := a.params.threshold(p.Type)
		pass = f.met(int64(yes), n)
		hopeless = !f.met(n-int64(no), n)
	}
	switch {
	case pass:
		a.execute(kv, p, height)
	case hopeless:
		p.Status, p.Result = permission.StatusRejected, fmt.Sprintf("%d yes, %d no of %d committee organisations: cannot pass", yes, no, n)
	default:
		return nil, permission.SaveProposal(kv, *p)
	}
	if err := permission.SaveProposal(kv, *p); err != nil {
		return nil, err
	}
	return []abci.Event{proposalEvent(*p)}, nil
}

// execute runs a passed proposal in a cache: all of it or nothing.
func (a *App) execute(kv ledger.KV, p *permission.Proposal, height int64) {
	var m txpb.Propose
	err := proto.Unmarshal(p.Action, &m)
	c := ledger.NewCache(kv)
	var post []func()
	if err == nil {
		post, err = a.apply(c, &m, p, height)
	}
	if err == nil {
		err = c.Write()
	}
	if err != nil {
		c.Discard()
		p.Status, p.Result = permission.StatusFailed, err.Error()
		return
	}
	// Effects beyond the state (ledger creation, validator updates,
	// evictions, parameters in memory) belong to the block, never to a
	// mempool check.
	if !a.checking {
		for _, f := range post {
			f()
		}
	}
	p.Status, p.Result = permission.StatusPassed, fmt.Sprintf("executed at height %d", height)
}

// apply performs an action; the returned functions run only if the
// action's writes are kept (store-level effects, validator updates, evictions).
func (a *App) apply(kv *ledger.Cache, m *txpb.Propose, p *permission.Proposal, height int64) ([]func(), error) {
	switch act := m.Action.(type) {
	case *txpb.Propose_AddOrganisation:
		o := act.AddOrganisation
		if _, err := permission.GetOrganisation(kv, o.Id); err == nil {
			return nil, permission.ErrInvalid.Wrapf("organisation %s already exists", o.Id)
		}
		return nil, permission.SetOrganisation(kv, permission.Organisation{ID: o.Id, Name: o.Name, RootCA: o.RootCa})
	case *txpb.Propose_RemoveOrganisation:
		id := act.RemoveOrganisation.Id
		if _, err := permission.GetOrganisation(kv, id); err != nil {
			return nil, err
		}
		vals, err := permission.Validators(kv)
		if err != nil {
			return nil, err
		}
		// Refused while the organisation runs a validator with power: its
		// power must go through set_validator (power 0), which keeps the
		// validator set and the checkpoint signing set in step; removing
		// the organisation under a voting validator would leave a member
		// with no organisation in consensus.
		for _, v := range vals {
			if v.Org == id && v.Power > 0 {
				return nil, permission.ErrInvalid.Wrapf("organisation %s still runs validator %s with power %d; remove it first (set-validator --power 0)", id, v.Address, v.Power)
			}
		}
		nodes, err := permission.RemoveOrganisation(kv, id)
		if err != nil {
			return nil, err
		}
		// Its nodes are no longer admitted; disconnect them after the commit.
		return []func(){func() { a.evicted = append(a.evicted, nodes...) }}, nil
	case *txpb.Propose_SetValidator:
		return a.applySetValidator(kv, act.SetValidator, height)
	case *txpb.Propose_SetNode:
		n := act.SetNode
		return nil, permission.SetNode(kv, permission.Node{ID: n.NodeId, Org: n.Org, Kind: n.Kind})
	case *txpb.Propose_RemoveNode:
		id := act.RemoveNode.NodeId
		if err := permission.RemoveNode(kv, id); err != nil {
			return nil, err
		}
		return []func(){func() { a.evicted = append(a.evicted, id) }}, nil
	case *txpb.Propose_CreateLedger:
		l := act.CreateLedger
		if err := validateLedgerName(l.Name); err != nil {
			return nil, permission.ErrInvalid.Wrapf("%v", err)
		}
		if a.store.HasLedger(l.Name) {
			return nil, permission.ErrInvalid.Wrapf("sub-ledger %s already exists", l.Name)
		}
		if len(l.MemberOrgs) == 0 {
			return nil, permission.ErrInvalid.Wrapf("sub-ledger %s has no member organisations", l.Name)
		}
		if err := permission.SetLedgerInfo(kv, permission.LedgerInfo{Name: l.Name, Members: l.MemberOrgs}); err != nil {
			return nil, err
		}
		return []func(){func() {
			if err := a.store.CreateLedger(l.Name); err != nil {
				panic(fmt.Sprintf("create validated ledger %s: %v", l.Name, err)) // checked above
			}
		}}, nil
	case *txpb.Propose_GrantRole:
		g := act.GrantRole
		addr, err := gmcrypto.AddressFromBytes(g.Address)
		if err != nil {
			return nil, permission.ErrInvalid.Wrapf("grant role: %v", err)
		}
		return nil, permission.Grant(kv, addr, g.Org, g.Role)
	case *txpb.Propose_RevokeRole:
		addr, err := gmcrypto.AddressFromBytes(act.RevokeRole.Address)
		if err != nil {
			return nil, permission.ErrInvalid.Wrapf("revoke role: %v", err)
		}
		return nil, permission.RevokeRole(kv, addr, act.RevokeRole.Role)
	case *txpb.Propose_ReassignIdentity:
		return nil, reassignIdentity(kv, act.ReassignIdentity)
	case *txpb.Propose_SetLedgerMember:
		return nil, a.setLedgerMember(kv, act.SetLedgerMember)
	case *txpb.Propose_CreateAsset:
		return nil, a.createAsset(kv, act.CreateAsset)
	case *txpb.Propose_UpdateAsset:
		return nil, a.updateAsset(kv, act.UpdateAsset)
	case *txpb.Propose_RemoveIdentity:
		addr, err := gmcrypto.AddressFromBytes(act.RemoveIdentity.Address)
		if err != nil {
			return nil, permission.ErrInvalid.Wrapf("remove identity: %v", err)
		}
		return nil, permission.RemoveIdentity(kv, addr)
	case *txpb.Propose_RevokeCertificate:
		r := act.RevokeCertificate
		return nil, permission.Revoke(kv, permission.Revocation{Org: r.Org, Serial: r.Serial, Reason: r.Reason, Height: height})
	case *txpb.Propose_PlaceHold:
		h := act.PlaceHold
		account, expiry, err := a.holdTarget(kv, h, height)
		if err != nil {
			return nil, err
		}
		byRegulator := regulatorApproved(p)
		placedBy := fmt.Sprintf("proposal %d of %s", p.ID, p.ProposerOrg)
		if byRegulator {
			placedBy += ", approved by the regulator"
		}
		_, err = permission.PlaceHold(kv, permission.Hold{Ledger: h.Ledger, Asset: h.Asset, Account: account, Reason: h.Reason,
			PlacedBy: placedBy, ByRegulator: byRegulator, PlacedHeight: height, ExpiryHeight: expiry})
		return nil, err
	case *txpb.Propose_LiftHold:
		return nil, permission.LiftHold(kv, act.LiftHold.HoldId)
	case *txpb.Propose_ScheduleUpgrade:
		return nil, scheduleUpgrade(kv, act.ScheduleUpgrade, height)
	case *txpb.Propose_CancelUpgrade:
		return nil, cancelUpgrade(kv, act.CancelUpgrade)
	case *txpb.Propose_SetParams:
		np, err := a.params.with(act.SetParams)
		if err != nil {
			return nil, err
		}
		if err := setParams(kv, np); err != nil {
			return nil, err
		}
		return []func(){func() { a.params = np }}, nil
	}
	return nil, wire.ErrUnknownMessage.Wrapf("proposal action %T", m.Action)
}

func (a *App) applySetValidator(kv *ledger.Cache, sv *txpb.SetValidator, height int64) ([]func(), error) {
	if err := checkValidatorPower(kv, sv); err != nil { // the key's size too
		return nil, err
	}
	pk := cmted25519.PubKey(sv.PubKeyEd25519)
	addr := pk.Address().String()
	if err := snapshotQCValidators(kv, height); err != nil {
		return nil, err
	}
	vals, err := permission.Validators(kv)
	if err != nil {
		return nil, err
	}
	existing, found := permission.Validator{}, false
	active := 0
	for _, v := range vals {
		if v.Address == addr {
			existing, found = v, true
		} else if v.Power > 0 {
			active++
		}
	}
	var post []func()
	if sv.Power == 0 {
		if !found || existing.Power == 0 {
			return nil, permission.ErrInvalid.Wrapf("validator %s is not active", addr)
		}
		if active == 0 {
			return nil, permission.ErrInvalid.Wrapf("removing validator %s would leave no validator: refused", addr)
		}
		existing.Power = 0
		if err := permission.SetValidator(kv, existing); err != nil {
			return nil, err
		}
		if sv.NodeId != "" {
			if err := permission.RemoveNode(kv, sv.NodeId); err != nil {
				return nil, err
			}
			post = append(post, func() { a.evicted = append(a.evicted, sv.NodeId) })
		}
	} else {
		v := existing
		if !found {
			if len(sv.Sm2PublicKey) == 0 {
				return nil, permission.ErrInvalid.Wrapf("new validator %s needs its SM2 node key", addr)
			}
			v = permission.Validator{Name: sv.Name, Org: sv.Org, Address: addr}
		}
		if len(sv.Sm2PublicKey) > 0 {
			v.SM2PublicKey = hex.EncodeToString(sv.Sm2PublicKey)
		}
		v.Power = sv.Power
		if err := permission.SetValidator(kv, v); err != nil {
			return nil, err
		}
		if sv.NodeId != "" {
			if err := permission.SetNode(kv, permission.Node{ID: sv.NodeId, Org: v.Org, Kind: "validator"}); err != nil {
				return nil, err
			}
		}
	}
	// The checkpoint of this height hands over to the new set.
	if err := a.checkpointSetChanged(kv, height); err != nil {
		return nil, err
	}
	pp, err := cryptoenc.PubKeyToProto(pk)
	if err != nil {
		return nil, err
	}
	return append(post, func() {
		a.valUpdates = append(a.valUpdates, abci.ValidatorUpdate{PubKey: pp, Power: sv.Power})
	}), nil
}

// setLedgerMember adds an organisation to a sub-ledger's members or takes
// it out; a sub-ledger keeps at least one member.
func (a *App) setLedgerMember(kv ledger.KV, m *txpb.SetLedgerMember) error {
	if m.Ledger == permission.SystemLedger || !a.store.HasLedger(m.Ledger) {
		return ErrUnknownLedger.Wrapf("%q", m.Ledger)
	}
	if _, err := permission.GetOrganisation(kv, m.Org); err != nil {
		return err
	}
	li, _, err := permission.GetLedgerInfo(kv, m.Ledger)
	if err != nil {
		return err
	}
	member := slices.Contains(li.Members, m.Org)
	switch {
	case !m.Remove && member:
		return permission.ErrInvalid.Wrapf("organisation %s is already a member of sub-ledger %s", m.Org, m.Ledger)
	case !m.Remove:
		li.Members = append(li.Members, m.Org)
	case !member:
		return permission.ErrInvalid.Wrapf("organisation %s is not a member of sub-ledger %s", m.Org, m.Ledger)
	case len(li.Members) == 1:
		return permission.ErrInvalid.Wrapf("organisation %s is the last member of sub-ledger %s: a sub-ledger keeps at least one", m.Org, m.Ledger)
	default:
		li.Members = slices.DeleteFunc(li.Members, func(o string) bool { return o == m.Org })
	}
	li.Name = m.Ledger
	return permission.SetLedgerInfo(kv, li)
}

// assetOf is the payments asset a create-asset proposal describes.
func assetOf(c *txpb.CreateAsset) payments.Asset {
	a := payments.Asset{Symbol: c.Symbol, Issuer: c.Issuer, Decimals: c.Decimals, SupplyCap: c.SupplyCap, Redeemable: c.Redeemable}
	if len(c.MetadataHash) > 0 {
		a.MetadataHash = hex.EncodeToString(c.MetadataHash)
	}
	return a
}

// checkAssetProposal checks what a create- or update-asset proposal says
// on its own (at submission: the sub-ledger may be created by a proposal
// that passes first).
func checkAssetProposal(kv ledger.KV, m *txpb.Propose) error {
	var issuer string
	switch act := m.Action.(type) {
	case *txpb.Propose_CreateAsset:
		c := act.CreateAsset
		if c.Ledger == permission.SystemLedger || c.Ledger == "" {
			return ErrUnknownLedger.Wrapf("%q: assets live on a sub-ledger", c.Ledger)
		}
		if len(c.MetadataHash) != 0 && len(c.MetadataHash) != 32 {
			return payments.ErrInvalidAsset.Wrapf("metadata hash of %d bytes, want 32 (SM3)", len(c.MetadataHash))
		}
		if err := payments.ValidateAsset(assetOf(c)); err != nil {
			return err
		}
		issuer = c.Issuer
	case *txpb.Propose_UpdateAsset:
		u := act.UpdateAsset
		if u.SupplyCap == nil && u.Paused == nil && u.Issuer == nil {
			return payments.ErrInvalidAsset.Wrapf("update of %s on %s changes nothing", u.Symbol, u.Ledger)
		}
		if u.Issuer == nil {
			return nil
		}
		issuer = *u.Issuer
	default:
		return nil
	}
	_, err := permission.GetOrganisation(kv, issuer)
	return err
}

func (a *App) createAsset(kv ledger.KV, c *txpb.CreateAsset) error {
	if c.Ledger == permission.SystemLedger || !a.store.HasLedger(c.Ledger) {
		return ErrUnknownLedger.Wrapf("%q", c.Ledger)
	}
	if err := checkAssetProposal(kv, &txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: c}}); err != nil {
		return err
	}
	return a.payments.CreateAsset(kv, c.Ledger, assetOf(c))
}

func (a *App) updateAsset(kv ledger.KV, u *txpb.UpdateAsset) error {
	if u.Ledger == permission.SystemLedger || !a.store.HasLedger(u.Ledger) {
		return ErrUnknownLedger.Wrapf("%q", u.Ledger)
	}
	if err := checkAssetProposal(kv, &txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: u}}); err != nil {
		return err
	}
	_, err := a.payments.UpdateAsset(kv, u.Ledger, u.Symbol, payments.AssetUpdate{SupplyCap: u.SupplyCap, Paused: u.Paused, Issuer: u.Issuer})
	return err
}

// MaxValidatorPower caps one validator's power. CometBFT refuses a
// validator set whose total power exceeds types.MaxTotalVotingPower
// (MaxInt64/8) and, when a block's updates do, halts: the app refuses
// such a change instead. The circuit's power range (62 bits) is wider.
const MaxValidatorPower = cmttypes.MaxTotalVotingPower

// checkValidatorPower refuses a set_validator whose consensus key is not an
// Ed25519 key or whose power is negative or would take the set's total
// power beyond what CometBFT accepts.
func checkValidatorPower(kv ledger.Reader, sv *txpb.SetValidator) error {
	if sv.Power < 0 || sv.Power > MaxValidatorPower {
		return permission.ErrInvalid.Wrapf("validator power %d is outside [0, %d]", sv.Power, int64(MaxValidatorPower))
	}
	if len(sv.PubKeyEd25519) != ed25519.PublicKeySize {
		return permission.ErrInvalid.Wrapf("validator consensus key: %d bytes, want %d (ed25519)", len(sv.PubKeyEd25519), ed25519.PublicKeySize)
	}
	addr := cmted25519.PubKey(sv.PubKeyEd25519).Address().String()
	vals, err := permission.Validators(kv)
	if err != nil {
		return err
	}
	total := sv.Power
	for _, v := range vals {
		if !strings.EqualFold(v.Address, addr) {
			total += v.Power // both ≤ MaxInt64/8 here: no overflow
			if total > MaxValidatorPower || total < 0 {
				return permission.ErrInvalid.Wrapf("validator power %d would make the set's total power exceed %d", sv.Power, int64(MaxValidatorPower))
			}
		}
	}
	return nil
}

// mergeValidatorUpdates keeps one update per key, the last one a block
// made, in the order keys first appear: CometBFT halts on a block whose
// updates name a key twice (two set_validator proposals passing in one
// block).
func mergeValidatorUpdates(ups []abci.ValidatorUpdate) []abci.ValidatorUpdate {
	if len(ups) < 2 {
		return ups
	}
	out := make([]abci.ValidatorUpdate, 0, len(ups))
	for _, u := range ups {
		i := slices.IndexFunc(out, func(o abci.ValidatorUpdate) bool { return o.PubKey.Equal(u.PubKey) })
		if i >= 0 {
			out[i].Power = u.Power
		} else {
			out = append(out, u)
		}
	}
	return out
}

// expireProposals closes proposals whose voting period ended.
func (a *App) expireProposals(kv ledger.KV, height int64) ([]abci.Event, error) {
	ids, err := permission.ExpiredProposals(kv, height)
	if err != nil {
		return nil, err
	}
	var events []abci.Event
	for _, id := range ids {
		p, err := permission.GetProposal(kv, id)
		if err != nil {
			return nil, err
		}
		yes, no := p.Tally()
		p.Status, p.Result = permission.StatusRejected, fmt.Sprintf("voting period ended at height %d with %d yes, %d no", p.EndHeight, yes, no)
		if err := permission.SaveProposal(kv, p); err != nil {
			return nil, err
		}
		events = append(events, proposalEvent(p))
	}
	return events, nil
}

// proposalEvent reports a proposal opened (status voting) or decided.
func proposalEvent(p permission.Proposal) abci.Event {
	return wire.Event(&txpb.EventProposal{Proposal: p.ID, Type: p.Type, Status: p.Status, Result: p.Result})
}

// registerIdentity lets an organisation admin register its own identities
// with local roles (permission.LocalRoles: sub-ledger membership). Roles
// that reach beyond the organisation come only from governance (grant_role),
// and re-registering an identity keeps the ones it holds: the admin can
// neither add nor remove them. Where the organisation has a root CA the
// registration carries the identity's certificate from it, valid at the
// block time and not revoked, and the address is the certified key's: an
// admin claims only addresses its own CA certified.
func (a *App) registerIdentity(kv ledger.KV, tx *wire.Tx, m *txpb.RegisterIdentity, at time.Time) ([]abci.Event, error) {
	admin, err := permission.Require(kv, tx.Sender, permission.RoleAdmin, "")
	if err != nil {
		return nil, fmt.Errorf("register identity: %w", err)
	}
	org, err := permission.GetOrganisation(kv, admin.Org)
	if err != nil {
		return nil, fmt.Errorf("register identity: %w", err)
	}
	var addr gmcrypto.Address
	switch {
	case len(m.Certificate) > 0:
		cert, err := gmcrypto.ParseCertificatePEM(m.Certificate)
		if err != nil {
			return nil, permission.ErrCertificate.Wrapf("register identity: %v", err)
		}
		if org.RootCA == "" {
			return nil, permission.ErrCertificate.Wrapf("register identity: organisation %s has no root CA to check the certificate %s against", org.ID, cert.Subject())
		}
		if err := a.certs.Authenticate(kv, org, cert, at); err != nil {
			return nil, fmt.Errorf("register identity: %w", err)
		}
		addr = cert.PublicKey().Address()
		if len(m.Address) > 0 && !slices.Equal(m.Address, addr.Bytes()) {
			return nil, permission.ErrInvalid.Wrapf("register identity: certificate %s certifies address %s, the registration names %x", cert.Subject(), addr, m.Address)
		}
	case org.RootCA != "":
		return nil, permission.ErrCertificate.Wrapf("register identity %x: organisation %s has a root CA; the registration must carry the identity's certificate issued by it", m.Address, org.ID)
	default: // development networks: organisations without a CA sign with bare keys
		if addr, err = gmcrypto.AddressFromBytes(m.Address); err != nil {
			return nil, permission.ErrInvalid.Wrapf("register identity: %v", err)
		}
	}
	for _, r := range m.Roles {
		if err := permission.ValidateRole(r); err != nil {
			return nil, err
		}
		if !permission.IsLocalRole(r) {
			return nil, permission.ErrUnauthorized.Wrapf("register identity %s: role %s is granted only by governance (a grant_role proposal); an organisation admin grants its own identities member roles only", addr, r)
		}
	}
	roles := slices.Clone(m.Roles)
	if id, ok, err := permission.GetIdentity(kv, addr); err != nil {
		return nil, err
	} else if ok && id.Org != admin.Org {
		return nil, permission.ErrUnauthorized.Wrapf("identity %s belongs to %s, not to %s", addr, id.Org, admin.Org)
	} else if ok {
		for _, r := range id.Roles {
			if !permission.IsLocalRole(r) {
				roles = append(roles, r)
			}
		}
	}
	if err := permission.SetIdentity(kv, permission.Identity{Name: m.Name, Address: addr.String(), Org: admin.Org, Roles: roles}); err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventRegisterIdentity{Address: addr.String(), Org: admin.Org})}, nil
}

// reassignIdentity binds an address to an organisation with the given roles
// (each as governance grants it), replacing whatever registration it had.
func reassignIdentity(kv ledger.KV, r *txpb.ReassignIdentity) error {
	addr, err := gmcrypto.AddressFromBytes(r.Address)
	if err != nil {
		return permission.ErrInvalid.Wrapf("reassign identity: %v", err)
	}
	if _, err := permission.GetOrganisation(kv, r.Org); err != nil {
		return fmt.Errorf("reassign identity %s: %w", addr, err)
	}
	for _, role := range r.Roles {
		if err := permission.ValidateGrant(kv, role); err != nil {
			return err
		}
	}
	return permission.SetIdentity(kv, permission.Identity{Name: r.Name, Address: addr.String(), Org: r.Org, Roles: r.Roles})
}

package app

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// GenesisState is the app_state of a jinlian genesis file: hand-editable JSON.
type GenesisState struct {
	Organisations []permission.Organisation `json:"organisations"`
	Identities    []permission.Identity     `json:"identities"`
	// Validators register each genesis validator's SM2 node key; powers
	// come from the CometBFT genesis.
	Validators []permission.Validator `json:"validators,omitempty"`
	// Revocations pre-load organisations' certificate revocation lists.
	Revocations []permission.Revocation `json:"revocations,omitempty"`
	// Nodes admitted by the peer filter. Empty: admission is off.
	Nodes []permission.Node `json:"nodes,omitempty"`
	// EscrowKeys are regulators' SM2 keys for confidential payloads.
	EscrowKeys []permission.EscrowKey `json:"escrow_keys,omitempty"`
	// Sanctions pre-load the sanctions list.
	Sanctions []permission.Sanction `json:"sanctions,omitempty"`
	Ledgers   []GenesisLedger       `json:"ledgers"`
	Params    Params                `json:"params"`
	// CheckpointKeys register each validator's checkpoint key, bound to its
	// SM2 node key (checkpoint.go); required with params.checkpoint_interval.
	CheckpointKeys []checkpoint.Registration `json:"checkpoint_keys,omitempty"`
}

// GenesisLedger is a sub-ledger with its assets and opening balances.
type GenesisLedger struct {
	Name string `json:"name"`
	// Members are the organisations whose identities may transact on the
	// ledger; empty means every genesis organisation.
	Members  []string         `json:"members,omitempty"`
	Assets   []payments.Asset `json:"assets"`
	Balances []GenesisBalance `json:"balances,omitempty"`
	// Synthetic funds generated accounts without listing them (sizing
	// and load tests of a state of millions of accounts).
	Synthetic *SyntheticAccounts `json:"synthetic_accounts,omitempty"`
}

// SyntheticAccounts are Count accounts generated from Seed at genesis,
// so that a state of millions of funded accounts needs no genesis file
// of millions of entries nor millions of transactions through consensus
// (docs/performance.md, "Cost as the state grows"). Account i, for i in
// [0, Count), has the address SyntheticAddress(Seed, i), is registered
// as a member of Org (an identity without a name, role member) and holds
// Amount of Asset, opening its completeness commitment as a listed
// balance does. Nobody holds their keys: they receive, they never send.
// Every node that applies the same genesis computes the same state.
type SyntheticAccounts struct {
	Count  int64  `json:"count"`
	Seed   string `json:"seed"` // hex, 1..64 bytes
	Org    string `json:"org"`
	Asset  string `json:"asset"`
	Amount uint64 `json:"amount,string"`
}

// largeGenesis is the genesis size, in identities and balances listed
// (generated accounts wait in Badger, not in the heap), from which InitChain holds the garbage collector to a
// lower target until the first commit (holdLargeGenesis). A variable for
// tests.
var largeGenesis int64 = 100_000

// genesisGC counts the apps of this process holding a large genesis's
// working trees (several validators share a process in a localnet).
var genesisGC struct {
	sync.Mutex
	holders, prev int
}

// genesisGCPercent is the collector's target while a large genesis is
// held: its working trees (about 1.7 KB an account until the first
// commit saves them) are most of the heap and all of it live, so the
// default target (100 %: a heap of twice the live data) would double
// the peak for nothing (ADR 0018).
const genesisGCPercent = 20

// holdLargeGenesis lowers the collector's target until every holder has
// released it.
func holdLargeGenesis() {
	genesisGC.Lock()
	defer genesisGC.Unlock()
	if genesisGC.holders == 0 {
		genesisGC.prev = debug.SetGCPercent(genesisGCPercent)
	}
	genesisGC.holders++
}

// releaseLargeGenesis ends a's hold, after the first commit saved the
// genesis (or InitChain failed): the last holder restores the target and
// gives the freed heap back to the OS at once, instead of leaving
// gigabytes of it to the runtime's gradual scavenging while the page
// cache of the node's tables could use them.
func (a *App) releaseLargeGenesis() {
	if !a.largeGenesis {
		return
	}
	a.largeGenesis = false
	genesisGC.Lock()
	defer genesisGC.Unlock()
	if genesisGC.holders--; genesisGC.holders == 0 {
		debug.SetGCPercent(genesisGC.prev)
		debug.FreeOSMemory()
	}
}

// entries counts the identities and balances g lists. Generated
// accounts do not count: a bulk load keeps them out of the working trees.
func (g *GenesisState) entries() int64 {
	n := int64(len(g.Identities))
	for _, l := range g.Ledgers {
		n += int64(len(l.Balances))
	}
	return n
}

// bulkSynthetic: synthetic accounts are applied in a bulk load. Tests
// turn it off to compare with the same records in the working trees.
var bulkSynthetic = true

// MaxSyntheticAccounts bounds SyntheticAccounts.Count.
const MaxSyntheticAccounts = 100_000_000

// SyntheticAddress is the address of synthetic account i of seed: the
// first 20 bytes of SM3("jinlian/synthetic-account" ‖ seed ‖ i as 8
// bytes big-endian). No key is known for it.
func SyntheticAddress(seed []byte, i int64) gmcrypto.Address {
	var a gmcrypto.Address
	h := gmcrypto.SM3([]byte("jinlian/synthetic-account"), seed, binary.BigEndian.AppendUint64(nil, uint64(i)))
	copy(a[:], h[:])
	return a
}

// validate checks s against the genesis's organisations and the
// ledger's assets and members.
func (s *SyntheticAccounts) validate(l GenesisLedger, orgs, assets map[string]bool) error {
	where := "synthetic_accounts of sub-ledger " + l.Name
	if s.Count < 1 || s.Count > MaxSyntheticAccounts {
		return ErrBadGenesis.Wrapf("%s: count %d is outside [1, %d]", where, s.Count, MaxSyntheticAccounts)
	}
	if seed, err := hex.DecodeString(s.Seed); err != nil || len(seed) == 0 || len(seed) > 64 {
		return ErrBadGenesis.Wrapf("%s: seed %q: want 1..64 bytes in hex", where, s.Seed)
	}
	if !orgs[s.Org] {
		return ErrBadGenesis.Wrapf("%s: unknown organisation %q", where, s.Org)
	}
	if len(l.Members) > 0 && !slices.Contains(l.Members, s.Org) {
		return ErrBadGenesis.Wrapf("%s: organisation %s is not a member of the sub-ledger", where, s.Org)
	}
	if !assets[s.Asset] {
		return ErrBadGenesis.Wrapf("%s: unknown asset %q", where, s.Asset)
	}
	if s.Amount == 0 {
		return ErrBadGenesis.Wrapf("%s: amount must be positive", where)
	}
	return nil
}

// apply registers and funds the synthetic accounts of ledger l, in a
// bulk load: their records go to Badger as they are written, not to the
// working trees (about 1.7 KB an account in memory until the first
// commit), and the first commit imports the ledgers they are written to as
// balanced trees (ledger/bulk.go, ADR 0021). The records are the ones the
// same calls write outside a bulk load; only where they wait for the
// first commit, and so the trees' shape, differs.
func (s *SyntheticAccounts) apply(store *ledger.Store, pay payments.Keeper, l string) error {
	if !bulkSynthetic {
		return s.write(store, pay, l)
	}
	return store.BulkLoad(func() error { return s.write(store, pay, l) })
}

func (s *SyntheticAccounts) write(store *ledger.Store, pay payments.Keeper, l string) error {
	seed, _ := hex.DecodeString(s.Seed)
	for i := range s.Count {
		addr := SyntheticAddress(seed, i)
		if err := permission.SetIdentity(store, permission.Identity{Address: addr.String(), Org: s.Org, Roles: []string{permission.RoleMember}}); err != nil {
			return ErrBadGenesis.Wrapf("synthetic account %d: %v", i, err)
		}
		if err := pay.Mint(store, l, s.Asset, addr, s.Amount); err != nil {
			return ErrBadGenesis.Wrapf("synthetic account %d of %s on %s: %v", i, s.Asset, l, err)
		}
		if err := pay.OpenCommitment(store, l, s.Asset, addr); err != nil {
			return ErrBadGenesis.Wrapf("synthetic account %d of %s on %s: %v", i, s.Asset, l, err)
		}
	}
	return nil
}

// GenesisBalance is an opening balance; it counts as issued.
type GenesisBalance struct {
	Asset   string `json:"asset"`
	Account string `json:"account"`
	Amount  uint64 `json:"amount,string"`
}

// Params are consortium-wide parameters kept in state. Every field has a
// range (ParamBounds) that genesis and set_params both enforce, so no
// governance action can make governance impossible.
type Params struct {
	// TxTimeWindowSeconds bounds |tx timestamp − block time|; replay
	// protection relies on it together with the stored tx ids.
	TxTimeWindowSeconds int64 `json:"tx_time_window_seconds"`
	// VotingPeriodBlocks is how many blocks a proposal stays open.
	VotingPeriodBlocks int64 `json:"voting_period_blocks"`
	// HoldApprovals is k in the k-of-n approvals (committee or regulator
	// identities, one per organisation) that place or lift a hold on one
	// account. Wider holds need HoldWideThreshold (docs/governance.md).
	HoldApprovals int64 `json:"hold_approvals"`
	// HoldWideThreshold is the share of committee organisations whose yes
	// votes place or lift a hold on a whole asset or sub-ledger, and lift a
	// hold the regulator approved (default: more than 2/3).
	HoldWideThreshold Fraction `json:"hold_wide_threshold"`
	// HoldMaxBlocks is the longest a hold may last; a hold without an
	// expiry height lifts by itself after this many blocks.
	HoldMaxBlocks int64 `json:"hold_max_blocks"`
	// GovThresholds overrides, per proposal type, the share of
	// organisations whose yes votes pass a proposal (default: more than 2/3).
	GovThresholds map[string]Fraction `json:"gov_thresholds,omitempty"`
	// CheckpointInterval: the chain defines a checkpoint every this many
	// blocks (docs/checkpoints.md); 0 leaves checkpoints off.
	CheckpointInterval int64 `json:"checkpoint_interval,omitempty"`
	// CheckpointSlots is the proof circuit's validator capacity; the
	// validator-set commitment is padded to it.
	CheckpointSlots int `json:"checkpoint_slots,omitempty"`
	// ReservesInterval: every this many blocks the chain commits a proof
	// of reserves per asset (docs/reserves.md); 0 records none. Genesis
	// builders set it to checkpoint_interval, so that every checkpoint's
	// anchored app hash covers the reserves of its height.
	ReservesInterval int64 `json:"reserves_interval,omitempty"`
}

// Fraction is a threshold: yes votes × Den > organisations × Num.
type Fraction struct {
	Num int64 `json:"num"`
	Den int64 `json:"den"`
}

// twoThirds is the default share: more than 2/3 of the organisations.
var twoThirds = Fraction{Num: 2, Den: 3}

// met reports whether yes of n organisations exceed the share f.
func (f Fraction) met(yes, n int64) bool { return yes*f.Den > n*f.Num }

// Bounds of each parameter, inclusive. A window too short to get a
// transaction in, a voting period too short to collect votes, or a
// threshold no vote count can exceed would lock governance out for good;
// values above the maxima overflow durations or outlive any review.
var ParamBounds = struct {
	TxTimeWindowSeconds, VotingPeriodBlocks, HoldApprovals, HoldMaxBlocks [2]int64
}{
	TxTimeWindowSeconds: [2]int64{30, 86_400},
	VotingPeriodBlocks:  [2]int64{10, 10_000_000},
	HoldApprovals:       [2]int64{1, 1_000},
	HoldMaxBlocks:       [2]int64{1, 100_000_000},
}

// DefaultParams are used for zero fields of a genesis.
func DefaultParams() Params {
	return Params{TxTimeWindowSeconds: 600, VotingPeriodBlocks: 100, HoldApprovals: 2,
		HoldWideThreshold: twoThirds, HoldMaxBlocks: 2_592_000}
}

// withDefaults fills zero fields.
func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.TxTimeWindowSeconds == 0 {
		p.TxTimeWindowSeconds = d.TxTimeWindowSeconds
	}
	if p.VotingPeriodBlocks == 0 {
		p.VotingPeriodBlocks = d.VotingPeriodBlocks
	}
	if p.HoldApprovals == 0 {
		p.HoldApprovals = d.HoldApprovals
	}
	if p.HoldWideThreshold == (Fraction{}) {
		p.HoldWideThreshold = d.HoldWideThreshold
	}
	if p.HoldMaxBlocks == 0 {
		p.HoldMaxBlocks = d.HoldMaxBlocks
	}
	return p
}

// with applies a set_params proposal: zero fields keep their value; the
// result must be within bounds.
func (p Params) with(sp *txpb.SetParams) (Params, error) {
	np := p
	for _, f := range []struct {
		v   int64
		dst *int64
	}{
		{sp.TxTimeWindowSeconds, &np.TxTimeWindowSeconds},
		{sp.VotingPeriodBlocks, &np.VotingPeriodBlocks},
		{sp.HoldApprovals, &np.HoldApprovals},
		{sp.HoldMaxBlocks, &np.HoldMaxBlocks},
	} {
		if f.v != 0 {
			*f.dst = f.v
		}
	}
	switch num, den := sp.HoldWideThresholdNum, sp.HoldWideThresholdDen; {
	case (num == 0) != (den == 0):
		return p, ErrBadParams.Wrapf("hold_wide_threshold needs both num and den, got %d/%d", num, den)
	case den != 0:
		np.HoldWideThreshold = Fraction{Num: num, Den: den}
	}
	if err := np.validate(); err != nil {
		return p, err
	}
	return np, nil
}

// threshold of a proposal type.
func (p Params) threshold(kind string) Fraction {
	if f, ok := p.GovThresholds[kind]; ok {
		return f
	}
	return twoThirds
}

// validate checks every parameter against its bounds; the error names the
// parameter, its value and the range. p has its defaults filled.
func (p Params) validate() error {
	for _, c := range []struct {
		name  string
		v     int64
		bound [2]int64
	}{
		{"tx_time_window_seconds", p.TxTimeWindowSeconds, ParamBounds.TxTimeWindowSeconds},
		{"voting_period_blocks", p.VotingPeriodBlocks, ParamBounds.VotingPeriodBlocks},
		{"hold_approvals", p.HoldApprovals, ParamBounds.HoldApprovals},
		{"hold_max_blocks", p.HoldMaxBlocks, ParamBounds.HoldMaxBlocks},
	} {
		if c.v < c.bound[0] || c.v > c.bound[1] {
			return ErrBadParams.Wrapf("%s = %d is outside [%d, %d]", c.name, c.v, c.bound[0], c.bound[1])
		}
	}
	if err := validateThreshold("hold_wide_threshold", p.HoldWideThreshold); err != nil {
		return err
	}
	for kind, f := range p.GovThresholds {
		if !slices.Contains(wire.ProposalTypes(), kind) {
			return ErrBadParams.Wrapf("gov_thresholds: unknown proposal type %q", kind)
		}
		if err := validateThreshold("gov_thresholds."+kind, f); err != nil {
			return err
		}
	}
	if p.CheckpointInterval < 0 {
		return ErrBadParams.Wrapf("checkpoint_interval = %d is negative", p.CheckpointInterval)
	}
	if p.ReservesInterval < 0 {
		return ErrBadParams.Wrapf("reserves_interval = %d is negative", p.ReservesInterval)
	}
	return nil
}

// validateThreshold accepts shares from 1/2 to below 1: a lower share lets a
// minority decide, and "more than all organisations" can never pass.
func validateThreshold(name string, f Fraction) error {
	if f.Den <= 0 || f.Den > 1_000_000 || f.Num*2 < f.Den || f.Num >= f.Den {
		return ErrBadParams.Wrapf("%s = %d/%d: want 1/2 <= num/den < 1 with 0 < den <= 1000000", name, f.Num, f.Den)
	}
	return nil
}

// ParseGenesis decodes app_state strictly (unknown fields are errors, so a
// typo in a hand-edited genesis is caught) and validates it.
func ParseGenesis(b []byte) (*GenesisState, error) {
	g, err := DecodeGenesis(b)
	if err != nil {
		return nil, err
	}
	g.Params = g.Params.withDefaults()
	return g, g.Validate()
}

// DecodeGenesis decodes app_state strictly, as ParseGenesis does, but
// neither fills defaults nor validates: for tools that edit a genesis.
func DecodeGenesis(b []byte) (*GenesisState, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var g GenesisState
	if err := dec.Decode(&g); err != nil {
		return nil, ErrBadGenesis.Wrapf("app_state: %v", err)
	}
	return &g, nil
}

// Validate checks references and forms without touching state.
func (g *GenesisState) Validate() error {
	if err := g.ValidateDraft(); err != nil {
		return err
	}
	if len(g.Ledgers) == 0 {
		return ErrBadGenesis.Wrapf("no sub-ledgers")
	}
	return nil
}

// ValidateDraft is Validate for a genesis still being written: every
// reference and form is checked, but it may have no sub-ledger yet.
func (g *GenesisState) ValidateDraft() error {
	if err := g.Params.withDefaults().validate(); err != nil {
		return ErrBadGenesis.Wrapf("params: %v", err)
	}
	orgs := map[string]bool{}
	for _, o := range g.Organisations {
		if err := permission.ValidateOrgID(o.ID); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
		if o.RootCA != "" {
			if err := permission.ValidateRootCA(o.ID, o.RootCA); err != nil {
				return ErrBadGenesis.Wrapf("%v", err)
			}
		}
		if orgs[o.ID] {
			return ErrBadGenesis.Wrapf("organisation %s listed twice", o.ID)
		}
		orgs[o.ID] = true
	}
	for _, id := range g.Identities {
		if _, err := gmcrypto.ParseAddress(id.Address); err != nil {
			return ErrBadGenesis.Wrapf("identity %q: %v", id.Name, err)
		}
		if !orgs[id.Org] {
			return ErrBadGenesis.Wrapf("identity %s names unknown organisation %q", id.Address, id.Org)
		}
		for _, r := range id.Roles {
			if err := permission.ValidateRole(r); err != nil {
				return ErrBadGenesis.Wrapf("identity %s: %v", id.Address, err)
			}
		}
	}
	for _, v := range g.Validators {
		if err := permission.ValidateValidator(v); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
		if !orgs[v.Org] {
			return ErrBadGenesis.Wrapf("validator %s names unknown organisation %q", v.Address, v.Org)
		}
	}
	if err := g.validateCheckpoints(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range g.Ledgers {
		if err := validateLedgerName(l.Name); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
		if seen[l.Name] {
			return ErrBadGenesis.Wrapf("sub-ledger %s listed twice", l.Name)
		}
		seen[l.Name] = true
		for _, m := range l.Members {
			if !orgs[m] {
				return ErrBadGenesis.Wrapf("sub-ledger %s names unknown member organisation %q", l.Name, m)
			}
		}
		assets := map[string]bool{}
		for _, a := range l.Assets {
			if !orgs[a.Issuer] {
				return ErrBadGenesis.Wrapf("asset %s on %s names unknown issuer organisation %q", a.Symbol, l.Name, a.Issuer)
			}
			assets[a.Symbol] = true
		}
		for _, b := range l.Balances {
			if !assets[b.Asset] {
				return ErrBadGenesis.Wrapf("balance of unknown asset %q on %s", b.Asset, l.Name)
			}
			if _, err := gmcrypto.ParseAddress(b.Account); err != nil {
				return ErrBadGenesis.Wrapf("balance on %s: %v", l.Name, err)
			}
		}
		if l.Synthetic != nil {
			if err := l.Synthetic.validate(l, orgs, assets); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateLedgerName(name string) error {
	if strings.HasPrefix(name, "_") {
		return fmt.Errorf("sub-ledger name %q: names starting with '_' are reserved", name)
	}
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
		return fmt.Errorf("sub-ledger name %q: want 1-64 of [A-Za-z0-9_.-]", name)
	}
	return nil
}

// apply writes a validated genesis into kv.
func (g *GenesisState) apply(store *ledger.Store, pay payments.Keeper) error {
	if err := store.CreateLedger(permission.SystemLedger); err != nil {
		return err
	}
	if err := setParams(store, g.Params); err != nil {
		return err
	}
	for _, o := range g.Organisations {
		if err := permission.SetOrganisation(store, o); err != nil {
			return err
		}
	}
	for _, id := range g.Identities {
		if err := permission.SetIdentity(store, id); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		if err := permission.SetNode(store, n); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
	}
	for _, k := range g.EscrowKeys {
		if err := permission.SetEscrowKey(store, k); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
	}
	for _, sc := range g.Sanctions {
		if err := permission.SetSanction(store, sc); err != nil {
			return ErrBadGenesis.Wrapf("%v", err)
		}
	}
	for _, r := range g.Revocations {
		if err := permission.Revoke(store, r); err != nil {
			return ErrBadGenesis.Wrapf("revocation: %v", err)
		}
	}
	for _, l := range g.Ledgers {
		if err := store.CreateLedger(l.Name); err != nil {
			return ErrBadGenesis.Wrapf("sub-ledger %s: %v", l.Name, err)
		}
		members := l.Members
		if len(members) == 0 {
			for _, o := range g.Organisations {
				members = append(members, o.ID)
			}
		}
		if err := permission.SetLedgerInfo(store, permission.LedgerInfo{Name: l.Name, Members: members}); err != nil {
			return ErrBadGenesis.Wrapf("sub-ledger %s: %v", l.Name, err)
		}
		for _, a := range l.Assets {
			if err := pay.CreateAsset(store, l.Name, a); err != nil {
				return ErrBadGenesis.Wrapf("%v", err)
			}
		}
		for _, b := range l.Balances {
			addr, _ := gmcrypto.ParseAddress(b.Account)
			if err := pay.Mint(store, l.Name, b.Asset, addr, b.Amount); err != nil {
				return ErrBadGenesis.Wrapf("balance of %s %s on %s: %v", b.Account, b.Asset, l.Name, err)
			}
			// A genesis balance is the account's opening balance, not a
			// movement: its commitment opens with that balance and no
			// movement.
			if err := pay.OpenCommitment(store, l.Name, b.Asset, addr); err != nil {
				return ErrBadGenesis.Wrapf("balance of %s %s on %s: %v", b.Account, b.Asset, l.Name, err)
			}
		}
		if l.Synthetic != nil {
			if err := l.Synthetic.apply(store, pay, l.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckGenesis applies a genesis to a throw-away in-memory store, so that
// `jinlian init` reports every mistake InitChain would hit at start.
func CheckGenesis(chainID string, appState []byte, validators []abci.ValidatorUpdate, at time.Time) error {
	store, err := ledger.Open("", ledger.Options{InMemory: true})
	if err != nil {
		return err
	}
	defer store.Close()
	a, err := New(store, Options{})
	if err != nil {
		return err
	}
	defer a.releaseLargeGenesis() // this app never commits
	_, err = a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, Time: at, AppStateBytes: appState, Validators: validators})
	return err
}

// GenesisCheckpoint is epoch 0 of the chain a genesis describes, what an
// anchor contract is deployed with: it runs InitChain and an empty first
// block on an in-memory store, so it needs no node and no running chain.
func GenesisCheckpoint(chainID string, appState []byte, validators []abci.ValidatorUpdate, at time.Time) (checkpoint.Checkpoint, error) {
	// A throw-away store read a few times: no flat index to write.
	store, err := ledger.Open("", ledger.Options{InMemory: true, NoFlatIndex: true})
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	defer store.Close()
	a, err := New(store, Options{})
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	defer a.releaseLargeGenesis() // when it returns before its commit
	ctx := context.Background()
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, Time: at, AppStateBytes: appState, Validators: validators}); err != nil {
		return checkpoint.Checkpoint{}, err
	}
	if !a.checkpointsOn() {
		return checkpoint.Checkpoint{}, errors.New("this genesis does not enable checkpoints (params.checkpoint_interval)")
	}
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Time: at}); err != nil {
		return checkpoint.Checkpoint{}, err
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return checkpoint.Checkpoint{}, err
	}
	v, err := store.View(0)
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	c, ok, err := LoadCheckpoint(v, 0)
	if err == nil && !ok {
		err = errors.New("genesis defines no checkpoint 0")
	}
	return c, err
}

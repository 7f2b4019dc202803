package app

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
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
	Ledgers     []GenesisLedger         `json:"ledgers"`
	Params      Params                  `json:"params"`
	// CheckpointKeys register each validator's checkpoint key, bound to its
	// SM2 node key (checkpoint.go); required with params.checkpoint_interval.
	CheckpointKeys []CheckpointRegistration `json:"checkpoint_keys,omitempty"`
}

// GenesisLedger is a sub-ledger with its assets and opening balances.
type GenesisLedger struct {
	Name     string           `json:"name"`
	Assets   []payments.Asset `json:"assets"`
	Balances []GenesisBalance `json:"balances,omitempty"`
}

// GenesisBalance is an opening balance; it counts as issued.
type GenesisBalance struct {
	Asset   string `json:"asset"`
	Account string `json:"account"`
	Amount  uint64 `json:"amount,string"`
}

// Params are consortium-wide parameters kept in state.
type Params struct {
	// TxTimeWindowSeconds bounds |tx timestamp − block time|; replay
	// protection relies on it together with the stored tx ids.
	TxTimeWindowSeconds int64 `json:"tx_time_window_seconds"`
	// CheckpointInterval: the chain defines a checkpoint every this many
	// blocks (docs/checkpoints.md); 0 leaves checkpoints off.
	CheckpointInterval int64 `json:"checkpoint_interval,omitempty"`
	// CheckpointSlots is the proof circuit's validator capacity; the
	// validator-set commitment is padded to it.
	CheckpointSlots int `json:"checkpoint_slots,omitempty"`
}

// DefaultParams are used for zero fields of a genesis.
func DefaultParams() Params { return Params{TxTimeWindowSeconds: 600} }

// ParseGenesis decodes app_state strictly (unknown fields are errors, so a
// typo in a hand-edited genesis is caught) and validates it.
func ParseGenesis(b []byte) (*GenesisState, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var g GenesisState
	if err := dec.Decode(&g); err != nil {
		return nil, ErrBadGenesis.Wrapf("app_state: %v", err)
	}
	if g.Params.TxTimeWindowSeconds == 0 {
		g.Params.TxTimeWindowSeconds = DefaultParams().TxTimeWindowSeconds
	}
	return &g, g.Validate()
}

// Validate checks references and forms without touching state.
func (g *GenesisState) Validate() error {
	if g.Params.TxTimeWindowSeconds < 0 {
		return ErrBadGenesis.Wrapf("params.tx_time_window_seconds is negative")
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
	if len(g.Ledgers) == 0 {
		return ErrBadGenesis.Wrapf("no sub-ledgers")
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
	for _, r := range g.Revocations {
		if err := permission.Revoke(store, r); err != nil {
			return ErrBadGenesis.Wrapf("revocation: %v", err)
		}
	}
	for _, l := range g.Ledgers {
		if err := store.CreateLedger(l.Name); err != nil {
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
		}
	}
	return nil
}
